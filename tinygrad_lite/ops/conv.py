"""Convolution and pooling ops on (N, C, *spatial) arrays, 1, 2 or 3 spatial dims: the layers
of convolutional networks.

Each op sees its input through windows: a strided view of shape (N, C, *out, *kernel) whose
[n, c, p...] entry is the kernel-sized patch under output position p (its taps `dilation`
apart), made without copying. A convolution is then one matrix product of the weight with the
windows, copied once in the product's order (per group of channels); a pool one elementwise max or add per kernel offset. The windows' adjoint, Fold,
adds each kernel offset's share back into the input, one strided add per offset (no Python
loop over pixels). A max pool whose windows tile the input (stride = kernel, as in the conv
nets' 2x2 pool) needs no windows: a max over every k-th row of each dim, and a gradient
written straight into the winning pixels. The transposed convolution is the convolution's
adjoint: its forward is the convolution's input-gradient and its backward is the convolution,
so each of the two differentiates through the other and every rule differentiates again.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..errors import ShapeError
from ..tensor import Function, Tensor, data_of
from .blocks import BLOCK
from .movement import Expand


def _lowest(dtype: np.dtype) -> Any:
    """-inf, or the smallest integer: the padding that never wins a max."""
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _pad(x: np.ndarray, padding: tuple, value: Any = 0, extra: tuple | None = None) -> np.ndarray:
    """x with `padding[d]` entries of value before and after each spatial dim d (and `extra[d]`
    more after: the last, partial windows of ceil_mode)."""
    extra = extra or (0,) * len(padding)
    if not any(padding) and not any(extra):
        return x
    return np.pad(x, ((0, 0), (0, 0), *((p, p + e) for p, e in zip(padding, extra))),
                  constant_values=value)


def _reach(out: tuple, kernel: tuple, stride: tuple, dilation: tuple) -> tuple:
    """How far the windows reach in each spatial dim: s (out - 1) + d (k - 1) + 1."""
    return tuple(s * (o - 1) + d * (k - 1) + 1 for o, k, s, d in zip(out, kernel, stride, dilation))


def _ones(n: int, dilation: tuple | None) -> tuple:
    return (1,) * n if dilation is None else dilation


def _windows(xp: np.ndarray, kernel: tuple, stride: tuple, dilation: tuple) -> np.ndarray:
    """The read-only view (N, C, *out, *kernel) of the windows of a (padded) input;
    out[d] = (size[d] - dilation[d] (kernel[d] - 1) - 1) // stride[d] + 1."""
    out = tuple((n - d * (k - 1) - 1) // s + 1
                for n, k, s, d in zip(xp.shape[2:], kernel, stride, dilation))
    st = xp.strides[2:]
    strides = (*xp.strides[:2], *(a * s for a, s in zip(st, stride)),
               *(a * d for a, d in zip(st, dilation)))
    return as_strided(xp, (*xp.shape[:2], *out, *kernel), strides, writeable=False)


def _fold(parts: np.ndarray, shape: tuple, stride: tuple, padding: tuple,
          dilation: tuple) -> np.ndarray:
    """The adjoint of the windows: add parts (N, C, *kernel, *out) back to the pixels of an
    input of `shape`, one strided add per kernel offset."""
    nd = len(shape) - 2
    kernel, out = parts.shape[2:2 + nd], parts.shape[2 + nd:]
    size = (max(n + 2 * p, r) for n, p, r in zip(shape[2:], padding,
                                                 _reach(out, kernel, stride, dilation)))
    gx = np.zeros((*parts.shape[:2], *size), parts.dtype)  # past the padding: ceil_mode's reach
    # each pixel in one window at most (taps and windows never meet): assign, not add
    overlap = any(s < d * (k - 1) + 1 for s, d, k in zip(stride, dilation, kernel))
    for offset in np.ndindex(*kernel):
        pixels = gx[(slice(None), slice(None), *(slice(i * d, i * d + s * (o - 1) + 1, s)
                     for i, d, s, o in zip(offset, dilation, stride, out)))]
        if overlap:
            pixels += parts[(slice(None), slice(None), *offset)]
        else:
            pixels[...] = parts[(slice(None), slice(None), *offset)]
    return gx[(slice(None), slice(None), *(slice(p, p + n) for p, n in zip(padding, shape[2:])))]


