"""Losses, activations, convolutions, pooling and dropout as functions (import
tinygrad_lite.functional as F), PyTorch's names: arguments checked, then the ops.

Most are compositions of the engine's ops, with no backward of their own. Two costs are single
ops: the squared error (the seed's cost, the hot path of training) and binary cross-entropy
(whose composite gradient would be 0/0 where a sigmoid output saturates to exactly 0 or 1).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .creation import generator
from .ops.conv import AvgPool2d, Conv2d, MaxPool2d, as_pair
from .ops.layers import Affine, BinaryCrossEntropy, SquaredError
from .ops.movement import pad  # noqa: F401 (F.pad)
from .tensor import Tensor, data_of, from_numpy, kernel


def _tensor(x: Any) -> Tensor:
    """x itself if a Tensor, else a constant Tensor of it (so numpy arrays are accepted)."""
    return x if isinstance(x, Tensor) else Tensor(x)


def _pair(pred: Tensor, target: Any, name: str) -> Tensor:
    """target as a Tensor of pred's float dtype, checked to have pred's shape."""
    if not isinstance(target, Tensor):
        dtype = pred.dtype
        target = Tensor(target, dtype=dtype if dtype.kind == "f" else None)
    if pred.shape != target.shape:
        hint = (f" (class indices? pass F.one_hot(target, {pred.shape[1]}), or use "
                "F.cross_entropy on logits)" if pred.ndim == 2 and target.shape == pred.shape[:1]
                else "")
        raise ValueError(f"{name}: pred has shape {pred.shape} but target has shape "
                         f"{target.shape}{hint}")
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
    pred = _tensor(pred)
    target = _pair(pred, target, "mse_loss")
    if reduction == "mean":
        return _squared_error(pred, target, 1 / max(pred.numel(), 1))
    return _reduce((pred - target) ** 2, reduction, "mse_loss")


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
    if pred.dtype.kind != "f":
        raise TypeError(f"binary_cross_entropy: pred must be float probabilities, got {pred.dtype}")
    target = _pair(pred, target, "binary_cross_entropy")
    kernel(_probabilities, data_of(pred), "binary_cross_entropy")  # replayed under capture
    return BinaryCrossEntropy.apply(pred, target)


def _probabilities(p: np.ndarray, fn: str) -> None:
    """Refuse values outside [0, 1] (NaN included), as PyTorch does."""
    if not ((p >= 0) & (p <= 1)).all():
        bad = p[~((p >= 0) & (p <= 1))].flat[0]
        raise RuntimeError(f"{fn}: all elements of pred should be between 0 and 1, got {bad} "
                           "(for logits use binary_cross_entropy_with_logits)")


def cross_entropy(logits: Tensor, labels: Any, *, reduction: str = "mean") -> Tensor:
    """-log softmax(logits)[label] for logits (N, C) and int labels (N,), averaged over rows
    (reduction "sum" adds them, "none" keeps one per row): nll_loss of log_softmax."""
    logits = _tensor(logits)
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: logits must be (N, C), got shape {logits.shape}")
    return _nll(logits.log_softmax(axis=1), labels, reduction, "cross_entropy")


def nll_loss(log_probs: Tensor, labels: Any, *, reduction: str = "mean") -> Tensor:
    """-log_probs[row, label] for log_probs (N, C) and int labels (N,), averaged over rows."""
    return _nll(_tensor(log_probs), labels, reduction, "nll_loss")


def _nll(log_probs: Tensor, labels: Any, reduction: str, fn: str) -> Tensor:
    labels = data_of(labels) if isinstance(labels, Tensor) else np.asarray(labels)
    if log_probs.ndim != 2:
        raise ValueError(f"{fn}: input must be (N, C), got shape {log_probs.shape}")
    if labels.dtype.kind not in "iu" or labels.shape != log_probs.shape[:1]:
        hint = (" (one-hot rows? pass target.argmax(axis=1))"
                if labels.shape == log_probs.shape else "")
        raise ValueError(f"{fn}: labels must be integers of shape {log_probs.shape[:1]}, "
                         f"got {labels.dtype} of shape {labels.shape}{hint}")
    kernel(class_labels, labels, log_probs.shape[1], fn)  # a kernel: capture replays the check
    return _reduce(-log_probs[np.arange(len(labels)), labels], reduction, fn)


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
    arr = np.asarray(data_of(labels) if isinstance(labels, Tensor) else labels)
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


# --- convolution, pooling and dropout ----------------------------------------------------------


def _check_input(x: Tensor, fn: str) -> None:
    if x.ndim != 4:
        raise ValueError(f"{fn}: input must be 4-D (N, C, H, W) or 3-D (C, H, W), got shape "
                         f"{x.shape}")


def _check_window(x: Tensor, kernel: tuple, padding: tuple, fn: str) -> None:
    padded = (x.shape[2] + 2 * padding[0], x.shape[3] + 2 * padding[1])
    if kernel[0] > padded[0] or kernel[1] > padded[1]:
        raise ValueError(f"{fn}: the window {kernel} is larger than the padded input "
                         f"{padded} (input shape {x.shape}, padding {padding})")


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | tuple = 1,
           padding: int | tuple | str = 0) -> Tensor:
    """2-D cross-correlation of x (N, C, H, W) with weight (O, C, kh, kw), plus bias (O,):
    out (N, O, Ho, Wo), Ho = (H + 2 padding - kh) // stride + 1 (the same for Wo).
    x may be one example (C, H, W); padding may be "valid" (none) or "same" (stride 1, output
    of x's size; an odd extra row or column goes to the bottom or right, as in PyTorch)."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim == 3:
        return conv2d(x.unsqueeze(0), weight, bias, stride, padding).squeeze(0)
    stride = as_pair(stride, "stride", "conv2d", 1)
    _check_input(x, "conv2d")
    if weight.ndim != 4:
        raise ValueError(f"conv2d: weight must be 4-D (out, in, kh, kw), got shape {weight.shape}")
    if weight.shape[1] != x.shape[1]:
        raise ValueError(f"conv2d: input of shape {x.shape} has {x.shape[1]} channels but weight "
                         f"of shape {weight.shape} expects {weight.shape[1]}")
    if bias is not None and bias.shape != weight.shape[:1]:
        raise ValueError(f"conv2d: bias must have shape {weight.shape[:1]}, got {bias.shape}")
    if isinstance(padding, str):
        x, padding = _named_padding(x, weight.shape[2:], stride, padding)
    padding = as_pair(padding, "padding", "conv2d", 0)
    _check_window(x, weight.shape[2:], padding, "conv2d")
    args = (x, weight) if bias is None else (x, weight, bias)
    return Conv2d.apply(*args, stride=stride, padding=padding)


def _named_padding(x: Tensor, kernel: tuple, stride: tuple, padding: str) -> tuple:
    """x and the padding for padding="valid" or "same" (uneven "same" pads x with F.pad)."""
    if padding == "valid":
        return x, 0
    if padding != "same":
        raise ValueError(f"conv2d: padding must be an int, a pair, 'valid' or 'same', got "
                         f"{padding!r}")
    if stride != (1, 1):
        raise ValueError(f"conv2d: padding='same' needs stride 1, got stride {stride} for input "
                         f"shape {x.shape}")
    (top, left), (bottom, right) = [(k - 1) // 2 for k in kernel], [k // 2 for k in kernel]
    if (top, left) == (bottom, right):
        return x, (top, left)
    return pad(x, (left, right, top, bottom)), 0


def _pool(op: type, x: Tensor, kernel_size: int | tuple, stride: int | tuple | None,
          padding: int | tuple, fn: str) -> Tensor:
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim == 3:  # one example (C, H, W)
        return _pool(op, x.unsqueeze(0), kernel_size, stride, padding, fn).squeeze(0)
    kernel = as_pair(kernel_size, "kernel_size", fn, 1)
    stride = kernel if stride is None else as_pair(stride, "stride", fn, 1)
    padding = as_pair(padding, "padding", fn, 0)
    _check_input(x, fn)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{fn}: padding {padding} must be at most half the kernel {kernel}")
    _check_window(x, kernel, padding, fn)
    return op.apply(x, kernel=kernel, stride=stride, padding=padding)


def max_pool2d(x: Tensor, kernel_size: int | tuple, stride: int | tuple | None = None,
               padding: int | tuple = 0) -> Tensor:
    """The maximum of each kernel_size window of x (N, C, H, W) or (C, H, W), stride defaulting
    to the kernel.
    The gradient goes to the first maximum of a window (row-major), as in PyTorch."""
    return _pool(MaxPool2d, x, kernel_size, stride, padding, "max_pool2d")


def avg_pool2d(x: Tensor, kernel_size: int | tuple, stride: int | tuple | None = None,
               padding: int | tuple = 0) -> Tensor:
    """The mean of each kernel_size window of x (N, C, H, W) or (C, H, W), stride defaulting to
    the kernel."""
    return _pool(AvgPool2d, x, kernel_size, stride, padding, "avg_pool2d")


def _dropout_mask(shape: tuple, p: float, dtype: np.dtype) -> np.ndarray:
    """1/(1-p) with probability 1-p, else 0, from the library's generator (see manual_seed)."""
    if p == 1:
        return np.zeros(shape, dtype)
    keep = generator().random(shape) >= p
    return keep.astype(dtype) / dtype.type(1 - p)


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p), so
    the expected value is unchanged and eval mode (training=False) is the identity."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    if x.dtype.kind != "f":
        raise TypeError(f"dropout: needs a float tensor (its kept values are scaled by 1/(1-p)), "
                        f"got {x.dtype}")
    mask = kernel(_dropout_mask, x.shape, float(p), x.dtype)  # recorded: a replay draws anew
    return x * from_numpy(mask)
