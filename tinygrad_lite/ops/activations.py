"""Activations beyond sigmoid, tanh and relu (those live in elementwise.py): GELU, ELU and CELU,
leaky ReLU, hardtanh and ReLU6, hardswish, softplus, log-sigmoid as ops; SiLU, mish and softsign
as composites. Each op's docstring gives the formula and the gradient at its kinks, which is
PyTorch's (the value its backward takes exactly at the kink)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..tensor import Function, Tensor, composite, data_of
from .blocks import blockwise, in_blocks
from .elementwise import Clamp, Erf, Exp, Sigmoid, Tanh, Where

_SQRT_2PI = math.sqrt(2 * math.pi)
_K = math.sqrt(2 / math.pi)  # GELU's tanh approximation: tanh(K (x + 0.044715 x³))


def _elementwise_jvp(op: type) -> Any:
    """The tangent rule of an elementwise op: its backward applied to the tangent."""
    return staticmethod(lambda t, out, x, **p: op.backward(t[0], out, x, **p)[0])


def _tanh_inner(x: np.ndarray) -> np.ndarray:
    """tanh(√(2/π) (x + 0.044715 x³)), a fresh array (GELU's tanh form, few temporaries)."""
    t = x * x
    t *= 0.044715 * _K
    t += _K
    t *= x
    return np.tanh(t, out=t)


def _gelu_tanh(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """x/2 (1 + tanh(√(2/π) (x + 0.044715 x³))), into `out` if given."""
    y = _tanh_inner(x)
    y += 1
    y *= x
    return np.multiply(y, 0.5, out=y if out is None else out)


def _gelu_tanh_backward(g: np.ndarray, x: np.ndarray, out: np.ndarray | None = None
                        ) -> np.ndarray:
    """g times the slope of _gelu_tanh (GELU.backward's rule, in place: two arrays)."""
    th = _tanh_inner(x)
    d = x * x  # d = x/2 K (1 + 0.134145 x²), the slope's second factor without 1 - th
    d *= 0.5 * _K * 0.134145
    d += 0.5 * _K
    d *= x
    np.subtract(1, th, out=th)
    d *= th
    d += 0.5
    np.subtract(2, th, out=th)  # 1 + tanh
    th *= d  # slope = (1 + th)(1/2 + d (1 - th))
    return np.multiply(th, g, out=th if out is None else out)


def _gelu(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """x Φ(x) = x/2 (1 + erf(x/√2)), into `out` if given."""
    return np.multiply(0.5 * x, 1 + Erf.forward(x * (1 / math.sqrt(2))), out=out)


def _gelu_backward(g: np.ndarray, x: np.ndarray, y: np.ndarray,
                   out: np.ndarray | None = None) -> np.ndarray:
    """g (Φ(x) + x φ(x)), Φ(x) = y / x from the forward's y = x Φ(x) (no second erf; Φ = ½
    where |x| < 1e-20)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        cdf = np.where(np.abs(x) > 1e-20, y / x, 0.5).astype(x.dtype, copy=False)
    return np.multiply(g, cdf + x * np.exp(-0.5 * (x * x)) * (1 / _SQRT_2PI), out=out)


class GELU(Function):
    """x Φ(x), Φ the standard normal CDF (approximate="none"), or
    x/2 (1 + tanh(√(2/π) (x + 0.044715 x³))) (approximate="tanh");
    dx = g (Φ(x) + x φ(x)) (φ the normal density), or that tanh formula's derivative"""

    @staticmethod
    def forward(x: np.ndarray, approximate: str) -> np.ndarray:
        if in_blocks(x):  # a large x in cache-sized blocks (ops/blocks.py)
            return blockwise(_gelu_tanh if approximate == "tanh" else _gelu, x)
        if approximate == "tanh":
            return _gelu_tanh(x)
        return _gelu(x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(g: Any, out: Any, x: Any, approximate: str) -> tuple:
        if approximate == "tanh" and isinstance(g, np.ndarray):
            return (blockwise(_gelu_tanh_backward, g, x),)
        if approximate == "tanh":
            th = Tanh.run(_K * (x + 0.044715 * (x * x * x)))
            slope = 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * (_K * (1 + 0.134145 * (x * x)))
            return (g * slope,)
        if isinstance(g, np.ndarray) and isinstance(x, np.ndarray) and \
                isinstance(out, np.ndarray):
            return (blockwise(_gelu_backward, g, x, out),)
        cdf = 0.5 * (1 + Erf.run(x * (1 / math.sqrt(2))))
        return (g * (cdf + x * Exp.run(-0.5 * (x * x)) * (1 / _SQRT_2PI)),)


GELU.jvp = _elementwise_jvp(GELU)


class ELU(Function):
    """x for x > 0, else alpha (e^(scale x) - 1) (ELU: scale 1; CELU: scale 1/alpha);
    dx = g for x > 0, else g alpha scale e^(scale x): at 0 that is alpha for ELU, 1 for CELU
    (PyTorch's)"""

    @staticmethod
    def forward(x: np.ndarray, alpha: float, scale: float, back_scale: float) -> np.ndarray:
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0) * scale))

    @staticmethod
    def backward(g: Any, out: Any, x: Any, alpha: float, scale: float,
                 back_scale: float) -> tuple:
        """back_scale is scale in the rule; CELU's is 1/alpha with alpha rounded to float32
        first, as PyTorch's CELU backward computes it (so gradients agree to the last bits)."""
        neg = g * (alpha * back_scale) * Exp.run(Clamp.run(x, lo=None, hi=0) * back_scale)
        return (Where.run(data_of(x) > 0, g, neg),)


ELU.jvp = _elementwise_jvp(ELU)


class LeakyReLU(Function):
    """x for x > 0, else slope x;  dx = g for x > 0, else g slope (slope at 0, PyTorch's)"""

    @staticmethod
    def forward(x: np.ndarray, slope: float) -> np.ndarray:
        return np.where(x > 0, x, x * slope)

    @staticmethod
    def backward(g: Any, out: Any, x: Any, slope: float) -> tuple:
        return (g * np.where(data_of(x) > 0, 1, slope).astype(g.dtype, copy=False),)


LeakyReLU.jvp = _elementwise_jvp(LeakyReLU)


class Hardtanh(Function):
    """min(max(x, lo), hi);  dx = g where lo < x < hi, 0 elsewhere: 0 AT the bounds (PyTorch's
    hardtanh and relu6 rule; clamp passes g at its bounds)"""
    forward = staticmethod(lambda x, lo, hi: np.clip(x, lo, hi))

    @staticmethod
    def backward(g: Any, out: Any, x: Any, lo: float, hi: float) -> tuple:
        xd = data_of(x)
        return (g * ((xd > lo) & (xd < hi)).astype(g.dtype, copy=False),)


Hardtanh.jvp = _elementwise_jvp(Hardtanh)


class Hardswish(Function):
    """x relu6(x + 3) / 6;  dx = 0 for x <= -3, g (x/3 + 1/2) for -3 < x < 3, g for x >= 3
    (so 0 at -3 and 1 at 3, PyTorch's)"""
    forward = staticmethod(lambda x: x * np.clip(x + 3, 0, 6) / 6)

    @staticmethod
    def backward(g: Any, out: Any, x: Any) -> tuple:
        xd = data_of(x)
        middle, high = (xd > -3) & (xd < 3), (xd >= 3).astype(g.dtype)
        return (g * Where.run(middle, x * (1 / 3) + 0.5, high),)


Hardswish.jvp = _elementwise_jvp(Hardswish)


class Softplus(Function):
    """ln(1 + e^(beta x)) / beta, or x where beta x > threshold (PyTorch's switch to linear);
    dx = g σ(beta x), or g where beta x > threshold"""

    @staticmethod
    def forward(x: np.ndarray, beta: float, threshold: float) -> np.ndarray:
        return np.where(x * beta > threshold, x, np.logaddexp(0, x * beta) / beta)

    @staticmethod
    def backward(g: Any, out: Any, x: Any, beta: float, threshold: float) -> tuple:
        return (Where.run(data_of(x) * beta > threshold, g, g * Sigmoid.run(x * beta)),)


Softplus.jvp = _elementwise_jvp(Softplus)


class LogSigmoid(Function):
    """ln σ(x) = -ln(1 + e^-x), computed stably;  dx = g σ(-x) = g (1 - σ(x))"""
    forward = staticmethod(lambda x: -np.logaddexp(0, -x))
    backward = staticmethod(lambda g, out, x: (g * Sigmoid.run(-x),))
    jvp = staticmethod(lambda t, out, x: t[0] * Sigmoid.forward(-x))


@composite
def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x Φ(x) (torch.nn.functional.gelu); approximate="tanh" for the tanh formula."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(x, approximate=approximate)


@composite
def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x for x > 0, else alpha (e^x - 1)."""
    return ELU.apply(x, alpha=float(alpha), scale=1.0, back_scale=1.0)


@composite
def celu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x for x > 0, else alpha (e^(x/alpha) - 1); alpha must not be 0."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (it divides x)")
    return ELU.apply(x, alpha=float(alpha), scale=1 / alpha,
                     back_scale=1 / float(np.float32(alpha)))


@composite
def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x for x > 0, else negative_slope x."""
    return LeakyReLU.apply(x, slope=float(negative_slope))


@composite
def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """x clipped to [min_val, max_val], gradient 0 at the bounds."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val {min_val} must not exceed max_val {max_val}")
    return Hardtanh.apply(x, lo=min_val, hi=max_val)


@composite
def relu6(x: Tensor) -> Tensor:
    """min(max(x, 0), 6): hardtanh(x, 0, 6)."""
    return Hardtanh.apply(x, lo=0.0, hi=6.0)


@composite
def hardswish(x: Tensor) -> Tensor:
    """x relu6(x + 3) / 6."""
    return Hardswish.apply(x)


@composite
def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """ln(1 + e^(beta x)) / beta, linear (x) where beta x > threshold."""
    return Softplus.apply(x, beta=float(beta), threshold=float(threshold))


@composite
def logsigmoid(x: Tensor) -> Tensor:
    """ln σ(x), stable for large |x|."""
    return LogSigmoid.apply(x)


@composite
def silu(x: Tensor) -> Tensor:
    """x σ(x) (also called swish): dx = σ(x)(1 + x (1 - σ(x))), 1/2 at 0."""
    return x * x.sigmoid()


@composite
def mish(x: Tensor) -> Tensor:
    """x tanh(softplus(x)): dx = tanh(sp) + x σ(x) (1 - tanh²(sp)), 0.6 at 0."""
    return x * Softplus.apply(x, beta=1.0, threshold=math.inf).tanh()


@composite
def softsign(x: Tensor) -> Tensor:
    """x / (1 + |x|): dx = 1 / (1 + |x|)², 1 at 0."""
    return x / (x.abs() + 1)