def _crop(a: Any, sizes: tuple) -> Any:
    """a (an array or a Tensor) cut to `sizes` in its last len(sizes) dims, if larger."""
    if tuple(a.shape[-len(sizes):]) == tuple(sizes):
        return a
    return a[(Ellipsis, *(slice(0, n) for n in sizes))]


class Unfold(Function):
    """The windows of x (N, C, *spatial), padded with zeros (`extra` more after, for ceil_mode):
    out[n, c, i.., p..] = x[n, c, s·p + d·i ..] (a strided view, no copy);  dx = g folded back;
    d(out) = dx unfolded"""

    @staticmethod
    def forward(x: np.ndarray, kernel: tuple, stride: tuple, padding: tuple,
                dilation: tuple | None = None, extra: tuple | None = None) -> np.ndarray:
        nd = len(kernel)
        win = _windows(_pad(x, padding, 0, extra), kernel, stride, _ones(nd, dilation))
        return win.transpose(0, 1, *range(2 + nd, 2 + 2 * nd), *range(2, 2 + nd))

    @staticmethod
    def backward(g: Any, out: Any, x: Any, kernel: tuple, stride: tuple, padding: tuple,
                 dilation: tuple | None = None, extra: tuple | None = None) -> tuple:
        return (Fold.run(g, shape=x.shape, stride=stride, padding=padding, dilation=dilation),)

    jvp = staticmethod(lambda t, out, x, kernel, stride, padding, dilation=None, extra=None:
                       Unfold.forward(t[0], kernel, stride, padding, dilation, extra))


class Fold(Function):
    """Unfold's adjoint: parts (N, C, *kernel, *out) added back to the pixels of an input of
    `shape`;  dparts = g unfolded;  d(out) = dparts folded"""

    @staticmethod
    def forward(parts: np.ndarray, shape: tuple, stride: tuple, padding: tuple,
                dilation: tuple | None = None) -> np.ndarray:
        return _fold(parts, shape, stride, padding, _ones(len(stride), dilation))

    @staticmethod
    def backward(g: Any, out: Any, parts: Any, shape: tuple, stride: tuple, padding: tuple,
                 dilation: tuple | None = None) -> tuple:
        nd = len(stride)
        kernel, out = parts.shape[2:2 + nd], parts.shape[2 + nd:]
        reach = _reach(out, kernel, stride, _ones(nd, dilation))  # windows past the padding?
        extra = tuple(max(0, r - n - 2 * p) for r, n, p in zip(reach, shape[2:], padding))
        cols = Unfold.run(g, kernel=kernel, stride=stride, padding=padding, dilation=dilation,
                          **({"extra": extra} if any(extra) else {}))
        return (_crop(cols, out),)

    jvp = staticmethod(lambda t, out, parts, shape, stride, padding, dilation=None:
                       Fold.forward(t[0], shape, stride, padding, dilation))


def _grouped(a: Any, groups: int, dims: int) -> Any:
    """a (N, C, ...) as (N, groups, C/groups · the next dims..., L), L the rest flattened;
    (N, C · the next dims, L) for one group (numpy's products are fastest on 3-D stacks)."""
    size = int(np.prod(a.shape[2 + dims:], dtype=int))
    return a.reshape(a.shape[0], -1, size) if groups == 1 else \
        a.reshape(a.shape[0], groups, -1, size)


