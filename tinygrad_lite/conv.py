"""Convolution and pooling ops on NCHW arrays, the layers of convolutional networks.

Each op sees its input through windows: a strided view of shape (N, C, Ho, Wo, kh, kw) whose
[n, c, i, j] entry is the kh x kw patch under output pixel (i, j), made without copying.
Forward is then one matrix product (conv), or one elementwise max or add per kernel offset
(pools); backward adds each kernel offset's share of the gradient back into the input, one
strided add per offset (kh * kw adds, no Python loop over pixels). The windows and their adjoint
are ops too (Unfold, Fold), so the backward rules, written with them, differentiate again.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import tensor as engine
from .tensor import Expand, Function, Tensor, _array, _kernel, pad


def _pad(x: np.ndarray, padding: tuple, value: float = 0.0) -> np.ndarray:
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def _windows(xp: np.ndarray, kernel: tuple, stride: tuple) -> np.ndarray:
    """The read-only view (N, C, Ho, Wo, kh, kw) of the windows of a (padded) input."""
    (kh, kw), (sh, sw) = kernel, stride
    n, c, h, w = xp.shape
    sn, sc, sy, sx = xp.strides
    shape = (n, c, (h - kh) // sh + 1, (w - kw) // sw + 1, kh, kw)
    return as_strided(xp, shape, (sn, sc, sy * sh, sx * sw, sy, sx), writeable=False)


def _fold(parts: np.ndarray, x_shape: tuple, stride: tuple, padding: tuple) -> np.ndarray:
    """The adjoint of _windows: add parts (N, C, kh, kw, Ho, Wo) back to the input's pixels."""
    n, c, kh, kw, ho, wo = parts.shape
    (sh, sw), (ph, pw) = stride, padding
    gx = np.zeros((n, c, x_shape[2] + 2 * ph, x_shape[3] + 2 * pw), parts.dtype)
    overlap = sh < kh or sw < kw  # else each pixel is in one window at most: assign, not add
    for i in range(kh):
        for j in range(kw):
            pixels = gx[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]
            if overlap:
                pixels += parts[:, :, i, j]
            else:
                pixels[...] = parts[:, :, i, j]
    return gx[:, :, ph:ph + x_shape[2], pw:pw + x_shape[3]]


class Unfold(Function):
    """The windows of x (N, C, H, W), padded with zeros: out[n, c, i, j, p, q] =
    x[n, c, s·p + i, s·q + j] (a strided view, no copy);  dx = g folded back (Fold);
    d(out) = dx unfolded"""

    @staticmethod
    def forward(x: np.ndarray, kernel: tuple, stride: tuple, padding: tuple) -> np.ndarray:
        return _windows(_pad(x, padding), kernel, stride).transpose(0, 1, 4, 5, 2, 3)

    @staticmethod
    def backward(g: Any, out: Any, x: Any, kernel: tuple, stride: tuple, padding: tuple) -> tuple:
        return (Fold.run(g, shape=x.shape, stride=stride, padding=padding),)

    jvp = staticmethod(lambda t, out, x, kernel, stride, padding:
                       Unfold.forward(t[0], kernel, stride, padding))


class Fold(Function):
    """Unfold's adjoint: parts (N, C, kh, kw, Ho, Wo) added back to the pixels of an input of
    `shape`;  dparts = g unfolded;  d(out) = dparts folded"""

    @staticmethod
    def forward(parts: np.ndarray, shape: tuple, stride: tuple, padding: tuple) -> np.ndarray:
        return _fold(parts, shape, stride, padding)

    @staticmethod
    def backward(g: Any, out: Any, parts: Any, shape: tuple, stride: tuple,
                 padding: tuple) -> tuple:
        return (Unfold.run(g, kernel=parts.shape[2:4], stride=stride, padding=padding),)

    jvp = staticmethod(lambda t, out, parts, shape, stride, padding:
                       _fold(t[0], shape, stride, padding))


class Conv2d(Function):
    """out[n,o,p,q] = b[o] + Σ_c,i,j w[o,c,i,j] x[n,c,s·p+i,s·q+j]  (x padded; cross-correlation),
    one matrix product of w with x's windows (im2col);
    dx = g @ w folded back to the pixels,  dw[o,c,i,j] = Σ_n,p,q g[n,o,p,q] x[n,c,s·p+i,s·q+j],
    db[o] = Σ_n,p,q g[n,o,p,q];  d(out) = conv(dx, w) + conv(x, dw) + db"""

    @staticmethod
    def forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *, stride: tuple,
                padding: tuple) -> np.ndarray:
        o, c, kh, kw = w.shape
        cols = Unfold.forward(x, (kh, kw), stride, padding)
        n, _, _, _, ho, wo = cols.shape
        out = (w.reshape(o, -1) @ cols.reshape(n, c * kh * kw, ho * wo)).reshape(n, o, ho, wo)
        return out if b is None else out + b.reshape(o, 1, 1)

    @staticmethod
    def backward(g: Any, out: Any, x: Any, w: Any, b: Any = None, *, stride: tuple,
                 padding: tuple, needs: tuple = (True, True, True)) -> tuple:
        o, c, kh, kw = w.shape
        n, _, ho, wo = g.shape
        g2 = g.reshape(n, o, ho * wo)
        gx = gw = None
        if needs[0]:
            parts = (w.reshape(o, -1).T @ g2).reshape(n, c, kh, kw, ho, wo)
            gx = Fold.run(parts, shape=x.shape, stride=stride, padding=padding)
        if needs[1]:
            cols = Unfold.run(x, kernel=(kh, kw), stride=stride, padding=padding)
            gw = (g2 @ cols.reshape(n, c * kh * kw, ho * wo).swapaxes(1, 2)).sum(axis=0)
            gw = gw.reshape(w.shape)
        if b is None:
            return gx, gw
        return gx, gw, (g.sum(axis=(0, 2, 3)) if needs[2] else None)

    @staticmethod
    def jvp(t: tuple, out: np.ndarray, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None,
            *, stride: tuple, padding: tuple) -> np.ndarray:
        return (Conv2d.forward(t[0], w, stride=stride, padding=padding) +
                Conv2d.forward(x, t[1], None if b is None else t[2], stride=stride,
                               padding=padding))


