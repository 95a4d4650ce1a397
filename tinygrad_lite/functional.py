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
from .errors import DimError, ShapeError
from .ops import activations
from .ops.conv import AvgPool, Conv, ConvTranspose, MaxPool, as_tuple, max_pool_indices
from .ops.layers import Affine, BinaryCrossEntropy, SquaredError
from .ops.movement import pad  # noqa: F401 (F.pad)
from .ops.sequence import (AttentionWeights, LayerNorm, attention_weights,
                           embedding as embedding_op)
from .errors import DimError, ShapeError
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
        raise ShapeError(f"{name}: pred has shape {pred.shape} but target has shape "
                         f"{target.shape}{hint}")
    return target


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ Wᵀ + b, with W of shape (out, in) and b of shape (out,); x may be a numpy array."""
    x, weight = _tensor(x), _tensor(weight)
    if weight.ndim != 2:
        raise ShapeError(f"linear: weight must be (out_features, in_features), got {weight.shape}")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ShapeError(f"linear: input of shape {x.shape} needs {weight.shape[1]} features in "
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


def nielsen_cross_entropy(pred: Tensor, target: Any) -> Tensor:
    """C = -1/n Σ_x Σ_j [y_j ln a_j + (1 - y_j) ln(1 - a_j)], n rows: Nielsen's cross-entropy
    cost for sigmoid outputs (binary cross-entropy summed over outputs, averaged over rows)."""
    return binary_cross_entropy(pred, target) * pred.shape[-1]


def log_likelihood(logits: Tensor, target: Any) -> Tensor:
    """C = -1/n Σ_x ln a_y, a = softmax(logits), y the label: the cost of a softmax output
    layer (the book's chapter 3 and 6; PyTorch's cross_entropy), with one-hot targets."""
    return -(logits.log_softmax(axis=1) * target).sum(axis=1).mean()


def cross_entropy(logits: Tensor, labels: Any, *, reduction: str = "mean") -> Tensor:
    """-log softmax(logits)[label] for logits (N, C) and int labels (N,), averaged over rows
    (reduction "sum" adds them, "none" keeps one per row): nll_loss of log_softmax."""
    logits = _tensor(logits)
    if logits.ndim != 2:
        raise ShapeError(f"cross_entropy: logits must be (N, C), got shape {logits.shape}")
    return _nll(logits.log_softmax(axis=1), labels, reduction, "cross_entropy")


def nll_loss(log_probs: Tensor, labels: Any, *, reduction: str = "mean") -> Tensor:
    """-log_probs[row, label] for log_probs (N, C) and int labels (N,), averaged over rows."""
    return _nll(_tensor(log_probs), labels, reduction, "nll_loss")


def _nll(log_probs: Tensor, labels: Any, reduction: str, fn: str) -> Tensor:
    labels = data_of(labels) if isinstance(labels, Tensor) else np.asarray(labels)
    if log_probs.ndim != 2:
        raise ShapeError(f"{fn}: input must be (N, C), got shape {log_probs.shape}")
    if labels.dtype.kind not in "iu" or labels.shape != log_probs.shape[:1]:
        hint = (" (one-hot rows? pass target.argmax(axis=1))"
                if labels.shape == log_probs.shape else "")
        raise ShapeError(f"{fn}: labels must be integers of shape {log_probs.shape[:1]}, "
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
        raise ShapeError(f"{name}: labels must be integers, got dtype {arr.dtype}")
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
        raise DimError(f"{name}: labels must be integers {wanted}; label {arr[where].item()!r} "
                         f"at position {pos} is not ({int(bad.sum())} bad label(s))")
    return arr if arr.dtype.kind in "iu" else arr.astype(np.int64)


# --- convolution, pooling and dropout ----------------------------------------------------------
# One design for 1, 2 and 3 spatial dims: the F functions check their arguments as PyTorch does,
# then call the ops Conv, ConvTranspose, MaxPool and AvgPool on (N, C, *spatial) tensors.


def _batched(x: Any, nd: int, fn: str) -> tuple:
    """x as a Tensor with a batch axis, and whether one was added (an unbatched input)."""
    x = _tensor(x)
    if x.ndim == nd + 1:
        return x.unsqueeze(0), True
    if x.ndim != nd + 2:
        raise ShapeError(f"{fn}: expected {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, "
                         f"got input of shape {x.shape}")
    return x, False


def _check_weight(x: Tensor, weight: Tensor, bias: Any, groups: Any, fn: str,
                  transposed: bool = False) -> int:
    """Check weight (out, in/groups, *kernel), or (in, out/groups, *kernel) if transposed,
    against x and bias; return groups."""
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)):
        raise TypeError(f"{fn}: groups must be an int, got {groups!r}")
    if groups < 1:
        raise ShapeError(f"{fn}: non-positive groups is not supported, got groups={groups}")
    if weight.ndim != x.ndim:
        axes = "in, out/groups" if transposed else "out, in/groups"
        raise ShapeError(f"{fn}: weight must be {x.ndim}-D ({axes}, *kernel) for input of shape "
                         f"{x.shape}, got shape {weight.shape}")
    if 0 in weight.shape[2:]:
        raise ShapeError(f"{fn}: kernel size should be greater than zero, got weight of shape "
                         f"{weight.shape}")
    if weight.shape[0] % groups:
        raise ShapeError(f"{fn}: given groups={groups}, expected weight to be divisible by "
                         f"{groups} at dimension 0, got weight of shape {weight.shape}")
    channels = weight.shape[0] if transposed else weight.shape[1] * groups
    if x.shape[1] != channels:
        raise ShapeError(f"{fn}: input of shape {x.shape} has {x.shape[1]} channels but weight "
                         f"of shape {weight.shape} with groups={groups} expects {channels}")
    out = weight.shape[1] * groups if transposed else weight.shape[0]
    if bias is not None and _tensor(bias).shape != (out,):
        raise ShapeError(f"{fn}: bias must have shape {(out,)}, got {_tensor(bias).shape}")
    return int(groups)


def _check_window(x: Tensor, kernel: tuple, padding: tuple, dilation: tuple, fn: str) -> None:
    padded = tuple(n + 2 * p for n, p in zip(x.shape[2:], padding))
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(k > n for k, n in zip(span, padded)):
        raise ShapeError(f"{fn}: the window {span} (kernel {kernel}, dilation {dilation}) is "
                         f"larger than the padded input {padded} (input shape {x.shape}, "
                         f"padding {padding})")


def _named_padding(x: Tensor, kernel: tuple, stride: tuple, dilation: tuple, padding: str,
                   fn: str) -> tuple:
    """x and the padding for padding="valid" or "same" (uneven "same" pads x with F.pad, the
    odd extra entry after, as PyTorch does)."""
    if padding == "valid":
        return x, 0
    if padding != "same":
        raise ShapeError(f"{fn}: padding must be an int, a tuple, 'valid' or 'same', got "
                         f"{padding!r}")
    if any(s != 1 for s in stride):
        raise ShapeError(f"{fn}: padding='same' is not supported for strided convolutions, "
                         f"got stride {stride} for input shape {x.shape}")
    before = [d * (k - 1) // 2 for k, d in zip(kernel, dilation)]
    after = [d * (k - 1) - b for k, d, b in zip(kernel, dilation, before)]
    if before == after:
        return x, tuple(before)
    return pad(x, tuple(p for b, a in zip(before[::-1], after[::-1]) for p in (b, a))), 0


def _conv(nd: int, fn: str, x: Any, weight: Any, bias: Any, stride: Any, padding: Any,
          dilation: Any, groups: Any) -> Tensor:
    (x, one), weight = _batched(x, nd, fn), _tensor(weight)
    groups = _check_weight(x, weight, bias, groups, fn)
    stride = as_tuple(stride, nd, "stride", fn, 1)
    dilation = as_tuple(dilation, nd, "dilation", fn, 1)
    if isinstance(padding, str):
        x, padding = _named_padding(x, weight.shape[2:], stride, dilation, padding, fn)
    padding = as_tuple(padding, nd, "padding", fn, 0)
    _check_window(x, weight.shape[2:], padding, dilation, fn)
    args = (x, weight) if bias is None else (x, weight, _tensor(bias))
    out = Conv.apply(*args, stride=stride, padding=padding, dilation=dilation, groups=groups)
    return out.squeeze(0) if one else out


def conv1d(input: Any, weight: Any, bias: Any = None, stride: int | tuple = 1,
           padding: int | tuple | str = 0, dilation: int | tuple = 1, groups: int = 1) -> Tensor:
    """1-D cross-correlation of input (N, C, L) or (C, L) with weight (O, C/groups, k), plus
    bias (O,): out (N, O, Lo), Lo = (L + 2 padding - dilation (k - 1) - 1) // stride + 1."""
    return _conv(1, "conv1d", input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Any, weight: Any, bias: Any = None, stride: int | tuple = 1,
           padding: int | tuple | str = 0, dilation: int | tuple = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation of input (N, C, H, W) with weight (O, C/groups, kh, kw), plus bias
    (O,): out (N, O, Ho, Wo), Ho = (H + 2 padding - dilation (kh - 1) - 1) // stride + 1 (the
    same for Wo). Input may be one example (C, H, W); padding may be "valid" (none) or "same"
    (stride 1, output of input's size; an odd extra row or column goes to the bottom or right,
    as in PyTorch). Groups split the channels: output channel o sees only its group's inputs."""
    return _conv(2, "conv2d", input, weight, bias, stride, padding, dilation, groups)


