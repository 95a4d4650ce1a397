"""Reductions: sum, max, argmax, log-softmax, vector norms; multinomial draws."""
from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ..creation import generator
from ..errors import ShapeError
from ..tensor import Function, Tensor, composite, data_of, from_numpy, kernel
from .elementwise import Abs, Exp, Pow, Where
from .movement import Expand, check_dim


def _keepdims(shape: tuple, axis: Any) -> tuple:
    """shape with the reduced axes kept as 1s (what keepdims=True gives)."""
    if axis is None:
        return (1,) * len(shape)
    axes = {a % len(shape) for a in (axis if isinstance(axis, tuple) else (axis,))}
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    """Σ x over `axis`;  dx = g broadcast back over the summed axes;  d(out) = Σ dx"""

    @staticmethod
    def forward(x: np.ndarray, axis: Any, keepdims: bool) -> np.ndarray:
        return x.sum(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(g: Any, out: Any, x: Any, axis: Any, keepdims: bool) -> tuple:
        return (Expand.run(g.reshape(_keepdims(x.shape, axis)), shape=x.shape),)

    jvp = staticmethod(lambda t, out, x, axis, keepdims: t[0].sum(axis=axis, keepdims=keepdims))


class Max(Function):
    """max of x over axis (all axes by default; NaN if a NaN is there);
    dx = g at the maxima (at the NaNs), shared evenly among ties (PyTorch's rule for max() and
    amax);  d(out) = the mean of dx over the tied maxima"""

    @staticmethod
    def forward(x: np.ndarray, axis: Any, keepdims: bool) -> np.ndarray:
        return x.max(axis=axis, keepdims=keepdims)

    @staticmethod
    def _share(x: np.ndarray, out: np.ndarray, axis: Any) -> np.ndarray:
        """1/(number of ties) at each maximum of x, 0 elsewhere."""
        out = out.reshape(_keepdims(x.shape, axis))
        hits = x == out
        if x.dtype.kind == "f" and np.isnan(out).any():  # a NaN is the extreme: it takes g
            hits |= np.isnan(x) & np.isnan(out)
        return hits / hits.sum(axis=axis, keepdims=True, dtype=x.dtype)

    @staticmethod
    def backward(g: Any, out: Any, x: Any, axis: Any, keepdims: bool) -> tuple:
        return (g.reshape(_keepdims(x.shape, axis)) * Max._share(data_of(x), data_of(out), axis),)

    @staticmethod
    def jvp(t: tuple, out: np.ndarray, x: np.ndarray, axis: Any, keepdims: bool) -> np.ndarray:
        return (t[0] * Max._share(x, out, axis)).sum(axis=axis, keepdims=keepdims)


class Min(Max):
    """min of x over axis (NaN if a NaN is there);  dx = g at the minima, shared evenly among
    ties;  d(out) = the mean of dx over the tied minima (Max's rules, mirrored)"""
    forward = staticmethod(lambda x, axis, keepdims: x.min(axis=axis, keepdims=keepdims))


class Argmax(Function):
    """index of the largest x along axis, the first one (a NaN's if any): no gradient"""
    forward = staticmethod(lambda x, axis, keepdims: x.argmax(axis=axis, keepdims=keepdims))


class Argmin(Function):
    """index of the smallest x along axis, the first one (a NaN's if any): no gradient"""
    forward = staticmethod(lambda x, axis, keepdims: x.argmin(axis=axis, keepdims=keepdims))


class AnyNonzero(Function):
    """True if any element is nonzero (a bool result, no gradient)"""
    forward = staticmethod(lambda x: np.asarray(x.any()))


class AllNonzero(Function):
    """True if every element is nonzero (a bool result, no gradient)"""
    forward = staticmethod(lambda x: np.asarray(x.all()))


class LogSoftmax(Function):
    """x - log Σ e^x along axis, computed as s - log Σ e^s with s = x - max x (stable);
    dx = g - softmax(x) Σ g;  d(out) = dx - Σ softmax(x) dx"""

    @staticmethod
    def forward(x: np.ndarray, axis: int) -> np.ndarray:
        s = x - x.max(axis=axis, keepdims=True)
        return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))

    @staticmethod
    def backward(g: Any, out: Any, x: Any, axis: int) -> tuple:
        return (g - Exp.run(out) * g.sum(axis=axis, keepdims=True),)

    @staticmethod
    def jvp(t: tuple, out: np.ndarray, x: np.ndarray, axis: int) -> np.ndarray:
        return t[0] - (np.exp(out) * t[0]).sum(axis=axis, keepdims=True)


