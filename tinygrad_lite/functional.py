"""Losses and activations as functions (import tinygrad_lite.functional as F), PyTorch's names;
conv2d, the pools and dropout come from tinygrad_lite.conv, pad from the engine.

Most are compositions of the engine's ops, with no backward of their own. Two costs are single
ops: the squared error (the seed's cost, the hot path of training) and binary cross-entropy
(whose composite gradient would be 0/0 where a sigmoid output saturates to exactly 0 or 1).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .conv import avg_pool2d, conv2d, dropout, max_pool2d  # noqa: F401 (re-exported)
from .tensor import Affine, BinaryCrossEntropy, SquaredError, Tensor, pad  # noqa: F401


def _pair(pred: Tensor, target: Any, name: str) -> Tensor:
    """target as a Tensor of pred's float dtype, checked to have pred's shape."""
    if not isinstance(target, Tensor):
        dtype = pred.data.dtype
        target = Tensor(target, dtype=dtype if dtype.kind == "f" else None)
    if pred.data.shape != target.data.shape:
        raise ValueError(f"{name}: pred has shape {pred.shape} but target has shape {target.shape}")
    return target


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ Wᵀ + b, with W of shape (out, in) and b of shape (out,); x may be a numpy array."""
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if bias is None:
        return x @ weight.T
    return Affine.apply(x, weight, bias,
                        needs=(x.requires_grad, weight.requires_grad, bias.requires_grad))


def sigmoid(x: Tensor) -> Tensor:
    return x.sigmoid()


def relu(x: Tensor) -> Tensor:
    return x.relu()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def softmax(x: Tensor, axis: int = -1, *, dim: int | None = None) -> Tensor:
    return x.softmax(axis if dim is None else dim)


def log_softmax(x: Tensor, axis: int = -1, *, dim: int | None = None) -> Tensor:
    return x.log_softmax(axis if dim is None else dim)


def _reduce(loss: Tensor, reduction: str, fn: str) -> Tensor:
    """PyTorch's reduction= of per-element losses: "mean", "sum" or "none"."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{fn}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def mse_loss(pred: Tensor, target: Any, *, reduction: str = "mean") -> Tensor:
    """mean((pred - target)²) over all elements (PyTorch's MSELoss; reduction "sum", "none")."""
    target = _pair(pred, target, "mse_loss")
    if reduction == "mean":
        return _squared_error(pred, target, 1 / max(pred.size, 1))
    return _reduce((pred - target) ** 2, reduction, "mse_loss")


def quadratic_cost(pred: Tensor, target: Any) -> Tensor:
    """The seed's C = 1/(2n) Σ_x ||y(x) - a(x)||², n = number of rows (examples).

    Its gradient dC/da = (a - y)/n is the mini-batch average of the per-example (a - y) in BP1,
    so SGD on this cost with learning rate η is the seed's update w -= η/n Σ ∇w.
    """
    n = pred.data.shape[0] if pred.data.ndim >= 2 else 1
    return _squared_error(pred, _pair(pred, target, "quadratic_cost"), 0.5 / max(n, 1))


def _squared_error(pred: Tensor, target: Tensor, c: float) -> Tensor:
    return SquaredError.apply(pred, target, c=c, needs=(pred.requires_grad, target.requires_grad))


def binary_cross_entropy(pred: Tensor, target: Any) -> Tensor:
    """mean(-(y ln p + (1 - y) ln(1 - p))), logs clamped at -100 as PyTorch does, so a
    saturated p of exactly 0 or 1 gives a finite cost and gradient."""
    return BinaryCrossEntropy.apply(pred, _pair(pred, target, "binary_cross_entropy"))


def cross_entropy(logits: Tensor, labels: Any, *, reduction: str = "mean") -> Tensor:
    """-log softmax(logits)[label] for logits (N, C) and int labels (N,), averaged over rows
    (reduction "sum" adds them, "none" keeps one per row): nll_loss of log_softmax."""
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: logits must be (N, C), got shape {logits.shape}")
    return _nll(logits.log_softmax(axis=1), labels, reduction, "cross_entropy")


def nll_loss(log_probs: Tensor, labels: Any, *, reduction: str = "mean") -> Tensor:
    """-log_probs[row, label] for log_probs (N, C) and int labels (N,), averaged over rows."""
    return _nll(log_probs, labels, reduction, "nll_loss")


def _nll(log_probs: Tensor, labels: Any, reduction: str, fn: str) -> Tensor:
    labels = np.asarray(labels.data if isinstance(labels, Tensor) else labels)
    if log_probs.ndim != 2:
        raise ValueError(f"{fn}: input must be (N, C), got shape {log_probs.shape}")
    if labels.dtype.kind not in "iu" or labels.shape != log_probs.shape[:1]:
        raise ValueError(f"{fn}: labels must be integers of shape {log_probs.shape[:1]}, "
                         f"got {labels.dtype} of shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= log_probs.shape[1]):
        raise ValueError(f"{fn}: labels must lie in [0, {log_probs.shape[1]}), "
                         f"got {labels.min()}..{labels.max()}")
    return _reduce(-log_probs[np.arange(len(labels)), labels], reduction, fn)


def one_hot(labels: Any, num_classes: int = 10, dtype: Any = np.float32) -> np.ndarray:
    """Rows of zeros with a 1 at each label: the seed's desired output y(x)."""
    labels = np.asarray(labels)
    out = np.zeros((labels.size, num_classes), dtype)
    out[np.arange(labels.size), labels.ravel()] = 1
    return out
