"""Fused layer ops, primitives for speed and stability: matmul, affine (nn.Linear), the
squared error (the seed's quadratic cost) and binary cross-entropy."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import ShapeError
from ..tensor import Function, Tensor, composite
from .elementwise import Log, Maximum


class Matmul(Function):
    """a @ b;  da = g @ bᵀ,  db = aᵀ @ g;  d(out) = da @ b + a @ db

    A 1-D operand is a row (for a) or column (for b) vector, as numpy defines matmul; `needs`
    says which inputs want a gradient, so x @ W skips dC/dx for the data x.
    """

    @staticmethod
    def forward(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a @ b

    @staticmethod
    def backward(g: Any, out: Any, a: Any, b: Any, needs: tuple = (True, True)) -> tuple:
        if a.ndim == 2 and b.ndim == 2:
            return (g @ b.T if needs[0] else None, a.T @ g if needs[1] else None)
        if a.ndim > 2 and b.ndim == 2:  # rows (..., n) @ (n, m): as one 2-D product (BLAS's)
            g2, a2 = g.reshape(-1, g.shape[-1]), a.reshape(-1, a.shape[-1])
            return ((g2 @ b.T).reshape(a.shape) if needs[0] else None,
                    a2.T @ g2 if needs[1] else None)
        a2 = a.reshape(1, -1) if a.ndim == 1 else a  # vectors as matrices, and g to match
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        g2 = g.reshape(g.shape + (1,)) if b.ndim == 1 else g
        g2 = g2.reshape(g2.shape[:-1] + (1,) + g2.shape[-1:]) if a.ndim == 1 else g2
        ga = gb = None
        if needs[0]:
            ga = g2 @ b2.swapaxes(-1, -2)
            ga = ga.reshape(ga.shape[:-2] + ga.shape[-1:]) if a.ndim == 1 else ga
        if needs[1]:
            gb = a2.swapaxes(-1, -2) @ g2
            gb = gb.reshape(gb.shape[:-1]) if b.ndim == 1 else gb
        return ga, gb

    jvp = staticmethod(lambda t, out, a, b: t[0] @ b + a @ t[1])


class Affine(Function):
    """x @ Wᵀ + b (nn.Linear's op), W (out, in), b (out,);  dx = g @ W,  dW = gᵀ @ x,  db = Σ_rows g;
    d(out) = dx @ Wᵀ + x @ dWᵀ + db

    x may be one example (in,) or rows (..., in); `needs` says which inputs want a gradient.
    """

    @staticmethod
    def forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        if x.ndim <= 2:
            return x @ w.T + b
        out = x.reshape(-1, x.shape[-1]) @ w.T  # rows (..., in) as one 2-D product: BLAS's
        out += b
        return out.reshape(x.shape[:-1] + w.shape[:1])

    @staticmethod
    def backward(g: Any, out: Any, x: Any, w: Any, b: Any, needs: tuple) -> tuple:
        if x.ndim == 2:
            gx = g @ w if needs[0] else None
        else:  # one example (in,) or rows (..., in): flatten to (rows, in) and back
            g, x2 = g.reshape(-1, w.shape[0]), x.reshape(-1, w.shape[1])
            gx = (g @ w).reshape(x.shape) if needs[0] else None
            x = x2
        return gx, (g.T @ x if needs[1] else None), (g.sum(axis=0) if needs[2] else None)

    jvp = staticmethod(lambda t, out, x, w, b: t[0] @ w.T + x @ t[1].T + t[2])


class SquaredError(Function):
    """c Σ (a - y)²  (c = 1/2n: the seed's quadratic cost; c = 1/size: MSE);
    da = 2c g (a - y),  dy = -da  (`needs` says which inputs want a gradient);
    d(out) = 2c Σ (a - y)(da - dy)"""

    @staticmethod
    def forward(a: np.ndarray, y: np.ndarray, c: float) -> np.ndarray:
        d = a - y
        return np.vdot(d, d) * c if d.dtype.kind == "f" else (d * d).sum() * c

    @staticmethod
    def backward(g: Any, out: Any, a: Any, y: Any, c: float, needs: tuple) -> tuple:
        da = (a - y) * (g * (2 * c) if isinstance(g, Tensor) else 2 * c * float(g))  # g: scalar
        return (da if needs[0] else None), (-da if needs[1] else None)

    jvp = staticmethod(lambda t, out, a, y, c: np.vdot(a - y, t[0] - t[1]) * (2 * c))


class BinaryCrossEntropy(Function):
    """mean(-(y ln p + (1 - y) ln(1 - p))), each log clamped at -100;
    dp = g (p - y) / max(p (1 - p), 1e-12) / size  (PyTorch's formulas: finite when p is 0 or 1),
    dy = g (ln(1 - p) - ln p) / size;  d(out) = Σ (dp dp' + dy dy') with g = 1"""

    @staticmethod
    def forward(p: np.ndarray, y: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            logs = np.maximum(np.log(p), -100), np.maximum(np.log1p(-p), -100)
        return -(y * logs[0] + (1 - y) * logs[1]).mean()

    @staticmethod
    def backward(g: Any, out: Any, p: Any, y: Any, needs: tuple = (True, True)) -> tuple:
        n = math.prod(p.shape)
        dp = dy = None
        if needs[0]:
            dp = g * (p - y) / Maximum.run(p * (1 - p), 1e-12) / n
        if needs[1]:
            with np.errstate(divide="ignore"):
                dy = g * (Maximum.run(Log.run(1 - p), -100.0) -
                          Maximum.run(Log.run(p), -100.0)) / n
        return dp, dy

    @staticmethod
    def jvp(t: tuple, out: np.ndarray, p: np.ndarray, y: np.ndarray) -> np.ndarray:
        dp, dy = BinaryCrossEntropy.backward(np.ones((), out.dtype), out, p, y)
        return np.vdot(dp, t[0]) + np.vdot(dy, t[1])


@composite
def matmul(a: Tensor, b: Tensor) -> Tensor:
    """a @ b with numpy's (and PyTorch's) rules for 1-D and batched operands."""
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: both operands need at least 1 dimension, got shapes "
                           f"{a.shape} and {b.shape}")
    return Matmul.apply(a, b)
