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

from ..tensor import Function, data_of
from .movement import Expand


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
        hits = _first_maxima(data_of(x), data_of(out), kernel, stride, padding)
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


def as_pair(v: int | tuple, name: str, fn: str, least: int) -> tuple:
    """An int or a pair of ints as a pair, each at least `least`."""
    pair = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(pair) != 2 or not all(isinstance(k, (int, np.integer)) and k >= least for k in pair):
        raise ValueError(f"{fn}: {name} must be an int or a pair of ints >= {least}, got {v!r}")
    return int(pair[0]), int(pair[1])
