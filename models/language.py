"""Training a character-level language model (GPT, CharRNN) on a text, nanoGPT's way: random
batches of block_size characters, AdamW with weight decay on the 2-D parameters only, linear
warmup then cosine decay of the learning rate, the gradient norm clipped, and every
eval_interval iterations the loss estimated on eval_iters random batches of each split (eval
mode, no_grad). Both models are called as `logits, loss = model(idx, targets)`.

The loss over a whole split (`split_loss`) is the mean cross-entropy over every
non-overlapping block_size window; bits per character = loss / ln 2.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from tinygrad_lite import Tensor, capture, nn, no_grad, optim
from tinygrad_lite.data import Text, get_batch


@dataclass(frozen=True)
class TextRecipe:
    """How a language model trains by default (nanoGPT's shakespeare_char on a CPU); the
    `train` flags override the fields."""
    lr: float = 1e-3
    min_lr: float = 1e-4
    beta1: float = 0.9
    beta2: float = 0.99
    weight_decay: float = 0.1
    batch_size: int = 12
    block_size: int = 64
    max_iters: int = 2000
    warmup_iters: int = 100
    lr_decay_iters: int = 2000
    grad_clip: float = 1.0
    eval_interval: int = 250
    eval_iters: int = 20

    def describe(self) -> str:
        return (f"AdamW lr {self.lr:g} betas ({self.beta1:g}, {self.beta2:g}) decay "
                f"{self.weight_decay:g}, warmup {self.warmup_iters}, cosine to {self.min_lr:g} "
                f"at {self.lr_decay_iters}, clip {self.grad_clip:g}, batch {self.batch_size} x "
                f"{self.block_size}, {self.max_iters} iterations")


def lr_at(it: int, r: TextRecipe) -> float:
    """nanoGPT's get_lr: lr (it + 1)/(warmup + 1) while warming up, then
    min_lr + ½(1 + cos(π t))(lr - min_lr) with t the fraction of the decay done, then min_lr."""
    if it < r.warmup_iters:
        return r.lr * (it + 1) / (r.warmup_iters + 1)
    if it > r.lr_decay_iters:
        return r.min_lr
    t = (it - r.warmup_iters) / max(r.lr_decay_iters - r.warmup_iters, 1)
    return r.min_lr + 0.5 * (1.0 + math.cos(math.pi * t)) * (r.lr - r.min_lr)


def make_optimizer(model: nn.Module, r: TextRecipe) -> optim.AdamW:
    """AdamW with weight decay on the 2-D parameters (matrices, embeddings) and none on the
    rest (biases, layer norm gains), as nanoGPT's configure_optimizers."""
    params = model.parameters()
    groups = [{"params": [p for p in params if p.ndim >= 2], "weight_decay": r.weight_decay},
              {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
    return optim.AdamW([g for g in groups if g["params"]], lr=r.lr, betas=(r.beta1, r.beta2))


def estimate_loss(model: nn.Module, data: Text, block_size: int, r: TextRecipe,
                  rng: np.random.Generator) -> dict[str, float]:
    """The mean loss over eval_iters random batches of each split, in eval mode, no_grad."""
    out = {}
    model.eval()
    with no_grad():
        for split, ids in (("train", data.train), ("val", data.val)):
            out[split] = float(np.mean([
                model(*get_batch(ids, block_size, r.batch_size, rng))[1].item()
                for _ in range(r.eval_iters)]))
    model.train()
    return out


def split_loss(model: nn.Module, ids: np.ndarray, block_size: int, batch: int = 256) -> float:
    """The mean cross-entropy over every non-overlapping window of ids: windows start at 0,
    block_size, 2 block_size, ...; each predicts its next block_size characters."""
    n = (len(ids) - 1) // block_size
    if n < 1:
        raise ValueError(f"split_loss: {len(ids)} ids hold no window of {block_size} and its "
                         "next character")
    x = ids[:n * block_size].reshape(n, block_size)
    y = ids[1:n * block_size + 1].reshape(n, block_size)
    total, was_training = 0.0, model.training
    model.eval()
    with no_grad():
        for k in range(0, n, batch):
            total += model(x[k:k + batch], y[k:k + batch])[1].item() * len(x[k:k + batch])
    model.train(was_training)
    return total / n


def training_step(model: nn.Module, opt: optim.Optimizer, clip: float) -> Callable:
    """step(x, y): forward, loss, zero_grad, backward, clip the gradient norm, AdamW step;
    returns the loss (a Tensor)."""
    params = model.parameters()

    def step(x: Any, y: Any) -> Tensor:
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        if clip > 0:
            nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        return loss
    return step


def fit_text(model: nn.Module, data: Text, block_size: int, r: TextRecipe,
             seed: Any = None, use_capture: bool = True, log: Callable[[str], None] = print,
             progress: Callable[[int, int, float], None] | None = None) -> list[dict]:
    """Iterations 0..max_iters, each logged first (`step N: train loss X, val loss Y`) when a
    multiple of eval_interval or the last, then one step at lr_at(it). With `use_capture` the
    step is captured once and replayed (the optimizer reads each group's lr at every replay).
    Returns the logged estimates: [{"step", "train", "val", "seconds"}]."""
    rng = np.random.default_rng(seed)
    opt = make_optimizer(model, r)
    step = training_step(model, opt, r.grad_clip)
    fast = capture(step) if use_capture else step
    history, start = [], time.perf_counter()
    for it in range(r.max_iters + 1):
        if it % r.eval_interval == 0 or it == r.max_iters:
            losses = estimate_loss(model, data, block_size, r, rng)
            history.append({"step": it, **losses, "seconds": time.perf_counter() - start})
            log(f"step {it}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
            if not all(map(math.isfinite, losses.values())):
                raise FloatingPointError(f"the loss became {losses['train']} at step {it}")
        if it == r.max_iters:
            break
        opt.lr = lr_at(it, r)
        fast(*get_batch(data.train, block_size, r.batch_size, rng))
        if progress is not None:
            progress(it + 1, r.max_iters, time.perf_counter() - start)
    return history
