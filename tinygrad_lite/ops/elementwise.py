"""Elementwise ops: arithmetic, the activations, clamp, abs, maximum, where, cast,
comparisons. Each op: forward, backward (g is dC/d(out)) and jvp (the tangent rule) side by side,
the formula in its docstring."""
from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

from ..errors import ShapeError
from ..tensor import (Function, Tensor, composite, data_of, is_grad_enabled, kernel, mark_changed,
                      operand)
from .blocks import blockwise, in_blocks


class Add(Function):
    """a + b;  da = g,  db = g;  d(out) = da + db"""
    forward = staticmethod(lambda a, b: a + b)
    backward = staticmethod(lambda g, out, a, b: (g, g))
    jvp = staticmethod(lambda t, out, a, b: t[0] + t[1])


class Sub(Function):
    """a - b;  da = g,  db = -g;  d(out) = da - db"""
    forward = staticmethod(lambda a, b: a - b)
    backward = staticmethod(lambda g, out, a, b: (g, -g))
    jvp = staticmethod(lambda t, out, a, b: t[0] - t[1])


class Mul(Function):
    """a * b;  da = g b,  db = g a;  d(out) = da b + a db"""
    forward = staticmethod(lambda a, b: a * b)
    backward = staticmethod(lambda g, out, a, b: (g * b, g * a))
    jvp = staticmethod(lambda t, out, a, b: t[0] * b + a * t[1])


class Div(Function):
    """a / b;  da = g / b,  db = -g a / b² = -g out / b;  d(out) = (da - out db) / b"""
    forward = staticmethod(lambda a, b: a / b)
    backward = staticmethod(lambda g, out, a, b: (g / b, -(g * out) / b))
    jvp = staticmethod(lambda t, out, a, b: (t[0] - out * t[1]) / b)


class Neg(Function):
    """-x;  dx = -g;  d(out) = -dx"""
    forward = staticmethod(lambda x: -x)
    backward = staticmethod(lambda g, out, x: (-g,))
    jvp = staticmethod(lambda t, out, x: -t[0])


class Pow(Function):
    """x ** p for a constant p;  dx = g p x^(p-1), 0 for p = 0 (PyTorch's, also at x = 0 where
    the formula is 0·∞);  d(out) = p x^(p-1) dx"""

    @staticmethod
    def forward(x: np.ndarray, p: float) -> np.ndarray:
        return x * x if p == 2 else x**p

    @staticmethod
    def backward(g: Any, out: Any, x: Any, p: float) -> tuple:
        if p == 0:
            return (g * 0,)
        return (g * (2 * x) if p == 2 else g * p * x ** (p - 1),)

    @staticmethod
    def jvp(t: tuple, out: np.ndarray, x: np.ndarray, p: float) -> np.ndarray:
        return Pow.backward(t[0], out, x, p)[0]


class Exp(Function):
    """e^x;  dx = g e^x = g out;  d(out) = out dx"""
    forward = staticmethod(lambda x: np.exp(x))
    backward = staticmethod(lambda g, out, x: (g * out,))
    jvp = staticmethod(lambda t, out, x: t[0] * out)


class Log(Function):
    """ln x;  dx = g / x;  d(out) = dx / x"""
    forward = staticmethod(lambda x: np.log(x))
    backward = staticmethod(lambda g, out, x: (g / x,))
    jvp = staticmethod(lambda t, out, x: t[0] / x)


class Sigmoid(Function):
    """σ(x) = 1 / (1 + e^-x);  dx = g σ(x)(1 - σ(x))  (BP1/BP2's σ'(z));  d(out) = σ'(x) dx

    e^-x overflows to inf for x below about -88 (float32) or -709 (float64); 1/(1+inf) is then
    exactly 0, the correct limit, so the overflow warning is silenced rather than the input clipped.
    """

    @staticmethod
    @np.errstate(over="ignore")
    def forward(x: np.ndarray) -> np.ndarray:
        if in_blocks(x):  # a large x in cache-sized blocks (ops/blocks.py)
            return blockwise(lambda x, out: np.divide(1, 1 + np.exp(-x), out=out), x)
        return 1 / (1 + np.exp(-x))

    @staticmethod
    def backward(g: Any, out: Any, x: Any) -> tuple:
        if in_blocks(g, out):
            return (blockwise(lambda g, s, into: np.multiply(g * s, 1 - s, out=into), g, out),)
        return (g * out * (1 - out),)  # small, or Tensors (create_graph)

    jvp = staticmethod(lambda t, out, x: t[0] * out * (1 - out))