class ValuesIndices(NamedTuple):
    """What max(dim=...) and min(dim=...) return, like PyTorch's (values, indices)."""
    values: Tensor
    indices: Tensor


@composite
def extreme(x: Tensor, kind: str, dim: Any, keepdim: bool, axis: Any, keepdims: bool) -> Any:
    """x.max(...) or x.min(...) (kind "max" or "min"): over all elements or numpy's axis, or
    PyTorch's (values, indices) along dim, the index of the first extreme (a NaN's if any)."""
    op, argop = (Max, Argmax) if kind == "max" else (Min, Argmin)
    if x.numel() == 0:
        raise RuntimeError(f"{kind}: the input of shape {x.shape} is empty")
    if dim is None:
        return op.apply(x, axis=axis, keepdims=bool(keepdims or keepdim))
    if axis is not None:
        raise ValueError(f"{kind}: give dim (PyTorch's, for values and indices) or axis, not both")
    dim = check_dim(dim, x.ndim, kind)
    index = argop.apply(x, axis=dim, keepdims=True)
    values = x.gather(dim, index)
    if not keepdim:
        values, index = values.squeeze(dim), index.squeeze(dim)
    return ValuesIndices(values, index)


@composite
def total(x: Tensor, kind: str, axis: Any, keepdims: bool, dim: Any, keepdim: bool | None,
          dtype: None, out: None) -> Tensor:
    """x.sum(...) or x.mean(...) (kind "sum" or "mean"), numpy's axis/keepdims or PyTorch's
    dim/keepdim; a float16 mean adds up in float32, as PyTorch's (no overflow midway)."""
    if dtype is not None or out is not None:  # np.sum(t) and np.mean(t) pass None for both
        raise TypeError(f"{kind}: numpy's dtype= and out= are not supported on a Tensor; "
                        f"use np.{kind}(t.numpy(), ...)")
    axis, keepdims = (axis if dim is None else dim), (keepdims if keepdim is None else keepdim)
    if kind == "sum":
        return Sum.apply(x, axis=axis, keepdims=keepdims)
    wide = x.to(np.float32) if x.dtype == np.float16 else x
    s = Sum.apply(wide, axis=axis, keepdims=keepdims)
    mean = s * (s.numel() / x.numel() if x.numel() else np.nan)
    return mean.to(x.dtype) if wide is not x else mean


class Norm(Function):
    """(Σ |x|^p)^(1/p) over axis, for p >= 1;
    dx = g sign(x) (|x| / out)^(p-1): g x / out for p = 2, and 0 where out = 0 (the zero
    vector: PyTorch's rule, where the formula is 0/0);  d(out) = Σ of that rule times dx"""

    @staticmethod
    def forward(x: np.ndarray, p: float, axis: Any, keepdims: bool) -> np.ndarray:
        if p == 2:
            return np.sqrt((x * x).sum(axis=axis, keepdims=keepdims))
        return (np.abs(x) ** p).sum(axis=axis, keepdims=keepdims) ** (1 / p)

    @staticmethod
    def _slope(x: Any, out: Any, p: float, axis: Any) -> Any:
        """d out / d x (broadcast to x's shape), 0 where out is 0."""
        out = out.reshape(_keepdims(x.shape, axis))
        safe = Where.run(data_of(out) == 0, np.ones((), out.dtype), out)
        if p == 2:
            return x / safe
        return np.sign(data_of(x)) * Pow.run(Abs.run(x) / safe, p=p - 1)

    @staticmethod
    def backward(g: Any, out: Any, x: Any, p: float, axis: Any, keepdims: bool) -> tuple:
        return (g.reshape(_keepdims(x.shape, axis)) * Norm._slope(x, out, p, axis),)

    @staticmethod
    def jvp(t: tuple, out: np.ndarray, x: np.ndarray, p: float, axis: Any,
            keepdims: bool) -> np.ndarray:
        return (t[0] * Norm._slope(x, out, p, axis)).sum(axis=axis, keepdims=keepdims)