def _per_group(w: Any, groups: int) -> Any:
    """w (O, ...) as (groups, O/groups, the rest), or (O, the rest) for one group."""
    return w.reshape(w.shape[0], -1) if groups == 1 else w.reshape(groups, w.shape[0] // groups, -1)


def _columns(x: np.ndarray, kernel: tuple, geometry: dict, sizes: tuple | None = None
             ) -> tuple:
    """x's windows copied once into the matrices of a convolution's product, and the output
    sizes: (N, C·K, L) for one group, (N, G, C/G·K, L) for G (L the output positions, cut to
    `sizes` if given). A contiguous copy: BLAS multiplies it as it is, with no copy of its own."""
    groups, nd, (n, c) = geometry["groups"], len(kernel), x.shape[:2]
    win = Unfold.forward(x, kernel, geometry["stride"], geometry["padding"],
                         geometry["dilation"])  # (N, C, *kernel, *out), a view
    win = win if sizes is None else _crop(win, sizes)
    rows, out = c // groups * math.prod(kernel), win.shape[2 + nd:]
    cols = np.empty((n, groups, rows, math.prod(out)), x.dtype)
    # splitting the axes of a slice gives a view, so the copy lands in cols
    cols[:, :, :rows].reshape(n, groups, c // groups, *win.shape[2:])[...] = \
        win.reshape(n, groups, c // groups, *win.shape[2:])
    return (cols[:, 0] if groups == 1 else cols), out


def _conv_weight_grad(g: Any, x: Any, w_shape: tuple, geometry: dict) -> Any:
    """dw[o, c, i..] = Σ_n,p g[n, o, p..] x[n, g(o)·C/groups + c, s·p + d·i ..]: g against the
    windows of x, per group (on Tensors, create_graph, through Unfold, whose backward is Fold)."""
    groups, nd = geometry["groups"], len(w_shape) - 2
    if isinstance(g, Tensor) or isinstance(x, Tensor):
        cols = Unfold.run(x, kernel=w_shape[2:], stride=geometry["stride"],
                          padding=geometry["padding"], dilation=geometry["dilation"])
        cols = _grouped(_crop(cols, g.shape[2:]), groups, nd)
    else:
        cols, _ = _columns(x, w_shape[2:], geometry, g.shape[2:])  # (N, G, C/G·K, L)
    gw = (_grouped(g, groups, 0) @ cols.swapaxes(-1, -2)).sum(axis=0)  # (G, O/G, C/G·K)
    return gw.reshape(w_shape)


def _conv_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
                  geometry: dict) -> np.ndarray:
    """(N, O, *out): w's product with x's windows per group, plus b."""
    cols, out = _columns(x, w.shape[2:], geometry)
    y = (_per_group(w, geometry["groups"]) @ cols).reshape(x.shape[0], w.shape[0], *out)
    if b is not None:
        y += b.reshape(-1, *(1,) * (w.ndim - 2))  # in place: y is the product's fresh array
    return y


def _bias_grad(g: Any) -> Any:
    """db[o] = Σ_n,p g[n, o, p..] (Conv's and ConvTranspose's)."""
    return g.sum(axis=(0, *range(2, g.ndim)))


class Conv(Function):
    """out[n,o,p..] = b[o] + Σ_c,i.. w[o,c,i..] x[n, g(o)·C/G + c, s·p + d·i ..] (x padded;
    cross-correlation, G groups), one matrix product of w with x's windows per group;
    dx = conv_transpose(g, w) (the adjoint),  dw[o,c,i..] = Σ_n,p g[n,o,p..] x[n,c,s·p+d·i..],
    db[o] = Σ_n,p g[n,o,p..];  d(out) = conv(dx, w) + conv(x, dw) + db"""

    @staticmethod
    def forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *, stride: tuple,
                padding: tuple, dilation: tuple | None = None, groups: int = 1) -> np.ndarray:
        geometry = dict(stride=stride, padding=padding, dilation=_ones(w.ndim - 2, dilation),
                        groups=groups)
        return _conv_forward(x, w, b, geometry)

    @staticmethod
    def backward(g: Any, out: Any, x: Any, w: Any, b: Any = None, *, stride: tuple,
                 padding: tuple, dilation: tuple | None = None, groups: int = 1,
                 needs: tuple = (True, True, True)) -> tuple:
        geometry = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        gx = gw = None
        if needs[0]:
            gx = ConvTranspose.run(g, w, size=x.shape[2:], **geometry)
        if needs[1]:
            gw = _conv_weight_grad(g, x, w.shape, geometry)
        if b is None:
            return gx, gw
        return gx, gw, (_bias_grad(g) if needs[2] else None)

    @staticmethod
    def jvp(t: tuple, out: np.ndarray, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None,
            **geometry: Any) -> np.ndarray:
        return (Conv.forward(t[0], w, **geometry) +
                Conv.forward(x, t[1], None if b is None else t[2], **geometry))


class ConvTranspose(Function):
    """The adjoint of Conv in its input, out (N, C_out, *size) from x (N, C_in, *in), w (C_in,
    C_out/G, *kernel): out[n, g(i)·C_out/G + c, s·p + d·k - pad ..] += x[n,i,p..] w[i,c,k..],
    plus b;  dx = conv(g, w),  dw[i,c,k..] = Σ_n,p x[n,i,p..] g[n,c,s·p + d·k ..] (conv's weight
    gradient with x and g swapped),  db = Σ g;  d(out) = convT(dx, w) + convT(x, dw) + db"""

    @staticmethod
    def forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *, size: tuple,
                stride: tuple, padding: tuple, dilation: tuple | None = None,
                groups: int = 1) -> np.ndarray:
        nd, n = w.ndim - 2, x.shape[0]
        c_out = w.shape[1] * groups
        parts = _per_group(w, groups).swapaxes(-1, -2) @ _grouped(x, groups, 0)  # (N, G, C K, L)
        parts = parts.reshape(n, c_out, *w.shape[2:], *x.shape[2:])
        y = _fold(parts, (n, c_out, *size), stride, padding, _ones(nd, dilation))
        return y if b is None else y + b.reshape(-1, *(1,) * nd)

    @staticmethod
    def backward(g: Any, out: Any, x: Any, w: Any, b: Any = None, *, size: tuple,
                 stride: tuple, padding: tuple, dilation: tuple | None = None, groups: int = 1,
                 needs: tuple = (True, True, True)) -> tuple:
        geometry = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        gx = gw = None
        if needs[0]:
            gx = _crop(Conv.run(g, w, **geometry), x.shape[2:])
        if needs[1]:
            gw = _conv_weight_grad(x, g, w.shape, geometry)
        if b is None:
            return gx, gw
        return gx, gw, (_bias_grad(g) if needs[2] else None)

    @staticmethod
    def jvp(t: tuple, out: np.ndarray, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None,
            **geometry: Any) -> np.ndarray:
        return (ConvTranspose.forward(t[0], w, **geometry) +
                ConvTranspose.forward(x, t[1], None if b is None else t[2], **geometry))