class ReLU(Function):
    """max(x, 0);  dx = g [x > 0];  d(out) = [x > 0] dx"""
    forward = staticmethod(lambda x: np.maximum(x, 0))
    backward = staticmethod(lambda g, out, x: (g * (data_of(x) > 0),))
    jvp = staticmethod(lambda t, out, x: t[0] * (x > 0))


class Tanh(Function):
    """tanh x;  dx = g (1 - tanh² x);  d(out) = (1 - out²) dx"""
    forward = staticmethod(lambda x: np.tanh(x))
    backward = staticmethod(lambda g, out, x: (g * (1 - out * out),))
    jvp = staticmethod(lambda t, out, x: t[0] * (1 - out * out))


def _inside(x: np.ndarray, lo: Any, hi: Any) -> np.ndarray:
    """lo <= x <= hi (a bound of None is no bound): where clamp passes x through."""
    keep = np.ones(x.shape, bool)
    if lo is not None:
        keep &= x >= lo
    if hi is not None:
        keep &= x <= hi
    return keep


class Clamp(Function):
    """min(max(x, lo), hi);  dx = g where lo <= x <= hi, else 0;  d(out) likewise from dx"""

    @staticmethod
    def forward(x: np.ndarray, lo: float | None, hi: float | None) -> np.ndarray:
        return np.clip(x, lo, hi)

    backward = staticmethod(lambda g, out, x, lo, hi: (g * _inside(data_of(x), lo, hi),))
    jvp = staticmethod(lambda t, out, x, lo, hi: t[0] * _inside(x, lo, hi))


class Abs(Function):
    """|x|;  dx = g sign(x) (0 at 0, as PyTorch);  d(out) = sign(x) dx"""
    forward = staticmethod(lambda x: np.abs(x))
    backward = staticmethod(lambda g, out, x: (g * np.sign(data_of(x)),))
    jvp = staticmethod(lambda t, out, x: t[0] * np.sign(x))


def _shares(a: np.ndarray, b: np.ndarray, dtype: np.dtype, mirrored: bool) -> tuple:
    """Where max(a, b)'s gradient goes (min's if mirrored): 1 to the larger (smaller), 1/2 each
    on ties, 1 to both on NaN."""
    if mirrored:  # a's share in min(a, b) is its share in max(b, a) with the roles swapped
        return _shares(b, a, dtype, False)
    tie = a == b
    return (np.where(tie, 0.5, ~(a < b)).astype(dtype, copy=False),
            np.where(tie, 0.5, ~(a > b)).astype(dtype, copy=False))


