"""Movement and indexing ops: reshape, permute, indexing and its adjoint, gather, cat,
expand, pad; and the functions cat, stack, pad."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import DimError, ShapeError, IndexRangeError
from ..tensor import Function, Tensor, composite, data_of, is_grad_enabled, kernel, mark_changed


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


def _plain(index: Any) -> bool:
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
        if _plain(index):  # ints and slices pick each element once: a plain store will do
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
        raise ShapeError(f"stack: tensors must have one shape, got {sorted(shapes)}")
    dim = check_dim(dim, tensors[0].ndim + 1, "stack")
    return cat([t.unsqueeze(dim) for t in tensors], dim)


def pad(input: Tensor, pad: Any, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last len(pad) // 2 axes, last axis first: (left, right, top, bottom, ...) as
    PyTorch's F.pad; negative widths crop. Only mode="constant"."""
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported, got {mode!r}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ShapeError(f"pad: needs an even number of widths, at most 2 per axis of the input "
                         f"{input.shape}, got {pad}")
    pairs = [(pad[i], pad[i + 1]) for i in range(0, len(pad), 2)][::-1]
    widths = ((0, 0),) * (input.ndim - len(pairs)) + tuple(pairs)
    if any(n + a + b < 0 for n, (a, b) in zip(input.shape, widths)):
        raise ShapeError(f"pad: widths {pad} crop more than the input {input.shape} has")
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
    must lie in [0, size of dim) (else a ShapeError: PyTorch raises a RuntimeError)."""
    index = index if isinstance(index, Tensor) else Tensor(np.asarray(index))
    if index.dtype.kind not in "iu" or index.ndim != x.ndim:
        raise ShapeError(f"gather: index must be integers with {x.ndim} dimensions like the "
                           f"input {x.shape}, got {index.dtype} of shape {index.shape}")
    dim = check_dim(dim, x.ndim, "gather")
    size = x.shape[dim] if x.ndim else 1
    idx = data_of(index)
    if idx.size and (idx.min() < 0 or idx.max() >= size):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise IndexRangeError(f"gather: index {bad} is out of bounds for dim {dim} of size {size}")
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
    """x[index]: ints, slices, None, Ellipsis, index arrays and Tensors, bool masks, with
    PyTorch's placement of the indexed axes (see `torch_order`)."""
    index = tuple(map(_unwrap, index)) if isinstance(index, tuple) else _unwrap(index)
    for step in torch_order(index, x.ndim) or (index,):
        x = GetItem.apply(x, index=step)
    return x


def _unwrap(i: Any) -> Any:
    """An index entry for numpy: a Tensor's array (kept as an array, so capture reads it)."""
    return data_of(i) if isinstance(i, Tensor) else i


def _is_int(i: Any) -> bool:
    """An int, or a 0-d integer array: a selection in PyTorch, not an index array."""
    if isinstance(i, np.ndarray):
        return i.ndim == 0 and i.dtype.kind in "iu"
    return isinstance(i, (int, np.integer)) and not isinstance(i, bool)


def _is_array(i: Any) -> bool:
    return isinstance(i, list) or (isinstance(i, np.ndarray) and not _is_int(i))


def torch_order(index: Any, ndim: int) -> tuple | None:
    """PyTorch's indexing as numpy indexings applied in turn, or None where numpy's rule is
    PyTorch's.

    Where they differ: numpy counts an int as an advanced index, so in x[0, :, idx] the int
    and the array idx are advanced indices separated by a slice, and numpy puts their broadcast
    axes first. PyTorch applies the ints first, as plain selections, then places the axes of the
    index arrays by numpy's rule among what is left: x[0, :, idx] has x.shape[1] first, then
    idx's axes. And an Ellipsis that stands for no axes separates two index arrays in numpy, not
    in PyTorch. A 0-d integer tensor counts as an int, as in PyTorch.
    So, when an index holds arrays with ints or an Ellipsis: first the ints (and slices, None,
    Ellipsis) with each array replaced by full slices, then the arrays with each int's axis gone
    and the Ellipsis written out as the full slices it stands for."""
    if not isinstance(index, tuple) or not any(map(_is_array, index)):
        return None
    ints = list(map(_is_int, index))
    if not any(ints) and not any(i is Ellipsis for i in index):
        return None
    widths = [np.ndim(i) if _is_array(i) and np.asarray(i).dtype == np.bool_ else
              0 if i is None or i is Ellipsis else 1 for i in index]
    rest = (slice(None),) * max(ndim - sum(widths), 0)
    first, second = [], []
    for i, w, is_int in zip(index, widths, ints):
        if _is_array(i):
            first += [slice(None)] * w
            second.append(i)
        else:
            first.append(i)
            if i is Ellipsis:
                second += rest
            elif not is_int:  # applied by the first step if there is one
                second.append(slice(None) if any(ints) else i)
    return (tuple(first), tuple(second)) if any(ints) else (tuple(second),)


# --- flip, scans, repeat and splitting --------------------------------------------------------


class Flip(Function):
    """x reversed along the axes dims (a copy, as torch.flip);  dx = g flipped back;
    d(out) = dx flipped"""
    forward = staticmethod(lambda x, dims: np.flip(x, dims).copy())
    backward = staticmethod(lambda g, out, x, dims: (Flip.run(g, dims=dims),))
    jvp = staticmethod(lambda t, out, x, dims: np.flip(t[0], dims).copy())


