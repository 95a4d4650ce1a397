"""Ops for sequence models: embedding lookup, layer norm (fused, for speed and stability),
softmax (fused; a "safe" form for attention), the triangles tril/triu, masked_fill, and the
attention weights softmax(q kᵀ · scale + bias): fused (AttentionWeights) without a mask or with
the causal one, else a composite of batched matmuls.

Shapes: q (..., L, E), k (..., S, E), v (..., S, Ev); every op works on all heads and all
positions at once (batched matmuls over the leading axes, no loop over heads or time).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import DimError, ShapeError
from ..tensor import Function, Tensor, composite, data_of, from_numpy, kernel, operand
from .elementwise import Where
from .movement import IndexAdd


class Embedding(Function):
    """weight[index] (a row per index);  dweight = g added into zeros at index (repeated indices
    add up; the row padding_idx gets none: a constant);  d(out) = dweight[index], 0 at
    padding_idx (PyTorch's jvp keeps the tangent there, disagreeing with its own backward)"""

    @staticmethod
    def forward(weight: np.ndarray, index: np.ndarray, padding_idx: int | None) -> np.ndarray:
        return weight[index]

    @staticmethod
    def backward(g: Any, out: Any, weight: Any, index: Any, padding_idx: int | None) -> tuple:
        idx = data_of(index)
        if padding_idx is not None:
            g = g * (idx != padding_idx)[..., None].astype(out.dtype)
        return IndexAdd.run(g, index=idx, shape=weight.shape), None

    @staticmethod
    def jvp(t: tuple, out: np.ndarray, weight: np.ndarray, index: np.ndarray,
            padding_idx: int | None) -> np.ndarray:
        rows = t[0][index]
        if padding_idx is not None:
            rows[index == padding_idx] = 0
        return rows


def _moments(x: Any, axes: tuple, eps: float) -> tuple:
    """x̂ = (x - mean) / σ and 1/σ over axes, σ = √(var + eps) (the biased variance)."""
    xc = x - x.mean(axis=axes, keepdims=True)
    rstd = ((xc * xc).mean(axis=axes, keepdims=True) + eps) ** -0.5
    return xc * rstd, rstd


def _rows(x: np.ndarray, n: int, eps: float) -> tuple:
    """x as rows (-1, D) over its last n axes: x̂ (a fresh array) and 1/σ (a column)."""
    x2 = x.reshape(-1, math.prod(x.shape[x.ndim - n:]))
    xhat = x2 - (np.einsum("ij->i", x2) / x2.shape[1])[:, None]  # einsum: sums of short rows, fast
    var = np.einsum("ij,ij->i", xhat, xhat) / x2.shape[1]
    rstd = (1 / np.sqrt(var + eps)).astype(x.dtype, copy=False)[:, None]
    xhat *= rstd
    return xhat, rstd


class LayerNorm(Function):
    """y = x̂ w + b, x̂ = (x - mean(x)) / √(var(x) + eps) over the last n axes;
    dx = (1/σ)(g·w − mean(g·w) − x̂·mean(g·w·x̂)),  dw = Σ g·x̂,  db = Σ g (over the other axes);
    d(out) = w dx̂ + dw x̂ + db, dx̂ = (1/σ)(dx − mean(dx) − x̂·mean(x̂·dx))

    On arrays the work is done on rows (-1, D) in place (few passes over x); on Tensors
    (create_graph) the same formula is built from ops, so it can be differentiated again."""

    @staticmethod
    def forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, n: int, eps: float) -> np.ndarray:
        y, _ = _rows(x, n, eps)
        y *= w.reshape(-1)
        y += b.reshape(-1)
        return y.reshape(x.shape)

    @staticmethod
    def backward(g: Any, out: Any, x: Any, w: Any, b: Any, n: int, eps: float,
                 needs: tuple = (True, True, True)) -> tuple:
        if not isinstance(g, np.ndarray):
            return LayerNorm._backward_ops(g, x, w, n, eps, needs)
        xhat, rstd = _rows(x, n, eps)
        g2 = g.reshape(xhat.shape)
        gw = np.einsum("ij,ij->j", g2, xhat).reshape(w.shape) if needs[1] else None
        gb = g2.sum(axis=0).reshape(b.shape) if needs[2] else None
        gx = None
        if needs[0]:
            gx = g2 * w.reshape(-1)
            m2 = np.einsum("ij,ij->i", gx, xhat)[:, None] / xhat.shape[1]
            gx -= (np.einsum("ij->i", gx) / xhat.shape[1])[:, None]
            xhat *= m2
            gx -= xhat
            gx *= rstd
            gx = gx.reshape(x.shape)
        return gx, gw, gb

    @staticmethod
    def _backward_ops(g: Tensor, x: Tensor, w: Tensor, n: int, eps: float,
                      needs: tuple) -> tuple:
        """The backward rule as ops on Tensors (create_graph)."""
        axes = tuple(range(-n, 0))
        xhat, rstd = _moments(x, axes, eps)
        gx = None
        if needs[0]:
            gy = g * w
            gx = rstd * (gy - gy.mean(axis=axes, keepdims=True)
                         - xhat * (gy * xhat).mean(axis=axes, keepdims=True))
        return gx, (g * xhat if needs[1] else None), (g if needs[2] else None)

    @staticmethod
    def jvp(t: tuple, out: np.ndarray, x: np.ndarray, w: np.ndarray, b: np.ndarray, n: int,
            eps: float) -> np.ndarray:
        axes = tuple(range(-n, 0))
        xhat, rstd = _moments(x, axes, eps)
        dx = t[0]
        dxhat = rstd * (dx - dx.mean(axis=axes, keepdims=True)
                        - xhat * (xhat * dx).mean(axis=axes, keepdims=True))
        return w * dxhat + t[1] * xhat + t[2]