class Maximum(Function):
    """max(a, b) elementwise (NaN if either is);
    da = g where a > b, g/2 where a = b (PyTorch's even split on ties);  db likewise;
    d(out) = da or db by the same shares"""
    mirrored = False
    forward = staticmethod(lambda a, b: np.maximum(a, b))

    @classmethod
    def backward(cls, g: Any, out: Any, a: Any, b: Any) -> tuple:
        sa, sb = _shares(data_of(a), data_of(b), g.dtype, cls.mirrored)
        return g * sa, g * sb

    @classmethod
    def jvp(cls, t: tuple, out: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        sa, sb = _shares(a, b, out.dtype, cls.mirrored)
        return t[0] * sa + t[1] * sb


class Minimum(Maximum):
    """min(a, b) elementwise (NaN if either is);
    da = g where a < b, g/2 where a = b (PyTorch's even split on ties);  db likewise;
    d(out) = da or db by the same shares (Maximum's rules, mirrored)"""
    mirrored = True
    forward = staticmethod(lambda a, b: np.minimum(a, b))


class Where(Function):
    """a where cond, else b;  da = g where cond (0 elsewhere),  db = g where not cond;
    d(out) = da where cond, else db"""
    forward = staticmethod(lambda cond, a, b: np.where(cond, a, b))

    @staticmethod
    def backward(g: Any, out: Any, cond: Any, a: Any, b: Any) -> tuple:
        zero = np.zeros((), g.dtype)
        return None, Where.run(cond, g, zero), Where.run(cond, zero, g)

    jvp = staticmethod(lambda t, out, cond, a, b: np.where(cond, t[1], t[2]))


class Cast(Function):
    """x as another float dtype;  dx = g cast back to x's dtype;  d(out) = dx cast"""
    forward = staticmethod(lambda x, dtype: x.astype(dtype))
    backward = staticmethod(lambda g, out, x, dtype: (Cast.run(g, dtype=x.dtype),))
    jvp = staticmethod(lambda t, out, x, dtype: t[0].astype(dtype))


class Compare(Function):
    """a op b elementwise for op in eq ne lt le gt ge: a bool result, no gradient"""
    forward = staticmethod(lambda a, b, op: np.asarray(getattr(operator, op)(a, b)))


@composite
def compare(x: Tensor, y: Any, op: str, strict: bool) -> Any:
    """x op y broadcasting (a bool tensor); a y that is not a number or array gives
    NotImplemented (so x == None is False), or a TypeError if `strict` (x.eq(None))."""
    if not isinstance(y, (Tensor, np.ndarray, np.generic, bool, int, float, list, tuple)):
        if strict:
            raise TypeError(f"{op}: cannot compare a Tensor with {type(y).__name__}")
        return NotImplemented
    y = operand(x, y)
    try:
        return Compare.apply(x, y, op=op)
    except ValueError:
        raise ShapeError(f"{op}: the shapes {x.shape} and {y.shape} do not broadcast") from None


@composite
def where(condition: Any, input: Any, other: Any) -> Tensor:
    """input where condition is true, else other, broadcasting all three (torch.where)."""
    cond = condition if isinstance(condition, Tensor) else Tensor(np.asarray(condition))
    if cond.dtype != np.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got {cond.dtype}")
    if not isinstance(input, Tensor):
        input = operand(other, input) if isinstance(other, Tensor) else Tensor(input)
    return Where.apply(cond, input, operand(input, other))


def maximum(input: Tensor, other: Any) -> Tensor:
    return input.maximum(other)


def minimum(input: Tensor, other: Any) -> Tensor:
    return input.minimum(other)


@composite
def power(x: Tensor, p: Any) -> Tensor:
    """x ** p: Pow for a constant number p, PowTensor for a tensor (or array) exponent."""
    if isinstance(p, (int, float, np.integer, np.floating)):
        return Pow.apply(x, p=float(p) if isinstance(p, np.floating) else p)
    if not isinstance(p, (Tensor, np.ndarray, list, tuple)):
        raise TypeError(f"Tensor ** p needs a number or a tensor p, got {type(p).__name__}")
    return PowTensor.apply(*_float_pair(x, operand(x, p)))


@composite
def rpower(base: Any, x: Tensor) -> Tensor:
    """base ** x for a number (or array) base: PowTensor (for base > 0 that is e^(x ln base))."""
    if not isinstance(base, (int, float, np.integer, np.floating, np.ndarray, list, tuple)):
        raise TypeError(f"b ** Tensor needs a number or an array b, got {type(base).__name__}")
    return PowTensor.apply(*_float_pair(operand(x, base), x))


def _float_pair(a: Tensor, b: Tensor) -> tuple:
    """a and b in one dtype, PyTorch's: the wider float of the two, else a float one's (float32
    ** int64 is float32), else their common integer type."""
    floats = [t.dtype for t in (a, b) if t.dtype.kind == "f"]
    dtype = np.result_type(*floats) if floats else np.result_type(a.dtype, b.dtype)
    return (a if a.dtype == dtype else a.to(dtype)), (b if b.dtype == dtype else b.to(dtype))


# --- more math: trigonometry, rounding, sign, base-2 logs and powers, roots, erf ---------------


class Sin(Function):
    """sin x;  dx = g cos x;  d(out) = cos x dx"""
    forward = staticmethod(lambda x: np.sin(x))
    backward = staticmethod(lambda g, out, x: (g * Cos.run(x),))
    jvp = staticmethod(lambda t, out, x: t[0] * np.cos(x))


class Cos(Function):
    """cos x;  dx = -g sin x;  d(out) = -sin x dx"""
    forward = staticmethod(lambda x: np.cos(x))
    backward = staticmethod(lambda g, out, x: (-(g * Sin.run(x)),))
    jvp = staticmethod(lambda t, out, x: -(t[0] * np.sin(x)))


class Tan(Function):
    """tan x;  dx = g (1 + tan² x);  d(out) = (1 + out²) dx"""
    forward = staticmethod(lambda x: np.tan(x))
    backward = staticmethod(lambda g, out, x: (g * (1 + out * out),))
    jvp = staticmethod(lambda t, out, x: t[0] * (1 + out * out))


class Rounding(Function):
    """floor, ceil, trunc (round toward 0) or sign of x (`kind`), a step function, in x's dtype;
    dx = 0 everywhere, also at the steps (PyTorch's);  d(out) = 0"""
    forward = staticmethod(lambda x, kind: getattr(np, kind)(x).astype(x.dtype, copy=False))
    backward = staticmethod(lambda g, out, x, kind: (g * 0,))
    jvp = staticmethod(lambda t, out, x, kind: t[0] * 0)


class Log2(Function):
    """log₂ x;  dx = g / (x ln 2) (∞ at 0, as PyTorch);  d(out) = dx / (x ln 2)"""
    forward = staticmethod(lambda x: np.log2(x))
    backward = staticmethod(lambda g, out, x: (g / (x * math.log(2)),))
    jvp = staticmethod(lambda t, out, x: t[0] / (x * math.log(2)))


class Exp2(Function):
    """2^x;  dx = g 2^x ln 2 = g out ln 2;  d(out) = out ln 2 dx"""
    forward = staticmethod(lambda x: np.exp2(x))
    backward = staticmethod(lambda g, out, x: (g * out * math.log(2),))
    jvp = staticmethod(lambda t, out, x: t[0] * out * math.log(2))


class Sqrt(Function):
    """√x;  dx = g / (2 √x) (∞ at 0, as PyTorch);  d(out) = dx / (2 out)"""
    forward = staticmethod(lambda x: np.sqrt(x))
    backward = staticmethod(lambda g, out, x: (g / (2 * out),))
    jvp = staticmethod(lambda t, out, x: t[0] / (2 * out))


class Rsqrt(Function):
    """1/√x;  dx = -g / (2 x^(3/2)) = -g out³ / 2 (-∞ at 0, as PyTorch);  d(out) = -out³ dx / 2"""
    forward = staticmethod(lambda x: 1 / np.sqrt(x))
    backward = staticmethod(lambda g, out, x: (-0.5 * g * (out * out * out),))
    jvp = staticmethod(lambda t, out, x: -0.5 * t[0] * (out * out * out))


class PowTensor(Function):
    """a ** b with a tensor exponent (torch.pow(a, b));
    da = g b a^(b-1), 0 where b = 0;  db = g a^b ln a, 0 where a = 0 and b >= 0 (PyTorch's
    rules: no 0·∞ at a = 0);  d(out) = da-rule · da + db-rule · db"""
    forward = staticmethod(lambda a, b: np.power(a, b))

    @staticmethod
    @np.errstate(divide="ignore", invalid="ignore")
    def backward(g: Any, out: Any, a: Any, b: Any) -> tuple:
        zero = np.zeros((), g.dtype)
        ad, bd = data_of(a), data_of(b)
        ga = Where.run(bd == 0, zero, g * b * PowTensor.run(a, b - 1))
        gb = Where.run((ad == 0) & (bd >= 0), zero, g * out * Log.run(a))
        return ga, gb

    @staticmethod
    def jvp(t: tuple, out: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        da, db = PowTensor.backward(np.ones_like(out), out, a, b)
        return t[0] * da + t[1] * db


_ERF_STEP = 1 / 32  # the grid of _erf's table: x0 = k/32 for k = 0..192 (0 to 6)
_ERF_ORDER = 8       # Taylor terms about the nearest x0 (|x - x0| <= 1/64)


def _erf_table() -> np.ndarray:
    """Row k: the Taylor coefficients erf⁽ʲ⁾(x0)/j! of erf about x0 = k/32, j = 0..7, from
    erf⁽ʲ⁾(x) = 2/√π (-1)ʲ⁻¹ Hⱼ₋₁(x) e^(-x²) (Hermite: H₀ = 1, H₁ = 2x,
    Hₙ₊₁ = 2x Hₙ - 2n Hₙ₋₁) and erf(x0) from math.erf."""
    x0 = np.arange(193) * _ERF_STEP
    table = np.empty((len(x0), _ERF_ORDER))
    table[:, 0] = [math.erf(v) for v in x0]
    h_prev, h = np.zeros_like(x0), np.ones_like(x0)
    for j in range(1, _ERF_ORDER):
        table[:, j] = (2 / math.sqrt(math.pi) * (-1) ** (j - 1) * h * np.exp(-x0 * x0)
                       / math.factorial(j))
        h_prev, h = h, 2 * x0 * h - 2 * (j - 1) * h_prev
    return table


_ERF_TABLE = _erf_table() * _ERF_STEP ** np.arange(_ERF_ORDER)  # in powers of (x - x0) * 32
# float32 needs 5 terms (remainder below 1e-9), float64 all 8
_ERF_COLUMNS = {np.dtype(t): [np.ascontiguousarray(c, t) for c in _ERF_TABLE.T[:n]]
                for t, n in ((np.float32, 5), (np.float64, _ERF_ORDER))}


def _erf(x: np.ndarray) -> np.ndarray:
    """erf x to the precision of x's dtype (float64: about 1e-16), vectorised, without scipy:
    the Taylor series about the nearest point x0 = k/32 of a table (8 terms, 5 for float32;
    the remainder is below 1e-17 since |x - x0| <= 1/64), by Horner's rule in u = 32 (x - x0);
    erf(|x| >= 6) = 1 to float64."""
    x = np.asarray(x)
    shape, x = x.shape, x.reshape(-1)
    dtype = x.dtype if x.dtype in _ERF_COLUMNS else np.dtype(np.float64)
    t = np.abs(x.astype(dtype, copy=False))
    np.minimum(t, 6, out=t)
    nan = np.isnan(t)
    has_nan = bool(nan.any())
    if has_nan:
        t[nan] = 0
    t *= 1 / _ERF_STEP
    k = np.rint(t)
    u = np.subtract(t, k, out=t)
    k = k.astype(np.intp)
    columns = _ERF_COLUMNS[dtype]
    total = columns[-1].take(k)
    for column in columns[-2::-1]:
        total *= u
        total += column.take(k)
    out = np.copysign(total, x, out=total)
    if has_nan:
        out[nan] = np.nan
    return out.reshape(shape)


class Erf(Function):
    """erf x = 2/√π ∫₀ˣ e^(-t²) dt;  dx = g 2/√π e^(-x²);  d(out) = 2/√π e^(-x²) dx"""
    forward = staticmethod(lambda x: _erf(x).astype(x.dtype, copy=False))
    backward = staticmethod(lambda g, out, x: (g * Exp.run(-(x * x)) * (2 / math.sqrt(math.pi)),))
    jvp = staticmethod(lambda t, out, x: t[0] * np.exp(-x * x) * (2 / math.sqrt(math.pi)))


@composite
def pow(input: Any, exponent: Any) -> Tensor:
    """input ** exponent (torch.pow), either a tensor or a number; both tensors: PowTensor."""
    if isinstance(input, Tensor):
        return power(input, exponent)
    return rpower(input, exponent)


# --- in place: x += y, x.add_(y), fill_, copy_, clamp_ ---------------------------------------

UPDATES = {"add_": np.add, "sub_": np.subtract, "mul_": np.multiply, "div_": np.true_divide}


def _write(dst: np.ndarray, src: np.ndarray, fn: Any) -> None:
    """dst = fn(dst, src) in place, dst keeping its dtype (a kernel, so capture repeats it)."""
    fn(dst, src, out=dst, casting="same_kind")


def _assign(dst: np.ndarray, src: np.ndarray) -> None:
    np.copyto(dst, src, casting="unsafe")  # as PyTorch's fill_ and copy_ (2.5 into ints: 2)


def _clip(dst: np.ndarray, lo: Any, hi: Any) -> None:
    np.clip(dst, lo, hi, out=dst, casting="same_kind")


def _into(x: Tensor, name: str, fn: Any, *args: Any) -> Tensor:
    """Run the kernel fn(x's array, *args), which writes into it; then date x's change."""
    dst = data_of(x)
    try:
        kernel(fn, dst, *args)
    except TypeError:  # numpy's UFuncTypeError: the result's dtype does not fit x's
        kind = args[1](dst[:0], np.asarray(args[0])).dtype if fn is _write else "float"
        raise RuntimeError(f"{name}: a result of dtype {kind} can't be cast to the desired "
                           f"output type {dst.dtype}") from None
    except ValueError as e:
        raise ShapeError(f"{name}: the values cannot be written into a tensor of shape "
                         f"{dst.shape} ({e})") from None
    kernel(mark_changed, x)  # graphs that saved x's old values are refused at backward
    return x


def _in_place(x: Tensor, other: Any, name: str) -> bool:
    """Whether x can change in place, PyTorch's rule: never a leaf that requires grad while
    grad mode is on (a RuntimeError); an op result with a graph, or a value that would join
    x to a graph, is not changed in place here (the caller decides)."""
    if not is_grad_enabled():
        return True
    if x.requires_grad and x.is_leaf:
        raise RuntimeError(f"{name}: a leaf Tensor that requires grad is being used in an "
                           "in-place operation; do it under `with no_grad():`")
    return not x.requires_grad and not (isinstance(other, Tensor) and other.requires_grad)


@composite
def update_(x: Tensor, name: str, other: Any, alpha: float = 1, augmented: bool = False
            ) -> Tensor:
    """x.add_(y, alpha=a) is x += a y, likewise sub_, mul_, div_, in place (see _in_place).
    For `x += y` (augmented) where x cannot change in place, the result is x + y, a new tensor
    the name is bound to, as Python does for immutable values."""
    if not _in_place(x, other, name):
        if augmented:  # x op y as a new tensor, bound to the name by Python
            return {"add_": operator.add, "sub_": operator.sub, "mul_": operator.mul,
                    "div_": operator.truediv}[name](x, other)
        raise RuntimeError(f"{name}: in place on a tensor with a graph (or with a value that "
                           f"requires grad) is not supported; write x = x {name[:3]} y")
    y = data_of(operand(x, other))
    return _into(x, name, _write, y if alpha == 1 else y * alpha, UPDATES[name])


@composite
def fill_(x: Tensor, value: Any) -> Tensor:
    """Every element of x set to value, in place (zero_ is fill_(0))."""
    _in_place(x, None, "fill_") or _refuse("fill_")
    return _into(x, "fill_", _assign, np.asarray(data_of(value)))


@composite
def copy_(x: Tensor, src: Any) -> Tensor:
    """x's values replaced by src's (broadcast to x's shape, cast to x's dtype), in place."""
    _in_place(x, src, "copy_") or _refuse("copy_")
    return _into(x, "copy_", _assign, np.asarray(data_of(src)))


@composite
def clamp_(x: Tensor, min: float | None = None, max: float | None = None) -> Tensor:
    """x clamped to [min, max] in place."""
    if min is None and max is None:
        raise ValueError("clamp_: give min, max or both")
    _in_place(x, None, "clamp_") or _refuse("clamp_")
    return _into(x, "clamp_", _clip, min, max)


def _refuse(name: str) -> None:
    raise RuntimeError(f"{name}: in place on a tensor with a graph is not supported; make a new "
                       "tensor instead")