class CumSum(Function):
    """running sums along dim: outᵢ = Σ_{j <= i} xⱼ;  dxⱼ = Σ_{i >= j} gᵢ (the running sum of g
    from the other end);  d(out) = the running sum of dx"""
    forward = staticmethod(lambda x, dim: np.cumsum(x, axis=dim))

    @staticmethod
    def backward(g: Any, out: Any, x: Any, dim: int) -> tuple:
        back = Flip.run(g, dims=(dim,))
        return (Flip.run(CumSum.run(back, dim=dim), dims=(dim,)),)

    jvp = staticmethod(lambda t, out, x, dim: np.cumsum(t[0], axis=dim))


@composite
def cumsum(x: Tensor, dim: int) -> Tensor:
    """Running sums along dim (torch.cumsum); integers and bools add up as int64."""
    d = check_dim(dim, x.ndim, "cumsum")
    if x.dtype.kind in "iub" and x.dtype != np.int64:
        x = x.to(np.int64)
    return CumSum.apply(x, dim=d) if x.ndim else x.reshape(1).cumsum(0).reshape(())


@composite
def flip(x: Tensor, *dims: Any) -> Tensor:
    """x reversed along each axis in dims (torch.flip(x, dims); x.flip(0, 1) too)."""
    dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
    axes = tuple(check_dim(d, x.ndim, "flip") for d in dims)
    if len(set(axes)) != len(axes):
        raise ShapeError(f"flip: dims {dims} name an axis more than once")
    return Flip.apply(x, dims=axes) if x.ndim else x


@composite
def repeat(x: Tensor, *sizes: Any) -> Tensor:
    """x tiled sizes[i] times along each axis (torch's repeat, numpy's tile); more sizes than
    axes put new axes in front. As a reshape, an expand and a reshape: the gradient is g
    summed over the copies."""
    sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) \
        else sizes
    if len(sizes) < x.ndim:
        raise ShapeError(f"repeat: {len(sizes)} sizes for a tensor of shape {x.shape}: give "
                         f"at least one per dimension")
    if any(not isinstance(r, (int, np.integer)) or r < 0 for r in sizes):
        raise ShapeError(f"repeat: sizes must be integers >= 0, got {sizes}")
    shape = (1,) * (len(sizes) - x.ndim) + x.shape
    pairs = x.reshape(sum(((1, n) for n in shape), ()))
    tiled = pairs.expand(sum(((int(r), n) for r, n in zip(sizes, shape)), ()))
    return tiled.reshape(tuple(int(r) * n for r, n in zip(sizes, shape)))


@composite
def split(x: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple:
    """x cut along dim into pieces of split_size (the last may be smaller), or of the sizes
    in a list summing to x.shape[dim] (torch.split); each piece is a slice (a view's gradient)."""
    d = check_dim(dim, x.ndim, "split")
    n = x.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size <= 0 and n:
            raise ShapeError(f"split: split_size must be positive, got {size}")
        sizes = [min(size, n - s) for s in range(0, n, size)] if n else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise ShapeError(f"split: sizes {sizes} must be >= 0 and add up to {n}, the size of "
                             f"dim {dim} of {x.shape}")
    ends = np.cumsum(sizes).tolist()
    lead = (slice(None),) * d
    return tuple(x[lead + (slice(e - s, e),)] for s, e in zip(sizes, ends))


@composite
def cumprod(x: Tensor, dim: int) -> Tensor:
    """Running products along dim (torch.cumprod), as a chain of products of slices: the
    gradient Σ_{j >= i} gⱼ Π_{k <= j, k != i} xₖ needs no division, so it is exact where x
    holds zeros (PyTorch's rule); its cost grows with the length of dim (a loop of Muls)."""
    d = check_dim(dim, x.ndim, "cumprod")
    if x.ndim == 0:
        return x
    parts = split(x, 1, d)
    running = [parts[0]]
    for part in parts[1:]:
        running.append(running[-1] * part)
    return cat(running, d)


@composite
def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple:
    """x cut along dim into `chunks` pieces of ceil(n / chunks) (torch.chunk: the last may be
    smaller, and there may be fewer than chunks pieces)."""
    if not isinstance(chunks, (int, np.integer)) or chunks <= 0:
        raise ShapeError(f"chunk: chunks must be a positive integer, got {chunks!r}")
    n = x.shape[check_dim(dim, x.ndim, "chunk")]
    return split(x, max(-(-n // int(chunks)), 1), dim)


def _basic(i: Any) -> Any:
    """An index entry with a 0-d integer array or Tensor as an int, so the ints of an
    assignment select a view to write into."""
    i = _unwrap(i)
    return int(i) if _is_int(i) else i


def _assign(target: np.ndarray, steps: tuple, value: np.ndarray) -> None:
    """target[index] = value in place, the index as numpy steps (basic ones give views)."""
    for step in steps[:-1]:
        target = target[step]
    target[steps[-1]] = value


@composite
def setitem(x: Tensor, index: Any, value: Any) -> None:
    """x[index] = value in place, PyTorch's indexing rule (index_put_): for a tensor that
    needs no gradient, or under no_grad (as when initialising weights). A tensor that requires
    grad refuses it while gradients are recorded (a RuntimeError, as PyTorch's for a leaf)."""
    if x.requires_grad and is_grad_enabled():
        raise RuntimeError("setitem: a tensor that requires grad cannot be assigned to in place "
                           "while gradients are recorded; use `with no_grad():` or torch.where")
    index = tuple(map(_basic, index)) if isinstance(index, tuple) else _basic(index)
    steps = torch_order(index, x.ndim) or (index,)
    v = data_of(value) if isinstance(value, Tensor) else np.asarray(value)
    kernel(_assign, data_of(x), steps, v.astype(x.dtype, copy=False))
    mark_changed(x)