@composite
def vector_norm(x: Tensor, ord: float = 2, dim: Any = None, keepdim: bool = False) -> Tensor:
    """The p-norm (Σ |x|^ord)^(1/ord) over dim (all elements by default), as
    torch.linalg.vector_norm: ord >= 1, inf (max |x|, ties share g) or -inf (min |x|); the
    gradient at the zero vector is 0 (PyTorch's)."""
    if isinstance(dim, list):
        dim = tuple(dim)
    for d in (dim if isinstance(dim, tuple) else () if dim is None else (dim,)):
        check_dim(d, x.ndim, "vector_norm")
    if x.dtype.kind != "f":
        raise ShapeError(f"vector_norm: needs a floating point input, got {x.dtype}")
    if ord in (math.inf, -math.inf):
        return extreme(x.abs(), "max" if ord > 0 else "min", None, keepdim, dim, keepdim)
    if not ord >= 1:
        raise ValueError(f"vector_norm: ord must be >= 1, inf or -inf here, got {ord!r}")
    return Norm.apply(x, p=float(ord), axis=dim, keepdims=bool(keepdim))


def _multinomial(probs: np.ndarray, k: int, replacement: bool, rng: Any) -> np.ndarray:
    """k category indices per row of the weights probs (n,) or (rows, n), drawn from rng (the
    library's generator if None): with replacement by inverting the running sums, without by the
    exponential race (the k smallest Exp(1) / w are a weighted draw without replacement)."""
    rng = generator() if rng is None else rng
    shape, probs = probs.shape, probs.reshape(-1, probs.shape[-1]).astype(np.float64)
    if not np.isfinite(probs).all() or (probs < 0).any() or (probs.sum(-1) <= 0).any():
        raise ShapeError("multinomial: each row of input must hold finite weights >= 0 with a "
                         "positive sum")
    if not replacement and k > (probs > 0).sum(-1).min():
        raise ShapeError(f"multinomial: cannot draw {k} samples without replacement from a row "
                         f"with {(probs > 0).sum(-1).min()} nonzero weights")
    if replacement:
        cdf = np.cumsum(probs, axis=-1)
        u = rng.random((len(probs), k)) * cdf[:, -1:]
        picks = [np.searchsorted(c, row, side="right") for c, row in zip(cdf, u)]
        out = np.minimum(np.array(picks, np.int64).reshape(len(probs), k), probs.shape[1] - 1)
    else:
        with np.errstate(divide="ignore"):
            keys = rng.exponential(size=probs.shape) / probs
        out = np.argsort(keys, axis=-1, kind="stable")[:, :k].astype(np.int64)
    return out.reshape(shape[:-1] + (k,))


@composite
def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator: Any = None) -> Tensor:
    """num_samples category indices drawn from each row of the weights input (1-D or 2-D,
    torch.multinomial): int64, no gradient. The draw is a kernel from the library's generator
    (see manual_seed; or a numpy Generator given as generator), so a captured step redraws."""
    if input.ndim not in (1, 2):
        raise ShapeError(f"multinomial: input must be 1-D or 2-D, got shape {input.shape}")
    if not isinstance(num_samples, (int, np.integer)) or num_samples <= 0:
        raise ShapeError(f"multinomial: num_samples must be a positive int, got {num_samples!r}")
    return from_numpy(kernel(_multinomial, data_of(input), int(num_samples), bool(replacement),
                             generator))
