"""Movement and indexing ops: reshape, permute, indexing and its adjoint, gather, cat,
expand, pad; and the functions cat, stack, pad."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import DimError, ShapeError
from ..tensor import Function, Tensor, composite, data_of


def check_dim(dim: int, ndim: int, fn: str) -> int:
    """dim in -ndim..ndim-1 as 0..ndim-1 (a 0-d tensor takes -1 and 0)."""
    n = max(ndim, 1)
    if not isinstance(dim, (int, np.integer)) or not -n <= dim < n:
        raise DimError(f"{fn}: dim must be an int in [{-n}, {n - 1}], got {dim!r}")
    return int(dim) % n


class Reshape(Function):
    """x viewed with a new shape;  dx = g reshaped back;  d(out) = dx reshaped"""
    forward = staticmethod(lambda x, shape: x.reshape(shape))
    backward = staticmethod(lambda g, out, x, shape: (g.reshape(x.shape),))
    jvp = staticmethod(lambda t, out, x, shape: t[0].reshape(shape))


class Permute(Function):
    """x with its axes reordered;  dx = g with the inverse order;  d(out) = dx reordered"""
    forward = staticmethod(lambda x, axes: x.transpose(axes))
    backward = staticmethod(
        lambda g, out, x, axes: (Permute.run(g, axes=tuple(np.argsort(axes).tolist())),))
    jvp = staticmethod(lambda t, out, x, axes: t[0].transpose(axes))


class GetItem(Function):
    """x[index];  dx = g added into zeros at index (repeated indices add up);  d(out) = dx[index]"""
    forward = staticmethod(lambda x, index: x[index])
    backward = staticmethod(lambda g, out, x, index: (IndexAdd.run(g, index=index, shape=x.shape),))
    jvp = staticmethod(lambda t, out, x, index: t[0][index])


def _basic(index: Any) -> bool:
    """An index of ints, slices, None and Ellipsis only (no arrays: no element twice)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (np.integer, slice)) or
               (isinstance(p, int) and not isinstance(p, bool)) for p in parts)


class IndexAdd(Function):
    """zeros of `shape` with g added at index (GetItem's adjoint);  dg = h[index];
    d(out) = dg added at index"""

    @staticmethod
    def forward(g: np.ndarray, index: Any, shape: tuple) -> np.ndarray:
        out = np.zeros(shape, g.dtype)
        if _basic(index):  # ints and slices pick each element once: a plain store will do
            out[index] = g
        else:
            np.add.at(out, index, g)
        return out

    backward = staticmethod(lambda h, out, g, index, shape: (GetItem.run(h, index=index),))
    jvp = staticmethod(lambda t, out, g, index, shape: IndexAdd.forward(t[0], index, shape))


class Gather(Function):
    """x's values at index along dim (torch.gather);  dx = g added into zeros at index;
    d(out) = dx gathered"""

    @staticmethod
    def _where(index: np.ndarray, dim: int) -> tuple:
        where = list(np.indices(index.shape, sparse=True))
        where[dim] = index
        return tuple(where)

    @staticmethod
    def forward(x: np.ndarray, index: np.ndarray, dim: int) -> np.ndarray:
        return x[Gather._where(index, dim)]

    @staticmethod
    def backward(g: Any, out: Any, x: Any, index: Any, dim: int) -> tuple:
        where = Gather._where(data_of(index), dim)
        return IndexAdd.run(g, index=where, shape=x.shape), None

    jvp = staticmethod(lambda t, out, x, index, dim: Gather.forward(t[0], index, dim))


class Cat(Function):
    """x₀, x₁, ... joined along dim;  dxᵢ = the slice of g where xᵢ landed;  d(out) = the dxᵢ
    joined"""
    forward = staticmethod(lambda *xs, dim: np.concatenate(xs, axis=dim))

    @staticmethod
    def backward(g: Any, out: Any, *xs: Any, dim: int) -> tuple:
        ends = np.cumsum([x.shape[dim] for x in xs]).tolist()
        return tuple(GetItem.run(g, index=(slice(None),) * dim + (slice(e - x.shape[dim], e),))
                     for x, e in zip(xs, ends))

    jvp = staticmethod(lambda t, out, *xs, dim: np.concatenate(t, axis=dim))


class Expand(Function):
    """x broadcast to shape (a view, no copy);  dx = g, which the engine sums back to x's shape;
    d(out) = dx broadcast"""
    forward = staticmethod(lambda x, shape: np.broadcast_to(x, shape))
    backward = staticmethod(lambda g, out, x, shape: (g,))
    jvp = staticmethod(lambda t, out, x, shape: np.broadcast_to(t[0], shape))


class Pad(Function):
    """x with (before, after) elements of value added on each axis (negative widths crop);
    dx = g padded by the opposite widths (so cropped where x was padded, zeros where x was
    cropped);  d(out) = dx padded with zeros"""

    @staticmethod
    def forward(x: np.ndarray, widths: tuple, value: float) -> np.ndarray:
        keep = tuple(slice(max(-a, 0), n - max(-b, 0)) for n, (a, b) in zip(x.shape, widths))
        add = [(max(a, 0), max(b, 0)) for a, b in widths]
        return np.pad(x[keep], add, constant_values=value)

    @staticmethod
    def backward(g: Any, out: Any, x: Any, widths: tuple, value: float) -> tuple:
        return (Pad.run(g, widths=tuple((-a, -b) for a, b in widths), value=0),)

    jvp = staticmethod(lambda t, out, x, widths, value: Pad.forward(t[0], widths, 0))