def _softmax_in_place(e: np.ndarray, axis: int, safe: bool) -> np.ndarray:
    """e (a fresh array) overwritten with its softmax along axis: e^(e - max) / Σ."""
    top = e.max(axis=axis, keepdims=True)
    if safe:
        top[top == -np.inf] = 0
    with np.errstate(invalid="ignore"):
        e -= top
        np.exp(e, out=e)
        total = e.sum(axis=axis, keepdims=True)
        if safe:
            total[total == 0] = 1
        e /= total
    return e


def _softmax_backward(g: Any, p: Any, axis: int) -> Any:
    """p (g − Σ g p): the gradient of softmax's input, from its output p."""
    if not isinstance(g, np.ndarray):
        gp = g * p
        return gp - p * gp.sum(axis=axis, keepdims=True)
    axes = list(range(p.ndim))
    s = np.einsum(g, axes, p, axes, [i for i in axes if i != axis % p.ndim])  # Σ g p, in one pass
    gp = g - np.expand_dims(s, axis)
    gp *= p
    return gp


class Softmax(Function):
    """p = e^(x - max x) / Σ e^(x - max x) along axis;  dx = p (g − Σ g p);  d(out) = p (dx −
    Σ p dx). A row of only -inf gives NaN, or zeros if `safe` (attention's rule)."""

    @staticmethod
    def forward(x: np.ndarray, axis: int, safe: bool) -> np.ndarray:
        return _softmax_in_place(np.array(x, dtype=x.dtype), axis, safe)

    @staticmethod
    def backward(g: Any, out: Any, x: Any, axis: int, safe: bool) -> tuple:
        return (_softmax_backward(g, out, axis),)

    @staticmethod
    def jvp(t: tuple, out: np.ndarray, x: np.ndarray, axis: int, safe: bool) -> np.ndarray:
        return _softmax_backward(t[0], out, axis)


class BiasSoftmax(Function):
    """p = softmax(s + bias) along the last axis, a row with no finite entry giving zeros
    (attention's weights, the mask as an additive bias of 0 and -inf, fused: one array less);
    ds = dbias = p (g − Σ g p);  d(out) = p (dz − Σ p dz), dz = ds + dbias"""

    @staticmethod
    def forward(s: np.ndarray, bias: np.ndarray) -> np.ndarray:
        return _softmax_in_place(s + bias, -1, True)

    @staticmethod
    def backward(g: Any, out: Any, s: Any, bias: Any) -> tuple:
        gz = _softmax_backward(g, out, -1)
        return gz, gz

    jvp = staticmethod(lambda t, out, s, bias: _softmax_backward(t[0] + t[1], out, -1))


class AttentionWeights(Function):
    """p = softmax(q kᵀ · scale) over the last axis, keys after each query masked (weight 0) if
    `causal`;  ds = p (g − Σ g p),  dq = ds k scale,  dk = dsᵀ q scale;  d(out) = p (dz − Σ p dz),
    dz = (dq kᵀ + q dkᵀ) scale

    Fused (one pass of scores, mask and softmax, in place). p is computed as pᵀ (keys × queries)
    and returned as its transposed view: numpy reduces across rows far faster than along short
    rows, and the reductions of backward then run across rows too."""

    @staticmethod
    def forward(q: np.ndarray, k: np.ndarray, scale: float, causal: bool) -> np.ndarray:
        s = k @ q.swapaxes(-1, -2)
        s *= scale
        if causal:  # key j takes part for queries i >= j
            s += _additive(np.tri(s.shape[-1], s.shape[-2], dtype=bool).T, s.dtype)
        return _softmax_in_place(s, -2, True).swapaxes(-1, -2)

    @staticmethod
    def backward(g: Any, out: Any, q: Any, k: Any, scale: float, causal: bool,
                 needs: tuple = (True, True)) -> tuple:
        gs = _softmax_backward(g, out, -1)
        return ((gs @ (k * scale) if needs[0] else None),
                (gs.swapaxes(-1, -2) @ (q * scale) if needs[1] else None))

    @staticmethod
    def jvp(t: tuple, out: np.ndarray, q: np.ndarray, k: np.ndarray, scale: float,
            causal: bool) -> np.ndarray:
        dz = (t[0] @ k.swapaxes(-1, -2) + q @ t[1].swapaxes(-1, -2)) * scale
        return _softmax_backward(dz, out, -1)