def conv3d(input: Any, weight: Any, bias: Any = None, stride: int | tuple = 1,
           padding: int | tuple | str = 0, dilation: int | tuple = 1, groups: int = 1) -> Tensor:
    """3-D cross-correlation of input (N, C, D, H, W) with weight (O, C/groups, kd, kh, kw)."""
    return _conv(3, "conv3d", input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(nd: int, fn: str, x: Any, weight: Any, bias: Any, stride: Any,
                    padding: Any, output_padding: Any, groups: Any, dilation: Any) -> Tensor:
    (x, one), weight = _batched(x, nd, fn), _tensor(weight)
    groups = _check_weight(x, weight, bias, groups, fn, transposed=True)
    stride = as_tuple(stride, nd, "stride", fn, 1)
    padding = as_tuple(padding, nd, "padding", fn, 0)
    extra = as_tuple(output_padding, nd, "output_padding", fn, 0)
    dilation = as_tuple(dilation, nd, "dilation", fn, 1)
    if any(e >= s and e >= d for e, s, d in zip(extra, stride, dilation)):
        raise ShapeError(f"{fn}: output padding must be smaller than either stride or dilation, "
                         f"got output_padding {extra}, stride {stride}, dilation {dilation}")
    size = tuple((n - 1) * s - 2 * p + d * (k - 1) + e + 1 for n, s, p, d, k, e in
                 zip(x.shape[2:], stride, padding, dilation, weight.shape[2:], extra))
    if any(n < 1 for n in size):
        raise ShapeError(f"{fn}: given input of shape {x.shape}, the output size per channel "
                         f"{size} is too small (padding {padding})")
    args = (x, weight) if bias is None else (x, weight, _tensor(bias))
    out = ConvTranspose.apply(*args, size=size, stride=stride, padding=padding,
                              dilation=dilation, groups=groups)
    return out.squeeze(0) if one else out


def conv_transpose1d(input: Any, weight: Any, bias: Any = None, stride: int | tuple = 1,
                     padding: int | tuple = 0, output_padding: int | tuple = 0, groups: int = 1,
                     dilation: int | tuple = 1) -> Tensor:
    """The adjoint of conv1d in its input (see conv_transpose2d): weight (C, O/groups, k)."""
    return _conv_transpose(1, "conv_transpose1d", input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose2d(input: Any, weight: Any, bias: Any = None, stride: int | tuple = 1,
                     padding: int | tuple = 0, output_padding: int | tuple = 0, groups: int = 1,
                     dilation: int | tuple = 1) -> Tensor:
    """The adjoint of conv2d in its input ("deconvolution"): each input pixel adds weight
    (C, O/groups, kh, kw) times its value into the output at stride apart; out (N, O, Ho, Wo),
    Ho = (H - 1) stride - 2 padding + dilation (kh - 1) + output_padding + 1."""
    return _conv_transpose(2, "conv_transpose2d", input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose3d(input: Any, weight: Any, bias: Any = None, stride: int | tuple = 1,
                     padding: int | tuple = 0, output_padding: int | tuple = 0, groups: int = 1,
                     dilation: int | tuple = 1) -> Tensor:
    """The adjoint of conv3d in its input: weight (C, O/groups, kd, kh, kw)."""
    return _conv_transpose(3, "conv_transpose3d", input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def _pool(nd: int, fn: str, x: Any, kernel_size: Any, stride: Any, padding: Any,
          dilation: Any = 1, ceil_mode: bool = False) -> tuple:
    """The checked (x, geometry, unbatched) of a pool over nd spatial dims."""
    x, one = _batched(x, nd, fn)
    kernel = as_tuple(kernel_size, nd, "kernel_size", fn, 1)
    stride = kernel if stride is None or stride == [] else as_tuple(stride, nd, "stride", fn, 1)
    padding = as_tuple(padding, nd, "padding", fn, 0)
    dilation = as_tuple(dilation, nd, "dilation", fn, 1)
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(p > s // 2 for p, s in zip(padding, span)):
        raise ShapeError(f"{fn}: padding {padding} must be at most half the effective kernel "
                         f"size {span} (kernel {kernel}, dilation {dilation})")
    _check_window(x, kernel, padding, dilation, fn)
    geometry = dict(kernel=kernel, stride=stride, padding=padding)
    if ceil_mode:
        extra = _ceil_extra(x.shape[2:], span, stride, padding)
        geometry.update({"extra": extra} if any(extra) else {})
    return x, geometry, dilation, one


def _ceil_extra(size: tuple, span: tuple, stride: tuple, padding: tuple) -> tuple:
    """ceil_mode's extra entries after each spatial dim: one more window where a partial one
    is left, if it starts inside the input or its left padding (PyTorch's rule)."""
    extra = []
    for n, k, s, p in zip(size, span, stride, padding):
        out = -(-(n + 2 * p - k) // s) + 1
        if (out - 1) * s >= n + p:
            out -= 1
        extra.append(max(0, (out - 1) * s + k - n - 2 * p))
    return tuple(extra)


def _max_pool(nd: int, fn: str, x: Any, kernel_size: Any, stride: Any, padding: Any,
              dilation: Any, ceil_mode: bool, return_indices: bool) -> Any:
    x, geometry, dilation, one = _pool(nd, fn, x, kernel_size, stride, padding, dilation,
                                       ceil_mode)
    if x.dtype.kind not in "iuf":
        raise ShapeError(f"{fn}: input must be of a float or integer dtype, got {x.dtype}")
    out = MaxPool.apply(x, dilation=dilation, **geometry)
    squeeze = (lambda t: t.squeeze(0)) if one else (lambda t: t)
    if not return_indices:
        return squeeze(out)
    where = kernel(max_pool_indices, data_of(x), data_of(out), dilation=dilation, **geometry)
    return squeeze(out), squeeze(from_numpy(where))


def max_pool1d(input: Any, kernel_size: int | tuple, stride: int | tuple | None = None,
               padding: int | tuple = 0, dilation: int | tuple = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Any:
    """The maximum of each window of input (N, C, L) or (C, L) (see max_pool2d)."""
    return _max_pool(1, "max_pool1d", input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool2d(input: Any, kernel_size: int | tuple, stride: int | tuple | None = None,
               padding: int | tuple = 0, dilation: int | tuple = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Any:
    """The maximum of each kernel_size window (taps dilation apart) of input (N, C, H, W) or
    (C, H, W), stride defaulting to the kernel; padding counts as -inf and is at most half the
    window. The gradient goes to the first maximum of a window (row-major), as in PyTorch;
    return_indices also gives its flat index in the H x W plane; ceil_mode keeps a last,
    partial window (the output size rounded up)."""
    return _max_pool(2, "max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def _avg_pool(nd: int, fn: str, x: Any, kernel_size: Any, stride: Any, padding: Any,
              ceil_mode: bool, count_include_pad: bool) -> Tensor:
    if not count_include_pad:
        raise NotImplementedError(f"{fn}: count_include_pad=False is not supported")
    x, geometry, _, one = _pool(nd, fn, x, kernel_size, stride, padding, ceil_mode=ceil_mode)
    out = AvgPool.apply(x, **geometry)
    return out.squeeze(0) if one else out


def avg_pool1d(input: Any, kernel_size: int | tuple, stride: int | tuple | None = None,
               padding: int | tuple = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """The mean of each window of input (N, C, L) or (C, L) (see avg_pool2d)."""
    return _avg_pool(1, "avg_pool1d", input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad)


def avg_pool2d(input: Any, kernel_size: int | tuple, stride: int | tuple | None = None,
               padding: int | tuple = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """The mean of each kernel_size window of input (N, C, H, W) or (C, H, W), stride
    defaulting to the kernel; padding counts as zeros (count_include_pad=True); float16 is
    summed in float32."""
    return _avg_pool(2, "avg_pool2d", input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad)


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


# --- more activations (tinygrad_lite/ops/activations.py) and the logits form of BCE -------------


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x Φ(x) with Φ the standard normal CDF; approximate="tanh" for the tanh formula."""
    return activations.gelu(_tensor(input), approximate)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, else alpha (e^x - 1); gradient alpha at 0 (PyTorch's)."""
    return activations.elu(_tensor(input), alpha)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, else alpha (e^(x/alpha) - 1); gradient 1 at 0."""
    return activations.celu(_tensor(input), alpha)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, else negative_slope x; gradient negative_slope at 0."""
    return activations.leaky_relu(_tensor(input), negative_slope)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6); gradient 0 at 0 and at 6."""
    return activations.relu6(_tensor(input))


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val]; gradient 0 at the bounds."""
    return activations.hardtanh(_tensor(input), min_val, max_val)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x relu6(x + 3) / 6; gradient 0 at -3, 1 at 3."""
    return activations.hardswish(_tensor(input))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """ln(1 + e^(beta x)) / beta, x itself where beta x > threshold."""
    return activations.softplus(_tensor(input), beta, threshold)


def logsigmoid(input: Tensor) -> Tensor:
    """ln σ(x) = -softplus(-x), stable."""
    return activations.logsigmoid(_tensor(input))


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x σ(x)."""
    return activations.silu(_tensor(input))


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x))."""
    return activations.mish(_tensor(input))


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return activations.softsign(_tensor(input))


def binary_cross_entropy_with_logits(input: Tensor, target: Any, weight: Any = None,
                                     pos_weight: Any = None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of σ(input) against target, computed from the logits stably:
    ℓ = (1 - y) x - w_y ln σ(x) with w_y = 1 + (pos_weight - 1) y, the same as
    max(x, 0) - x y + ln(1 + e^-|x|) when pos_weight is None; dℓ/dx = w_y σ(x) - w_y + 1 - y
    (σ(x) - y without pos_weight), smooth everywhere; times weight, then reduced."""
    input = _tensor(input)
    target = _pair(input, target, "binary_cross_entropy_with_logits")
    log_weight = 1 if pos_weight is None else (_tensor(pos_weight) - 1) * target + 1
    loss = (1 - target) * input - log_weight * activations.logsigmoid(input)
    if weight is not None:
        loss = loss * _tensor(weight)
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")

# --- sequence models: embedding, layer norm, attention ------------------------------------------


def embedding(input: Any, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """weight[input]: a row of weight (num_embeddings, embedding_dim) per integer index of input
    (any shape); repeated indices add up in the gradient, and row padding_idx gets none.
    An index outside [0, num_embeddings) is a DimError; float indices are a TypeError."""
    input = _tensor(input)
    if padding_idx is not None:
        n = weight.shape[0]
        if not -n <= padding_idx < n:
            raise DimError(f"embedding: padding_idx {padding_idx} is out of range for {n} "
                           "embeddings")
        padding_idx = int(padding_idx) % n
    return embedding_op(input, weight, padding_idx)


def layer_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """(x - mean) / √(var + eps) · weight + bias, the statistics over the last
    len(normalized_shape) axes, which must be normalized_shape (the variance is biased)."""
    input = _tensor(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) \
        else tuple(normalized_shape)
    n = len(shape)
    weight = None if weight is None else _tensor(weight)
    bias = None if bias is None else _tensor(bias)
    if n == 0 or input.shape[input.ndim - n:] != shape or input.ndim < n:
        raise ShapeError(f"layer_norm: normalized_shape {shape} must be the last dimensions of "
                         f"the input, whose shape is {input.shape}")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and p.shape != shape:
            raise ShapeError(f"layer_norm: {name} must have shape {shape}, got {p.shape}")
    w = weight if weight is not None else from_numpy(np.ones(shape, input.dtype))
    b = bias if bias is not None else from_numpy(np.zeros(shape, input.dtype))
    return LayerNorm.apply(input, w, b, n=n, eps=float(eps))


def _check_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Any) -> None:
    """Shapes and dtypes that scaled_dot_product_attention takes, else a clear error."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor) or t.dtype.kind != "f" or t.ndim < 2:
            raise TypeError(f"scaled_dot_product_attention: {name} must be a float Tensor of "
                            f"at least 2 dimensions, got {_describe(t)}")
    if not query.dtype == key.dtype == value.dtype:
        raise TypeError(f"scaled_dot_product_attention: query, key and value must share a "
                        f"dtype, got {query.dtype}, {key.dtype}, {value.dtype}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ShapeError(f"scaled_dot_product_attention: query (..., L, E), key (..., S, E) and "
                         f"value (..., S, Ev) do not fit: {query.shape}, {key.shape}, "
                         f"{value.shape}")
    scores = query.shape[:-1] + key.shape[-2:-1]
    try:
        scores = np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2]) \
            + scores[-2:]
    except ValueError:
        raise ShapeError(f"scaled_dot_product_attention: the batch dimensions of query "
                         f"{query.shape}, key {key.shape} and value {value.shape} do not "
                         "broadcast") from None
    if attn_mask is None:
        return
    if attn_mask.dtype != np.bool_ and attn_mask.dtype != query.dtype:
        raise TypeError(f"scaled_dot_product_attention: attn_mask must be bool or of the "
                        f"query's dtype {query.dtype}, got {attn_mask.dtype}")
    try:
        np.broadcast_shapes(attn_mask.shape, scores)
    except ValueError:
        raise ShapeError(f"scaled_dot_product_attention: attn_mask of shape {attn_mask.shape} "
                         f"does not broadcast to the scores' shape {scores} (..., L, S)") from None


def _describe(t: Any) -> str:
    if isinstance(t, Tensor):
        return f"{t.dtype} of shape {t.shape}"
    return type(t).__name__


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Any = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None) -> Tensor:
    """softmax(q kᵀ · scale + bias) v, scale = 1/√E by default; q (..., L, E), k (..., S, E),
    v (..., S, Ev) -> (..., L, Ev), batch axes (heads) broadcasting. attn_mask: bool (True =
    take part, False = -inf) or float (added to the scores); is_causal masks keys after each
    query (no attn_mask then); dropout_p drops attention weights (library generator). A query
    with no key taking part gets zeros, as PyTorch's."""
    if attn_mask is not None:
        attn_mask = _tensor(attn_mask)
    _check_attention(query, key, value, attn_mask)
    if is_causal and attn_mask is not None:
        raise RuntimeError("scaled_dot_product_attention: give attn_mask or is_causal=True, "
                           "not both")
    if not 0 <= dropout_p <= 1:
        raise ValueError(f"scaled_dot_product_attention: dropout_p must be in [0, 1], got "
                         f"{dropout_p}")
    scale = 1 / np.sqrt(query.shape[-1]) if scale is None else float(scale)
    if attn_mask is None:  # no mask or the causal one: the fused op
        weights = AttentionWeights.apply(query, key, scale=float(scale), causal=bool(is_causal))
    else:
        weights = attention_weights(query, key, attn_mask, float(scale))
    return dropout(weights, dropout_p) @ value