def _across(win: np.ndarray, op: np.ufunc) -> np.ndarray:
    """op folded over each window's pixels, one strided op per kernel offset (numpy's own
    reductions over the small strided window axes are many times slower)."""
    out = win[..., 0, 0].copy()
    for i, j in np.ndindex(*win.shape[4:]):
        if i or j:
            op(out, win[..., i, j], out=out)
    return out


def _first_maxima(x: np.ndarray, out: np.ndarray, kernel: tuple, stride: tuple,
                  padding: tuple) -> np.ndarray:
    """(N, C, kh, kw, Ho, Wo) bools: True at each window's first maximum in row-major order
    (at its first NaN if it holds one)."""
    win = _windows(_pad(x, padding, -np.inf), kernel, stride)
    n, c, ho, wo, kh, kw = win.shape
    hits = np.empty((n, c, kh, kw, ho, wo), bool)
    free = np.ones(out.shape, bool)  # windows whose first maximum is still to be met
    nan = np.isnan(out) if np.isnan(out).any() else None
    for i, j in np.ndindex(kh, kw):
        v = win[..., i, j]
        hit = v == out
        if nan is not None:
            hit |= nan & np.isnan(v)
        hit &= free
        free ^= hit
        hits[:, :, i, j] = hit
    return hits


class MaxPool2d(Function):
    """out = max of each window (padding counts as -inf; NaN if the window holds one);
    dx = g routed to the window's first maximum in row-major order (PyTorch's rule for ties);
    d(out) = dx at that maximum"""

    @staticmethod
    def forward(x: np.ndarray, kernel: tuple, stride: tuple, padding: tuple) -> np.ndarray:
        return _across(_windows(_pad(x, padding, -np.inf), kernel, stride), np.maximum)

    @staticmethod
    def backward(g: Any, out: Any, x: Any, kernel: tuple, stride: tuple, padding: tuple) -> tuple:
        hits = _first_maxima(_array(x), _array(out), kernel, stride, padding)
        n, c, ho, wo = g.shape
        parts = g.reshape(n, c, 1, 1, ho, wo) * hits
        return (Fold.run(parts, shape=x.shape, stride=stride, padding=padding),)

    @staticmethod
    def jvp(t: tuple, out: np.ndarray, x: np.ndarray, kernel: tuple, stride: tuple,
            padding: tuple) -> np.ndarray:
        hits = _first_maxima(x, out, kernel, stride, padding)
        return (Unfold.forward(t[0], kernel, stride, padding) * hits).sum(axis=(2, 3))


class AvgPool2d(Function):
    """out = mean of each window (padding counts as zeros, PyTorch's count_include_pad=True);
    dx = g / (kh kw) to every pixel of the window;  d(out) = the mean of dx over the window"""

    @staticmethod
    def forward(x: np.ndarray, kernel: tuple, stride: tuple, padding: tuple) -> np.ndarray:
        return _across(_windows(_pad(x, padding), kernel, stride), np.add) / (kernel[0] * kernel[1])

    @staticmethod
    def backward(g: Any, out: Any, x: Any, kernel: tuple, stride: tuple, padding: tuple) -> tuple:
        (kh, kw), (n, c, ho, wo) = kernel, g.shape
        share = Expand.run(g.reshape(n, c, 1, 1, ho, wo) / (kh * kw), shape=(n, c, kh, kw, ho, wo))
        return (Fold.run(share, shape=x.shape, stride=stride, padding=padding),)

    jvp = staticmethod(lambda t, out, x, kernel, stride, padding:
                       AvgPool2d.forward(t[0], kernel, stride, padding))


# ----------------------------------------------------------------------------------------------
# The functions (tinygrad_lite.functional re-exports them): arguments checked, then one op.


def _two(v: int | tuple, name: str, fn: str, least: int) -> tuple:
    """An int or a pair of ints as a pair, each at least `least`."""
    pair = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(pair) != 2 or not all(isinstance(k, (int, np.integer)) and k >= least for k in pair):
        raise ValueError(f"{fn}: {name} must be an int or a pair of ints >= {least}, got {v!r}")
    return int(pair[0]), int(pair[1])


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
    stride = _two(stride, "stride", "conv2d", 1)
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
    padding = _two(padding, "padding", "conv2d", 0)
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
    kernel = _two(kernel_size, "kernel_size", fn, 1)
    stride = kernel if stride is None else _two(stride, "stride", fn, 1)
    padding = _two(padding, "padding", fn, 0)
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
    keep = engine._generator.random(shape) >= p
    return keep.astype(dtype) / dtype.type(1 - p)


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p), so
    the expected value is unchanged and eval mode (training=False) is the identity."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    mask = _kernel(_dropout_mask, x.shape, float(p), x.dtype)  # recorded: a replay draws anew
    return x * Tensor._make(mask, None)