def _across(win: np.ndarray, op: np.ufunc, nd: int, dtype: Any = None) -> np.ndarray:
    """op folded over each window's taps (the last nd axes), one strided op per kernel offset
    (numpy's own reductions over the small strided window axes are many times slower);
    accumulated in `dtype` if given."""
    lead = (Ellipsis,)
    out = win[(*lead, *(0,) * nd)].astype(dtype or win.dtype)
    for offset in np.ndindex(*win.shape[-nd:]):
        if any(offset):
            op(out, win[(*lead, *offset)], out=out)
    return out


def _first_maxima(x: np.ndarray, out: np.ndarray, kernel: tuple, stride: tuple,
                  padding: tuple, dilation: tuple, extra: tuple | None = None) -> np.ndarray:
    """(N, C, *kernel, *out) bools: True at each window's first maximum in row-major order
    (at its first NaN if it holds one), never in the padding (as in PyTorch: a window of -inf
    sends its gradient to its first real entry)."""
    nd = len(kernel)
    win = _windows(_pad(x, padding, _lowest(x.dtype), extra), kernel, stride, dilation)
    real = None
    if any(padding) or any(extra or ()):
        inside = _pad(np.ones((1, 1, *x.shape[2:]), bool), padding, False, extra)
        real = _windows(inside, kernel, stride, dilation)
    hits = np.empty((*x.shape[:2], *kernel, *out.shape[2:]), bool)
    free = np.ones(out.shape, bool)  # windows whose first maximum is still to be met
    nan = np.isnan(out) if np.isnan(out).any() else None
    for offset in np.ndindex(*kernel):
        tap = (Ellipsis, *offset)
        v = win[tap]
        hit = v == out
        if nan is not None:
            hit |= nan & np.isnan(v)
        if real is not None:
            hit &= real[tap]
        hit &= free
        free ^= hit
        hits[(slice(None), slice(None), *offset)] = hit
    return hits


def _tiling(kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
            extra: tuple | None) -> bool:
    """Whether a pool's windows tile the input side by side (stride = kernel, no padding, no
    dilation, no ceil_mode windows): each pixel is then in one window at most."""
    return (tuple(kernel) == tuple(stride) and not any(padding) and not any(extra or ())
            and all(d == 1 for d in dilation))


def _taps(kernel: tuple, sizes: tuple, offset: tuple) -> tuple:
    """The index of one tap of every tile: rows i, i + k, i + 2k ... of each spatial dim,
    within the `sizes` covered by whole tiles."""
    return (slice(None), slice(None), *(slice(i, n, k) for i, n, k in zip(offset, sizes, kernel)))