def cat(tensors: Any, dim: int = 0) -> Tensor:
    """The tensors joined along an existing axis dim (torch.cat)."""
    tensors = list(tensors)
    if not tensors or not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError("cat: needs a non-empty sequence of Tensors")
    return Cat.apply(*tensors, dim=check_dim(dim, tensors[0].ndim, "cat"))


def stack(tensors: Any, dim: int = 0) -> Tensor:
    """Tensors of one shape joined along a new axis dim (torch.stack), as cat of unsqueezes."""
    tensors = list(tensors)
    if not tensors or not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError("stack: needs a non-empty sequence of Tensors")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: tensors must have one shape, got {sorted(shapes)}")
    dim = check_dim(dim, tensors[0].ndim + 1, "stack")
    return cat([t.unsqueeze(dim) for t in tensors], dim)


def pad(input: Tensor, pad: Any, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last len(pad) // 2 axes, last axis first: (left, right, top, bottom, ...) as
    PyTorch's F.pad; negative widths crop. Only mode="constant"."""
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported, got {mode!r}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: needs an even number of widths, at most 2 per axis of the input "
                         f"{input.shape}, got {pad}")
    pairs = [(pad[i], pad[i + 1]) for i in range(0, len(pad), 2)][::-1]
    widths = ((0, 0),) * (input.ndim - len(pairs)) + tuple(pairs)
    if any(n + a + b < 0 for n, (a, b) in zip(input.shape, widths)):
        raise ValueError(f"pad: widths {pad} crop more than the input {input.shape} has")
    return Pad.apply(input, widths=widths, value=0 if value is None else value)


@composite
def transpose(x: Tensor, dim0: int | None, dim1: int | None) -> Tensor:
    """No dims: the axes reversed (numpy's .T); two: those axes swapped (PyTorch's)."""
    axes = list(range(x.ndim))
    if dim0 is None and dim1 is None:
        axes.reverse()
    elif dim0 is None or dim1 is None:
        raise TypeError("transpose takes no dimensions or two")
    elif x.ndim == 0 and dim0 in (0, -1) and dim1 in (0, -1):
        return x
    elif not (-x.ndim <= dim0 < x.ndim and -x.ndim <= dim1 < x.ndim):
        raise DimError(f"transpose: dimensions {dim0}, {dim1} out of range for shape {x.shape}")
    else:
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    return Permute.apply(x, axes=tuple(axes))


@composite
def gather(x: Tensor, dim: int, index: Any) -> Tensor:
    """out[i][j][k] = x[i][index[i][j][k]][k] for dim=1 (likewise for any dim); every index
    must lie in [0, size of dim) (IndexError otherwise, as PyTorch)."""
    index = index if isinstance(index, Tensor) else Tensor(np.asarray(index))
    if index.dtype.kind not in "iu" or index.ndim != x.ndim:
        raise ShapeError(f"gather: index must be integers with {x.ndim} dimensions like the "
                           f"input {x.shape}, got {index.dtype} of shape {index.shape}")
    dim = check_dim(dim, x.ndim, "gather")
    size = x.shape[dim] if x.ndim else 1
    idx = data_of(index)
    if idx.size and (idx.min() < 0 or idx.max() >= size):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise DimError(f"gather: index {bad} is out of bounds for dim {dim} of size {size}")
    return Gather.apply(x, index, dim=dim)


@composite
def squeeze(x: Tensor, dim: int | tuple | None) -> Tensor:
    """x without axes of size 1: all of them, or those in dim that have size 1 (PyTorch's)."""
    if x.ndim == 0:
        for d in (dim if isinstance(dim, tuple) else () if dim is None else (dim,)):
            check_dim(d, 0, "squeeze")
        return x
    dims = range(x.ndim) if dim is None else [
        check_dim(d, x.ndim, "squeeze") for d in (dim if isinstance(dim, tuple) else (dim,))]
    drop = {d for d in dims if x.shape[d] == 1}
    return x.reshape(tuple(n for d, n in enumerate(x.shape) if d not in drop))


@composite
def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """x with an axis of size 1 inserted at dim (in -ndim-1 .. ndim)."""
    dim = check_dim(dim, x.ndim + 1, "unsqueeze")
    return x.reshape(x.shape[:dim] + (1,) + x.shape[dim:])


@composite
def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """x with the axes start_dim..end_dim (inclusive) merged into one."""
    if x.ndim == 0:
        return x.reshape(1)
    s, e = check_dim(start_dim, x.ndim, "flatten"), check_dim(end_dim, x.ndim, "flatten")
    if s > e:
        raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    return x.reshape(x.shape[:s] + (math.prod(x.shape[s:e + 1]),) + x.shape[e + 1:])


@composite
def expand(x: Tensor, *sizes: Any) -> Tensor:
    """A broadcast view of x to sizes; -1 keeps an axis' size; new axes go in front."""
    sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) \
        else sizes
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ShapeError(f"expand: {len(sizes)} sizes for a tensor of shape {x.shape}")
    shape = tuple(x.shape[i - lead] if s == -1 and i >= lead else int(s)
                  for i, s in enumerate(sizes))
    return Expand.apply(x, shape=shape)


@composite
def getitem(x: Tensor, index: Any) -> Tensor:
    """x[index]: ints, slices, None, Ellipsis, index arrays and Tensors, bool masks."""
    unwrap = lambda i: data_of(i) if isinstance(i, Tensor) else i  # noqa: E731
    index = tuple(map(unwrap, index)) if isinstance(index, tuple) else unwrap(index)
    return GetItem.apply(x, index=index)
