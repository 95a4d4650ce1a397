"""Losses and activations as functions (import tinygrad_lite.functional as F), PyTorch's names.

Most are compositions of the engine's ops, with no backward of their own. Two costs are single
ops: the squared error (the seed's cost, the hot path of training) and binary cross-entropy
(whose composite gradient would be 0/0 where a sigmoid output saturates to exactly 0 or 1).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .tensor import Affine, BinaryCrossEntropy, SquaredError, Tensor, _kernel


def _tensor(x: Any) -> Tensor:
    """x itself if a Tensor, else a constant Tensor of it (so numpy arrays are accepted)."""
    return x if isinstance(x, Tensor) else Tensor(x)


def _pair(pred: Tensor, target: Any, name: str) -> Tensor:
    """target as a Tensor of pred's float dtype, checked to have pred's shape."""
    if not isinstance(target, Tensor):
        dtype = pred.dtype
        target = Tensor(target, dtype=dtype if dtype.kind == "f" else None)
    if pred.shape != target.shape:
        raise ValueError(f"{name}: pred has shape {pred.shape} but target has shape {target.shape}")
    return target


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ Wᵀ + b, with W of shape (out, in) and b of shape (out,); x may be a numpy array."""
    x, weight = _tensor(x), _tensor(weight)
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be (out_features, in_features), got {weight.shape}")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {x.shape} needs {weight.shape[1]} features in "
                         f"its last dimension, for a weight of shape {weight.shape}")
    if bias is None:
        return x @ weight.T
    bias = _tensor(bias)
    return Affine.apply(x, weight, bias)


def sigmoid(x: Tensor) -> Tensor:
    return _tensor(x).sigmoid()


def relu(x: Tensor) -> Tensor:
    return _tensor(x).relu()


def tanh(x: Tensor) -> Tensor:
    return _tensor(x).tanh()


def softmax(x: Tensor, axis: int = -1, *, dim: int | None = None) -> Tensor:
    return _tensor(x).softmax(axis, dim=dim)


def log_softmax(x: Tensor, axis: int = -1, *, dim: int | None = None) -> Tensor:
    return _tensor(x).log_softmax(axis, dim=dim)


def mse_loss(pred: Tensor, target: Any) -> Tensor:
    """mean((pred - target)²) over all elements (PyTorch's MSELoss, reduction='mean')."""
    pred = _tensor(pred)
    return _squared_error(pred, _pair(pred, target, "mse_loss"), 1 / max(pred.numel(), 1))


def quadratic_cost(pred: Tensor, target: Any) -> Tensor:
    """The seed's C = 1/(2n) Σ_x ||y(x) - a(x)||², n = number of rows (examples).

    Its gradient dC/da = (a - y)/n is the mini-batch average of the per-example (a - y) in BP1,
    so SGD on this cost with learning rate η is the seed's update w -= η/n Σ ∇w.
    """
    pred = _tensor(pred)
    n = pred.shape[0] if pred.ndim >= 2 else 1
    return _squared_error(pred, _pair(pred, target, "quadratic_cost"), 0.5 / max(n, 1))


def _squared_error(pred: Tensor, target: Tensor, c: float) -> Tensor:
    return SquaredError.apply(pred, target, c=c)


def binary_cross_entropy(pred: Tensor, target: Any) -> Tensor:
    """mean(-(y ln p + (1 - y) ln(1 - p))), logs clamped at -100 as PyTorch does, so a
    saturated p of exactly 0 or 1 gives a finite cost and gradient."""
    pred = _tensor(pred)
    return BinaryCrossEntropy.apply(pred, _pair(pred, target, "binary_cross_entropy"))


def cross_entropy(logits: Tensor, labels: Any) -> Tensor:
    """mean over rows of -log softmax(logits)[label], for logits (N, C) and int labels (N,)."""
    logits = _tensor(logits)
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: logits must be (N, C), got shape {logits.shape}")
    labels = labels._data if isinstance(labels, Tensor) else np.asarray(labels)
    if labels.dtype.kind not in "iu" or labels.shape != logits.shape[:1]:
        raise ValueError(f"cross_entropy: labels must be integers of shape {logits.shape[:1]}, "
                         f"got {labels.dtype} of shape {labels.shape}")
    _kernel(class_labels, labels, logits.shape[1], "cross_entropy")  # capture replays the check
    picked = logits.log_softmax(axis=1)[np.arange(len(labels)), labels]
    return -picked.mean()


def one_hot(labels: Any, num_classes: int = 10, dtype: Any = np.float32) -> np.ndarray:
    """Rows of zeros with a 1 at each label: the seed's desired output y(x).

    Labels must be integers in [0, num_classes); anything else is a ValueError naming the label
    and its position (a negative label never wraps around to the last class)."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"one_hot: num_classes must be an int, got {type(num_classes).__name__}")
    if num_classes < 1:
        raise ValueError(f"one_hot: num_classes must be >= 1, got {num_classes}")
    labels = class_labels(labels, num_classes, "one_hot")
    out = np.zeros((labels.size, num_classes), dtype)
    out[np.arange(labels.size), labels.ravel()] = 1
    return out


def class_labels(labels: Any, num_classes: int | None, name: str,
                 integral_floats: bool = True) -> np.ndarray:
    """labels as an integer array, checked to be integers in [0, num_classes) (or >= 0 when
    num_classes is None); a ValueError names the first label that is not, with its position.
    Floats holding whole numbers (3.0) are accepted if `integral_floats`."""
    arr = np.asarray(labels._data if isinstance(labels, Tensor) else labels)
    if arr.dtype.kind not in ("iuf" if integral_floats else "iu"):
        raise ValueError(f"{name}: labels must be integers, got dtype {arr.dtype}")
    wanted = ">= 0" if num_classes is None else f"in [0, {num_classes})"
    if arr.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            bad = ~(np.isfinite(arr) & (arr == np.round(arr)))
    else:
        bad = np.zeros(arr.shape, bool)
    bad |= arr < 0
    if num_classes is not None:
        bad |= arr >= num_classes
    if bad.any():
        where = tuple(int(k) for k in np.argwhere(bad)[0])
        pos = where[0] if len(where) == 1 else where
        raise ValueError(f"{name}: labels must be integers {wanted}; label {arr[where].item()!r} "
                         f"at position {pos} is not ({int(bad.sum())} bad label(s))")
    return arr if arr.dtype.kind in "iu" else arr.astype(np.int64)