def _tile_max(x: np.ndarray, kernel: tuple) -> np.ndarray:
    """The maximum of each tile (kernel = stride), one spatial dim at a time from the last:
    out = max over i of x[..., i::k] (NaN wins, as in np.maximum). No window view is needed,
    and each max runs over long evenly strided rows, the fastest numpy strides over."""
    out = x = _crop(x, tuple(n // k * k for n, k in zip(x.shape[2:], kernel)))
    for axis in range(x.ndim - 1, 1, -1):
        k = kernel[axis - 2]
        if k > 1:
            taps = [out[(slice(None),) * axis + (slice(i, None, k),)] for i in range(k)]
            out = np.maximum(taps[0], taps[1])
            for tap in taps[2:]:
                np.maximum(out, tap, out=out)
    return out.copy() if out is x else out


def _tile_grad(g: np.ndarray, x: np.ndarray, out: np.ndarray, kernel: tuple) -> np.ndarray:
    """dx of a tiling max pool: each tile's g to its first maximum in row-major order (its first
    NaN if it holds one), as _first_maxima rules, written straight into dx's taps: no window
    view, no hits array, no fold. Pixels past the last whole tile get 0. A few examples at a
    time (about 2 BLOCK pixels), so that their x, dx and masks stay in a core's L2 cache."""
    sizes = tuple(n // k * k for n, k in zip(x.shape[2:], kernel))
    dx = (np.empty if sizes == x.shape[2:] else np.zeros)(x.shape, g.dtype)
    nan = np.isnan(out) if out.dtype.kind == "f" and np.isnan(out).any() else None
    step = max(1, 2 * BLOCK // max(1, math.prod(x.shape[1:])))
    for lo in range(0, len(x), step):
        part = slice(lo, lo + step)
        _route(g[part], x[part], out[part], None if nan is None else nan[part], dx[part],
               kernel, sizes)
    return dx


def _route(g: np.ndarray, x: np.ndarray, out: np.ndarray, nan: np.ndarray | None,
           dx: np.ndarray, kernel: tuple, sizes: tuple) -> None:
    """dx[tap] = g at the tiles whose first maximum is that tap, tap by tap in row-major order
    (nan: where out is NaN, whose first NaN wins)."""
    offsets = list(np.ndindex(*kernel))
    free = None  # tiles whose first maximum is still to be met
    for offset in offsets:
        tap = _taps(kernel, sizes, offset)
        if free is not None and offset == offsets[-1]:
            hit = free  # the maximum is somewhere: in the last tap if in none before
        else:
            hit = x[tap] == out
            if nan is not None:
                hit |= nan & np.isnan(x[tap])
            if free is None:
                free = ~hit
            else:
                hit &= free
                free ^= hit
        np.multiply(g, hit, out=dx[tap])


class MaxPool(Function):
    """out = max of each window (taps `dilation` apart; padding counts as -inf; NaN if the
    window holds one);  dx = g routed to the window's first maximum in row-major order
    (PyTorch's rule for ties; never the padding);  d(out) = dx at that maximum. Windows that
    tile the input take _tile_max and _tile_grad: the same values, bit for bit"""

    @staticmethod
    def forward(x: np.ndarray, kernel: tuple, stride: tuple, padding: tuple,
                dilation: tuple | None = None, extra: tuple | None = None) -> np.ndarray:
        dilation = _ones(len(kernel), dilation)
        if _tiling(kernel, stride, padding, dilation, extra):
            return _tile_max(x, kernel)
        win = _windows(_pad(x, padding, _lowest(x.dtype), extra), kernel, stride, dilation)
        return _across(win, np.maximum, len(kernel))

    @staticmethod
    def backward(g: Any, out: Any, x: Any, kernel: tuple, stride: tuple, padding: tuple,
                 dilation: tuple | None = None, extra: tuple | None = None) -> tuple:
        dilation = _ones(len(kernel), dilation)
        if isinstance(g, np.ndarray) and _tiling(kernel, stride, padding, dilation, extra):
            return (_tile_grad(g, data_of(x), data_of(out), kernel),)
        hits = _first_maxima(data_of(x), data_of(out), kernel, stride, padding, dilation, extra)
        parts = g.reshape(*g.shape[:2], *(1,) * len(kernel), *g.shape[2:]) * hits
        return (Fold.run(parts, shape=x.shape, stride=stride, padding=padding,
                         dilation=dilation),)

    @staticmethod
    def jvp(t: tuple, out: np.ndarray, x: np.ndarray, kernel: tuple, stride: tuple,
            padding: tuple, dilation: tuple | None = None,
            extra: tuple | None = None) -> np.ndarray:
        dilation = _ones(len(kernel), dilation)
        hits = _first_maxima(x, out, kernel, stride, padding, dilation, extra)
        taps = tuple(range(2, 2 + len(kernel)))
        cols = Unfold.forward(t[0], kernel, stride, padding, dilation, extra)
        return (cols * hits).sum(axis=taps)


def max_pool_indices(x: np.ndarray, out: np.ndarray, kernel: tuple, stride: tuple,
                     padding: tuple, dilation: tuple, extra: tuple | None = None) -> np.ndarray:
    """The flat index (into each channel's spatial plane) of each window's first maximum:
    PyTorch's return_indices=True."""
    hits = _first_maxima(x, out, kernel, stride, padding, dilation, extra)
    nd = len(kernel)
    k = hits.reshape(*hits.shape[:2], -1, *out.shape[2:]).argmax(axis=2)  # the kernel offset
    flat = np.zeros(out.shape, np.int64)
    for d, (offset, n) in enumerate(zip(np.unravel_index(k, kernel), x.shape[2:])):
        p = np.arange(out.shape[2 + d]).reshape((-1,) + (1,) * (nd - 1 - d))
        flat = flat * n + p * stride[d] + offset * dilation[d] - padding[d]
    return flat


def _window_sizes(shape: tuple, kernel: tuple, stride: tuple, padding: tuple,
                  extra: tuple | None) -> Any:
    """How many entries each window averages: |kernel|, less what ceil_mode's last windows
    hang past the padding (PyTorch's divisor with count_include_pad=True)."""
    if not any(extra or ()):
        return int(np.prod(kernel))
    inside = _pad(np.ones((1, 1, *(n + 2 * p for n, p in zip(shape[2:], padding))), np.int64),
                  (0,) * len(kernel), 0, extra)
    return _across(_windows(inside, kernel, stride, (1,) * len(kernel)), np.add, len(kernel))


class AvgPool(Function):
    """out = mean of each window (padding counts as zeros, PyTorch's count_include_pad=True;
    float16 summed in float32);  dx = g / |window| to every pixel of the window;
    d(out) = the mean of dx over the window"""

    @staticmethod
    def forward(x: np.ndarray, kernel: tuple, stride: tuple, padding: tuple,
                extra: tuple | None = None) -> np.ndarray:
        acc = np.float32 if x.dtype == np.float16 else None
        win = _windows(_pad(x, padding, 0, extra), kernel, stride, (1,) * len(kernel))
        total = _across(win, np.add, len(kernel), acc)
        size = _window_sizes(x.shape, kernel, stride, padding, extra)
        return (total / size).astype(x.dtype, copy=False)

    @staticmethod
    def backward(g: Any, out: Any, x: Any, kernel: tuple, stride: tuple, padding: tuple,
                 extra: tuple | None = None) -> tuple:
        lead, out_shape, taps = g.shape[:2], g.shape[2:], (1,) * len(kernel)
        size = _window_sizes(x.shape, kernel, stride, padding, extra)
        if not isinstance(size, int):
            size = size.reshape(*size.shape[:2], *taps, *out_shape).astype(g.dtype)
        share = g.reshape(*lead, *taps, *out_shape) / size
        share = Expand.run(share, shape=(*lead, *kernel, *out_shape))
        return (Fold.run(share, shape=x.shape, stride=stride, padding=padding),)

    jvp = staticmethod(lambda t, out, x, kernel, stride, padding, extra=None:
                       AvgPool.forward(t[0], kernel, stride, padding, extra))


def as_tuple(v: Any, n: int, name: str, fn: str, least: int) -> tuple:
    """An int or a sequence of n ints as an n-tuple, each at least `least`: a TypeError for
    anything but ints, a ValueError (ShapeError) for too few or too small."""
    seq = (v,) * n if isinstance(v, (int, np.integer)) and not isinstance(v, bool) else v
    if not isinstance(seq, (tuple, list)) or not all(
            isinstance(k, (int, np.integer)) and not isinstance(k, bool) for k in seq):
        raise TypeError(f"{fn}: {name} must be an int or a tuple of {n} ints, got {v!r}")
    if len(seq) != n:
        raise ShapeError(f"{fn}: {name} must be an int or a tuple of {n} ints to match the "
                         f"{n} spatial dimension(s), got {v!r}")
    if any(k < least for k in seq):
        what = "negative" if least == 0 else "non-positive"
        raise ShapeError(f"{fn}: {what} {name} is not supported: {name} must be ints >= "
                         f"{least}, got {v!r}")
    return tuple(int(k) for k in seq)


def as_pair(v: int | tuple, name: str, fn: str, least: int) -> tuple:
    """An int or a pair of ints as a pair, each at least `least`."""
    return as_tuple(v, 2, name, fn, least)
