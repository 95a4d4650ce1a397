"""Reductions: sum, max, argmax, log-softmax."""
from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ..tensor import Function, Tensor, composite, data_of
from .elementwise import Exp
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
