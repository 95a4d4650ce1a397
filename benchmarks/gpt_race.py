"""The GPT's training iteration on the engine (models/gpt.py, captured step) beside PyTorch's
(benchmarks/gpt_torch.py): the same weights, the same batches, nanoGPT's recipe (AdamW with the
two parameter groups, the warmup-cosine lr set at every iteration, clipping at 1.0), float32.
Interleaved: each round runs `repeats` iterations of ours, then as many of PyTorch's, so both
see the same machine load. Run through `python benchmarks/sequence_bench.py --gpt`."""
from __future__ import annotations

import statistics
import time

import numpy as np

import gpt_torch
from tinygrad_lite import capture
from tinygrad_lite.data import get_batch, load_shakespeare
from tinygrad_lite.models.gpt import GPT
from tinygrad_lite.models.language import TextRecipe, lr_at, make_optimizer, training_step
from tinygrad_lite.threads import blas_threads


def ours(data, r: TextRecipe):
    model = GPT(seed=0)
    opt = make_optimizer(model, r)
    step = capture(training_step(model, opt, r.grad_clip))
    rng, state = np.random.default_rng(0), {"it": 0}

    def iteration() -> float:
        opt.lr = lr_at(state["it"], r)
        state["it"] += 1
        return step(*get_batch(data.train, 64, r.batch_size, rng)).item()
    return model, iteration


def theirs(data, r: TextRecipe, weights: dict):
    import torch
    model = gpt_torch.build_gpt(gpt_torch.GPTConfig())
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    tr = gpt_torch.Recipe()
    opt = gpt_torch.configure_optimizer(model, tr)
    rng, state = np.random.default_rng(0), {"it": 0}

    def iteration() -> float:
        for group in opt.param_groups:
            group["lr"] = gpt_torch.learning_rate(state["it"], tr)
        state["it"] += 1
        x, y = map(torch.from_numpy, get_batch(data.train, 64, r.batch_size, rng))
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), tr.grad_clip)
        opt.step()
        return loss.item()
    return iteration


def timed(fn, n: int) -> tuple[float, float]:
    """(ms per iteration over n iterations, the last loss)."""
    start = time.perf_counter()
    for _ in range(n):
        loss = fn()
    return (time.perf_counter() - start) * 1000 / n, loss


def race(repeats: int, rounds: int, threads: int) -> None:
    import torch
    torch.set_num_threads(threads)
    data, r = load_shakespeare(), TextRecipe()
    model, our_step = ours(data, r)
    their_step = theirs(data, r, model.state_dict())
    print(f"GPT training iterations (4 layers, 4 heads, 128 wide, batch 12 x 64, AdamW, "
          f"clip 1.0, float32), {threads} thread(s); {rounds} rounds of {repeats} each, "
          "interleaved; ms per iteration")
    results: dict[str, list[float]] = {"ours": [], "torch": []}
    with blas_threads(threads):
        our_step(), their_step()  # ours captures its step here
        for k in range(rounds):
            a, loss_a = timed(our_step, repeats)
            b, loss_b = timed(their_step, repeats)
            results["ours"].append(a)
            results["torch"].append(b)
            print(f"  round {k + 1}: ours {a:7.1f}  torch {b:7.1f}  ratio {a / b:5.2f}  "
                  f"(losses {loss_a:.3f}, {loss_b:.3f})")
    a, b = statistics.median(results["ours"]), statistics.median(results["torch"])
    print(f"median: ours {a:.1f} ms, torch {b:.1f} ms, ours / torch {a / b:.2f}")
