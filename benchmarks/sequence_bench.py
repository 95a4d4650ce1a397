"""Milliseconds per forward + backward of one transformer block (nanoGPT's shape: batch 12,
block 64, width 128, 4 heads), and of its layer norm and attention alone, ours and PyTorch's
(when installed), float32 on the CPU: the median of --repeats calls after a warm-up.

    python benchmarks/sequence_bench.py
    python benchmarks/sequence_bench.py --repeats 30 --threads 2
    python benchmarks/sequence_bench.py --gpt      # the GPT's training step, ours vs PyTorch's

Both libraries use --threads threads (default 1: on a busy 2-core machine more BLAS threads
wait for each other's cores, see tinygrad_lite/threads.py).

The block: x + proj(attention(ln1(x))), then + fc2(gelu(fc1(ln2(x)))), GELU in its tanh form
(GPT-2's) in both libraries.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from tinygrad_lite.threads import blas_threads

B, T, C, H = 12, 64, 128, 4


def block(L, F, p, x):
    """One pre-norm transformer block written once for both libraries (L: the tensor module)."""
    n, t, c = x.shape
    h = F.layer_norm(x, (c,), p["ln1_w"], p["ln1_b"])
    q, k, v = F.linear(h, p["qkv_w"], p["qkv_b"]).reshape(n, t, 3, H, c // H).permute(
        2, 0, 3, 1, 4)
    a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    x = x + F.linear(a.transpose(1, 2).reshape(n, t, c), p["proj_w"], p["proj_b"])
    z = F.linear(F.layer_norm(x, (c,), p["ln2_w"], p["ln2_b"]), p["fc1_w"], p["fc1_b"])
    return x + F.linear(F.gelu(z, approximate="tanh"), p["fc2_w"], p["fc2_b"])


def shapes() -> dict:
    return {"ln1_w": (C,), "ln1_b": (C,), "qkv_w": (3 * C, C), "qkv_b": (3 * C,),
            "proj_w": (C, C), "proj_b": (C,), "ln2_w": (C,), "ln2_b": (C,),
            "fc1_w": (4 * C, C), "fc1_b": (4 * C,), "fc2_w": (C, 4 * C), "fc2_b": (C,)}


def median_ms(fn, repeats: int) -> tuple[float, float]:
    """The median wall time and the median CPU time of this process (ms) over repeats calls:
    on a busy machine the CPU time leaves out the time spent waiting for a core."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - w) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def cases(lib: str):
    """name -> a function running one forward + backward in library lib."""
    rng = np.random.default_rng(0)
    arrays = {k: (rng.standard_normal(s) * 0.05).astype(np.float32) for k, s in shapes().items()}
    x = rng.standard_normal((B, T, C)).astype(np.float32)
    qkv = [rng.standard_normal((B, H, T, C // H)).astype(np.float32) for _ in range(3)]
    if lib == "ours":
        import tinygrad_lite as L
        import tinygrad_lite.functional as F
        leaf = lambda a: L.Tensor(a, requires_grad=True)  # noqa: E731
    else:
        import torch as L
        import torch.nn.functional as F
        leaf = lambda a: L.tensor(a, requires_grad=True)  # noqa: E731
    p = {k: leaf(a) for k, a in arrays.items()}
    xs, qs = leaf(x), [leaf(a) for a in qkv]
    return {
        "block": lambda: block(L, F, p, xs).sum().backward(),
        "layer_norm": lambda: F.layer_norm(xs, (C,), p["ln1_w"], p["ln1_b"]).sum().backward(),
        "attention": lambda: F.scaled_dot_product_attention(*qs, is_causal=True).sum()
        .backward(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch threads")
    parser.add_argument("--gpt", action="store_true", help="instead: training iterations of "
                        "the GPT (models/gpt.py) beside benchmarks/gpt_torch.py's, interleaved")
    parser.add_argument("--rounds", type=int, default=5, help="--gpt: rounds of --repeats "
                        "iterations each, ours then PyTorch's")
    args = parser.parse_args()
    if args.gpt:
        from gpt_race import race
        race(args.repeats, args.rounds, args.threads)
        return
    libs = ["ours"]
    try:
        import torch
        libs.append("torch")
        torch.set_num_threads(args.threads)
    except ImportError:
        pass
    with blas_threads(args.threads):
        run(libs, args.repeats)


def run(libs: list, repeats: int) -> None:
    print(f"forward + backward, ms per call, median of {repeats} "
          f"(B={B}, T={T}, C={C}, heads={H}, float32): wall, CPU")
    for lib in libs:
        for name, fn in cases(lib).items():
            wall, cpu = median_ms(fn, repeats)
            print(f"  {lib:6s} {name:11s} {wall:8.2f} {cpu:8.2f}")


if __name__ == "__main__":
    main()