class Triangle(Function):
    """The lower (tril) or upper (triu) triangle of the last two axes from `diagonal` on, zeros
    elsewhere;  dx = the same triangle of g;  d(out) = the triangle of dx"""

    @staticmethod
    def forward(x: np.ndarray, diagonal: int, upper: bool) -> np.ndarray:
        return np.triu(x, diagonal) if upper else np.tril(x, diagonal)

    @staticmethod
    def backward(g: Any, out: Any, x: Any, diagonal: int, upper: bool) -> tuple:
        return (Triangle.run(g, diagonal=diagonal, upper=upper),)

    jvp = staticmethod(lambda t, out, x, diagonal, upper: Triangle.forward(t[0], diagonal, upper))


@composite
def triangle(x: Tensor, diagonal: int, upper: bool) -> Tensor:
    """torch.tril / torch.triu: the triangle of the last two axes (x needs at least 2)."""
    name = "triu" if upper else "tril"
    if x.ndim < 2:
        raise ShapeError(f"{name}: input needs at least 2 dimensions, got shape {x.shape}")
    if isinstance(diagonal, bool) or not isinstance(diagonal, (int, np.integer)):
        raise TypeError(f"{name}: diagonal must be an int, got {diagonal!r}")
    return Triangle.apply(x, diagonal=int(diagonal), upper=upper)


@composite
def masked_fill(x: Tensor, mask: Any, value: Any) -> Tensor:
    """x with value where mask is True (mask: bool, broadcastable to x's shape)."""
    mask = mask if isinstance(mask, Tensor) else Tensor(np.asarray(mask))
    if mask.dtype != np.bool_:
        raise TypeError(f"masked_fill: mask must be a bool tensor, got {mask.dtype}")
    try:
        fits = np.broadcast_shapes(x.shape, mask.shape) == x.shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"masked_fill: the mask of shape {mask.shape} does not broadcast to "
                         f"the input's shape {x.shape}")
    if isinstance(value, Tensor) and value.ndim != 0:
        raise ShapeError(f"masked_fill: value must be a number or a 0-d tensor, got shape "
                         f"{value.shape}")
    return Where.apply(mask, operand(x, value).to(x.dtype), x)


def check_indices(index: np.ndarray, size: int, name: str) -> None:
    """Every index in [0, size), else a DimError naming the first that is not."""
    if index.size and (index.min() < 0 or index.max() >= size):
        bad = index.min() if index.min() < 0 else index.max()
        raise DimError(f"{name}: index {bad} is out of range for {size} embeddings "
                       f"(indices must lie in [0, {size}))")


@composite
def embedding(index: Tensor, weight: Tensor, padding_idx: int | None) -> Tensor:
    """weight[index] for integer indices in [0, num_embeddings) (checked as a kernel, so a
    captured step checks each new batch)."""
    if index.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be an integer tensor, got {index.dtype}")
    if weight.ndim != 2:
        raise ShapeError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got "
                         f"shape {weight.shape}")
    kernel(check_indices, data_of(index), weight.shape[0], "embedding")
    return Embedding.apply(weight, index, padding_idx=padding_idx)


def _additive(mask: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A bool mask (True = take part) as an additive bias: 0 where True, -inf where False."""
    return np.where(mask, dtype.type(0), dtype.type(-np.inf))


@composite
def attention_weights(q: Tensor, k: Tensor, mask: Tensor | None, scale: float) -> Tensor:
    """softmax(q kᵀ · scale + bias) over the last axis, bias from mask (bool: True takes part,
    False is -inf; float: added); a row with no key taking part gets weights 0 (PyTorch's)."""
    s = (q * scale) @ k.transpose(-2, -1)
    if mask is None:
        return Softmax.apply(s, axis=-1, safe=True)
    if mask.dtype == np.bool_:
        mask = from_numpy(kernel(_additive, data_of(mask), s.dtype))
    return BiasSoftmax.apply(s, mask)
