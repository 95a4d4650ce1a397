"""The engine: `Tensor`, its ops (each op's forward and backward side by side), and `backward()`.

An op is a `Function` with two pure numpy functions:

    forward(*arrays, **params) -> out
    backward(g, out, *arrays, **params) -> one gradient (or None) per input array

`g` is dC/d(out) for the final scalar C. Each gradient has the shape of the broadcast result;
the engine sums it back to its input's shape in one place (`_unbroadcast`), so no op does.
Because forward and backward see only arrays and constants, a training step made of them can be
recorded once and replayed (see `tinygrad_lite.capture`).
"""
from __future__ import annotations

import itertools
import math
import operator
from typing import Any, Callable, NamedTuple

import numpy as np

_grad_enabled = True
_recorder = None  # a capture.Recorder while a step is being captured, else None
_next_number = itertools.count().__next__
_creation_order = operator.attrgetter("_n")


def _call(fn: Callable, *args: Any, **params: Any) -> Any:
    """Run one kernel; while a step is being captured, also record it."""
    out = fn(*args, **params)
    if _recorder is not None:
        _recorder.record(fn, args, params, out)
    return out


class no_grad:
    """Context manager and decorator under which ops record no graph (like torch.no_grad)."""

    def __enter__(self) -> None:
        global _grad_enabled
        self._prev, _grad_enabled = _grad_enabled, False

    def __exit__(self, *exc: Any) -> None:
        global _grad_enabled
        _grad_enabled = self._prev

    def __call__(self, fn: Callable) -> Callable:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with no_grad():
                return fn(*args, **kwargs)

        wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
        return wrapper


def is_grad_enabled() -> bool:
    return _grad_enabled


# ----------------------------------------------------------------------------------------------
# Ops. Docstrings give the formula; g is the incoming gradient dC/d(out).


class Function:
    """Base class of every op: subclasses define static `forward` and `backward`."""

    @classmethod
    def apply(cls, *tensors: "Tensor", **params: Any) -> "Tensor":
        arrays = [t.data for t in tensors]
        try:
            out = cls.forward(*arrays, **params)
        except ValueError as e:
            shapes = " and ".join(str(t.shape) for t in tensors)
            plural = "s" if len(tensors) > 1 else ""
            raise ValueError(f"{cls.__name__.lower()} of shape{plural} {shapes}: {e}") from None
        if out.__class__ is not np.ndarray:  # numpy returns scalars for 0-d results
            out = np.asarray(out)
        if _recorder is not None:
            _recorder.record(cls.forward, arrays, params, out)
        if _grad_enabled:
            for t in tensors:
                if t.requires_grad:
                    return Tensor._make(out, (cls, tensors, arrays, params))
        return Tensor._make(out, None)


class Add(Function):
    """a + b;  da = g,  db = g"""
    forward = staticmethod(lambda a, b: a + b)
    backward = staticmethod(lambda g, out, a, b: (g, g))


class Sub(Function):
    """a - b;  da = g,  db = -g"""
    forward = staticmethod(lambda a, b: a - b)
    backward = staticmethod(lambda g, out, a, b: (g, -g))


class Mul(Function):
    """a * b;  da = g b,  db = g a"""
    forward = staticmethod(lambda a, b: a * b)
    backward = staticmethod(lambda g, out, a, b: (g * b, g * a))


class Div(Function):
    """a / b;  da = g / b,  db = -g a / b² = -g out / b"""
    forward = staticmethod(lambda a, b: a / b)
    backward = staticmethod(lambda g, out, a, b: (g / b, -(g * out) / b))


class Neg(Function):
    """-x;  dx = -g"""
    forward = staticmethod(lambda x: -x)
    backward = staticmethod(lambda g, out, x: (-g,))


class Pow(Function):
    """x ** p for a constant p;  dx = g p x^(p-1)"""

    @staticmethod
    def forward(x: np.ndarray, p: float) -> np.ndarray:
        return x * x if p == 2 else x**p

    @staticmethod
    def backward(g: np.ndarray, out: np.ndarray, x: np.ndarray, p: float) -> tuple:
        return (g * (2 * x) if p == 2 else g * p * x ** (p - 1),)


class Exp(Function):
    """e^x;  dx = g e^x = g out"""
    forward = staticmethod(lambda x: np.exp(x))
    backward = staticmethod(lambda g, out, x: (g * out,))


class Log(Function):
    """ln x;  dx = g / x"""
    forward = staticmethod(lambda x: np.log(x))
    backward = staticmethod(lambda g, out, x: (g / x,))


class Sigmoid(Function):
    """σ(x) = 1 / (1 + e^-x);  dx = g σ(x)(1 - σ(x))  (BP1/BP2's σ'(z))

    e^-x overflows to inf for x below about -88 (float32) or -709 (float64); 1/(1+inf) is then
    exactly 0, the correct limit, so the overflow warning is silenced rather than the input clipped.
    """

    @staticmethod
    @np.errstate(over="ignore")
    def forward(x: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-x))

    @staticmethod
    def backward(g: np.ndarray, out: np.ndarray, x: np.ndarray) -> tuple:
        return (g * out * (1 - out),)


class ReLU(Function):
    """max(x, 0);  dx = g [x > 0]"""
    forward = staticmethod(lambda x: np.maximum(x, 0))
    backward = staticmethod(lambda g, out, x: (g * (x > 0),))


class Tanh(Function):
    """tanh x;  dx = g (1 - tanh² x)"""
    forward = staticmethod(lambda x: np.tanh(x))
    backward = staticmethod(lambda g, out, x: (g * (1 - out * out),))


class Clamp(Function):
    """min(max(x, lo), hi);  dx = g where lo <= x <= hi, else 0"""

    @staticmethod
    def forward(x: np.ndarray, lo: float | None, hi: float | None) -> np.ndarray:
        return np.clip(x, lo, hi)

    @staticmethod
    def backward(g: np.ndarray, out: np.ndarray, x: np.ndarray, lo: Any, hi: Any) -> tuple:
        keep = np.ones(x.shape, bool)
        if lo is not None:
            keep &= x >= lo
        if hi is not None:
            keep &= x <= hi
        return (g * keep,)


class Matmul(Function):
    """a @ b;  da = g @ bᵀ,  db = aᵀ @ g

    A 1-D operand is a row (for a) or column (for b) vector, as numpy defines matmul; `needs`
    says which inputs want a gradient, so x @ W skips dC/dx for the data x.
    """

    @staticmethod
    def forward(a: np.ndarray, b: np.ndarray, needs: tuple = (True, True)) -> np.ndarray:
        return a @ b

    @staticmethod
    def backward(g: np.ndarray, out: np.ndarray, a: np.ndarray, b: np.ndarray,
                 needs: tuple = (True, True)) -> tuple:
        if a.ndim == 2 and b.ndim == 2:
            return (g @ b.T if needs[0] else None, a.T @ g if needs[1] else None)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g[..., None] if b.ndim == 1 else g
        g2 = g2[..., None, :] if a.ndim == 1 else g2
        ga = gb = None
        if needs[0]:
            ga = g2 @ b2.swapaxes(-1, -2)
            ga = ga[..., 0, :] if a.ndim == 1 else ga
        if needs[1]:
            gb = a2.swapaxes(-1, -2) @ g2
            gb = gb[..., 0] if b.ndim == 1 else gb
        return ga, gb


class Affine(Function):
    """x @ Wᵀ + b (nn.Linear's op), W (out, in), b (out,);  dx = g @ W,  dW = gᵀ @ x,  db = Σ_rows g

    x may be one example (in,) or rows (..., in); `needs` says which inputs want a gradient.
    """

    @staticmethod
    def forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, needs: tuple) -> np.ndarray:
        return x @ w.T + b

    @staticmethod
    def backward(g: np.ndarray, out: np.ndarray, x: np.ndarray, w: np.ndarray, b: np.ndarray,
                 needs: tuple) -> tuple:
        if x.ndim == 2:
            gx = g @ w if needs[0] else None
        else:  # one example (in,) or rows (..., in): flatten to (rows, in) and back
            gx = (g @ w).reshape(x.shape) if needs[0] else None
            g, x = g.reshape(-1, w.shape[0]), x.reshape(-1, w.shape[1])
        return gx, (g.T @ x if needs[1] else None), (g.sum(axis=0) if needs[2] else None)


class SquaredError(Function):
    """c Σ (a - y)²  (c = 1/2n: the seed's quadratic cost; c = 1/size: MSE);
    da = 2c g (a - y),  dy = -da  (`needs` says which inputs want a gradient)"""

    @staticmethod
    def forward(a: np.ndarray, y: np.ndarray, c: float, needs: tuple) -> np.ndarray:
        d = a - y
        return np.vdot(d, d) * c if d.dtype.kind == "f" else (d * d).sum() * c

    @staticmethod
    def backward(g: np.ndarray, out: np.ndarray, a: np.ndarray, y: np.ndarray, c: float,
                 needs: tuple) -> tuple:
        da = (a - y) * (2 * c * float(g))  # g is the scalar dC/d(out)
        return (da if needs[0] else None), (-da if needs[1] else None)


class BinaryCrossEntropy(Function):
    """mean(-(y ln p + (1 - y) ln(1 - p))), each log clamped at -100;
    dp = g (p - y) / max(p (1 - p), 1e-12) / size  (PyTorch's formulas: finite when p is 0 or 1)"""

    @staticmethod
    def forward(p: np.ndarray, y: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            logs = np.maximum(np.log(p), -100), np.maximum(np.log1p(-p), -100)
        return -(y * logs[0] + (1 - y) * logs[1]).mean()

    @staticmethod
    def backward(g: np.ndarray, out: np.ndarray, p: np.ndarray, y: np.ndarray) -> tuple:
        dp = g * (p - y) / np.maximum(p * (1 - p), 1e-12) / p.size
        with np.errstate(divide="ignore"):
            dy = g * (np.maximum(np.log1p(-p), -100) - np.maximum(np.log(p), -100)) / p.size
        return dp, dy


class Sum(Function):
    """Σ x over `axis`;  dx = g broadcast back over the summed axes"""

    @staticmethod
    def forward(x: np.ndarray, axis: Any, keepdims: bool) -> np.ndarray:
        return x.sum(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(g: np.ndarray, out: np.ndarray, x: np.ndarray, axis: Any, keepdims: bool) -> tuple:
        if axis is not None and not keepdims:
            g = np.expand_dims(g, axis)
        dx = np.empty(x.shape, g.dtype)
        dx[...] = g
        return (dx,)


class Reshape(Function):
    """x viewed with a new shape;  dx = g reshaped back"""
    forward = staticmethod(lambda x, shape: x.reshape(shape))
    backward = staticmethod(lambda g, out, x, shape: (g.reshape(x.shape),))


class Permute(Function):
    """x with its axes reordered;  dx = g with the inverse order"""
    forward = staticmethod(lambda x, axes: x.transpose(axes))
    backward = staticmethod(lambda g, out, x, axes: (g.transpose(np.argsort(axes)),))


class GetItem(Function):
    """x[index];  dx = g scattered into zeros at index (repeated indices add up)"""

    @staticmethod
    def forward(x: np.ndarray, index: Any) -> np.ndarray:
        return x[index]

    @staticmethod
    def backward(g: np.ndarray, out: np.ndarray, x: np.ndarray, index: Any) -> tuple:
        dx = np.zeros(x.shape, np.result_type(x, g))
        np.add.at(dx, index, g)
        return (dx,)


class LogSoftmax(Function):
    """x - log Σ e^x along axis, computed as s - log Σ e^s with s = x - max x (stable);
    dx = g - softmax(x) Σ g"""

    @staticmethod
    def forward(x: np.ndarray, axis: int) -> np.ndarray:
        s = x - x.max(axis=axis, keepdims=True)
        return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))

    @staticmethod
    def backward(g: np.ndarray, out: np.ndarray, x: np.ndarray, axis: int) -> tuple:
        return (g - np.exp(out) * g.sum(axis=axis, keepdims=True),)


# ----------------------------------------------------------------------------------------------
# The engine's two helpers: sum a gradient back to its input's shape, and store a leaf's gradient.


def _unbroadcast(g: np.ndarray, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """Sum g over the axes broadcasting added or stretched, so it has `shape`; cast to dtype."""
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = g.sum(axis=stretched, keepdims=True)
    assert g.shape == shape, f"gradient of shape {g.shape} cannot be reduced to {shape}"
    return g.astype(dtype, copy=False)


def _zero_grads(params: list) -> None:
    """Set each tensor's grad to None (zero_grad of modules and optimizers)."""
    for p in params:
        p.grad = None


def _store_grad(t: "Tensor", g: np.ndarray, copy: bool) -> None:
    """t.grad += g for a leaf (accumulating, as PyTorch's leaves do)."""
    if t.grad is None:
        t.grad = np.array(g) if copy else g
    else:
        t.grad = t.grad + g


class _Freed(Function):
    """Marks a node whose graph was freed by backward()."""

    @staticmethod
    def backward(*args: Any, **params: Any) -> tuple:
        raise RuntimeError(
            "trying to backward through the graph a second time: backward() frees the graph; "
            "call backward(retain_graph=True) the first time to keep it")


_freed_ctx: dict = {}


def _freed(op: type) -> tuple:
    """The context of a node made by `op` once backward() has freed its graph."""
    ctx = _freed_ctx.get(op)
    if ctx is None:
        ctx = _freed_ctx[op] = (_Freed, (), (), {"op": op})
    return ctx


def _toposort(root: "Tensor") -> list:
    """The nodes that require grad behind root, outputs before inputs. Every tensor is numbered
    as it is made, after its inputs, so sorting by that number (descending) is a topological
    order; the walk is a loop over a stack (no recursion limit)."""
    nodes, stack, seen = [root], [root], {root}
    while stack:
        ctx = stack.pop()._ctx
        if ctx is not None:
            for p in ctx[1]:
                if p.requires_grad and p not in seen:
                    seen.add(p)
                    nodes.append(p)
                    stack.append(p)
    nodes.sort(key=_creation_order, reverse=True)
    return nodes


# ----------------------------------------------------------------------------------------------


def _astype(data: np.ndarray, dtype: Any) -> np.ndarray:
    return data.astype(dtype)


def _as_array(data: Any, dtype: Any = None) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray):
        if _recorder is not None:
            _recorder.check_new_array(data)
        arr = data if dtype is None or data.dtype == dtype else _call(_astype, data, dtype)
    else:
        native = not isinstance(data, np.generic)
        try:
            arr = np.asarray(data, dtype=dtype)
        except ValueError as e:
            raise ValueError(
                f"Tensor: cannot make an array of {type(data).__name__}: {e}") from None
        if native and dtype is None and arr.dtype == np.float64:
            arr = arr.astype(np.float32)  # Python floats become float32, PyTorch's default
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"Tensor: data must be numeric (float, int or bool), got dtype {arr.dtype}")
    return arr


def _axis_args(axis: Any, keepdims: bool, dim: Any, keepdim: bool | None) -> tuple:
    """numpy's (axis, keepdims) from either spelling; PyTorch's (dim, keepdim) win if given."""
    return (axis if dim is None else dim), (keepdims if keepdim is None else keepdim)


class Tensor:
    """An n-dimensional array that records the ops applied to it, for reverse-mode autodiff.
    Tensors compare and hash by identity, so the engine keys its bookkeeping by tensor.

    `data` is the numpy array (a numpy array given is wrapped, not copied); `grad` is dC/d(data)
    after `C.backward()`, of the same shape and dtype, or None. Python floats and lists become
    float32, PyTorch's default; integer data (labels) is allowed but cannot require grad.
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_n")
    __array_ufunc__ = None  # ndarray + Tensor defers to Tensor.__radd__, giving a Tensor

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        self.data = _as_array(data, dtype)
        self.grad: np.ndarray | None = None
        self._ctx = None  # (Function, input tensors, their arrays, params) for an op's result
        self._n = _next_number()  # creation order, which backward sorts by
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_()

    @staticmethod
    def _make(data: np.ndarray, ctx: tuple | None) -> "Tensor":
        t = Tensor.__new__(Tensor)
        t.data, t.grad, t._ctx, t.requires_grad = data, None, ctx, ctx is not None
        t._n = _next_number()
        return t

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"only float tensors can require grad, this one is {self.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    # --- what it is ---------------------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    is_leaf = property(lambda self: self._ctx is None)

    @property
    def grad_fn(self) -> type | None:
        """The op that made this tensor (None for a leaf)."""
        ctx = self._ctx
        return None if ctx is None else ctx[3]["op"] if ctx[0] is _Freed else ctx[0]

    def numpy(self) -> np.ndarray:
        if _recorder is not None:
            _recorder.refuse("numpy()")
        return self.data

    def item(self) -> float | int | bool:
        if _recorder is not None:
            _recorder.refuse("item()")
        if self.data.size != 1:
            raise ValueError(
                f"item() needs a tensor with one element, this one has shape {self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        return self.numpy().tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __bool__(self) -> bool:
        return bool(self.item())

    def __len__(self) -> int:
        return len(self.data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.numpy() if dtype is None else self.numpy().astype(dtype)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(", threshold=50)
        extra = f", dtype={self.dtype}"
        if self._ctx is not None:
            extra += f", grad_fn=<{self.grad_fn.__name__}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    def detach(self) -> "Tensor":
        """The same data, cut from the graph."""
        return Tensor._make(self.data, None)

    # --- ops ------------------------------------------------------------------------------------
    def _other(self, x: Any) -> "Tensor":
        if isinstance(x, Tensor):
            return x
        if isinstance(x, np.generic) and x.ndim == 0 and x.dtype.kind in "fiub":
            x = x.item()  # a numpy scalar acts as the Python number it holds, as in PyTorch
        if isinstance(x, (bool, int, float)):
            return Tensor._make(np.asarray(x, np.result_type(self.data, x)), None)
        if isinstance(x, (np.ndarray, np.generic, list, tuple)):
            return Tensor(x, dtype=self.dtype if isinstance(x, (list, tuple)) else None)
        raise TypeError(f"unsupported operand type for a Tensor op: {type(x).__name__}")

    def __add__(self, x: Any) -> "Tensor": return Add.apply(self, self._other(x))
    def __radd__(self, x: Any) -> "Tensor": return Add.apply(self._other(x), self)
    def __sub__(self, x: Any) -> "Tensor": return Sub.apply(self, self._other(x))
    def __rsub__(self, x: Any) -> "Tensor": return Sub.apply(self._other(x), self)
    def __mul__(self, x: Any) -> "Tensor": return Mul.apply(self, self._other(x))
    def __rmul__(self, x: Any) -> "Tensor": return Mul.apply(self._other(x), self)
    def __truediv__(self, x: Any) -> "Tensor": return Div.apply(self, self._other(x))
    def __rtruediv__(self, x: Any) -> "Tensor": return Div.apply(self._other(x), self)
    def __neg__(self) -> "Tensor": return Neg.apply(self)
    def __matmul__(self, x: Any) -> "Tensor": return self.matmul(x)
    def __rmatmul__(self, x: Any) -> "Tensor": return self._other(x).matmul(self)

    def matmul(self, x: Any) -> "Tensor":
        x = self._other(x)
        if self.ndim == 0 or x.ndim == 0:
            raise ValueError(f"matmul: both operands need at least 1 dimension, got shapes "
                             f"{self.shape} and {x.shape}")
        return Matmul.apply(self, x, needs=(self.requires_grad, x.requires_grad))

    def __pow__(self, p: Any) -> "Tensor":
        if isinstance(p, Tensor) or not isinstance(p, (int, float, np.integer, np.floating)):
            raise TypeError(f"Tensor ** p needs a constant number p, got {type(p).__name__}; "
                            "for a tensor exponent write (log(x) * p).exp()")
        return Pow.apply(self, p=float(p) if isinstance(p, np.floating) else p)

    def __rpow__(self, base: Any) -> "Tensor":
        """base ** t for a positive constant base, as e^(t ln base)."""
        if not isinstance(base, (int, float, np.integer, np.floating)) or not base > 0:
            raise TypeError(f"b ** Tensor needs a positive constant number b, got {base!r}")
        return (self * math.log(base)).exp()

    def exp(self) -> "Tensor": return Exp.apply(self)
    def log(self) -> "Tensor": return Log.apply(self)
    def sigmoid(self) -> "Tensor": return Sigmoid.apply(self)
    def relu(self) -> "Tensor": return ReLU.apply(self)
    def tanh(self) -> "Tensor": return Tanh.apply(self)
    def sqrt(self) -> "Tensor": return self**0.5

    def clamp(self, min: float | None = None, max: float | None = None) -> "Tensor":
        if min is None and max is None:
            raise ValueError("clamp: give min, max or both")
        return Clamp.apply(self, lo=min, hi=max)

    def sum(self, axis: int | tuple | None = None, keepdims: bool = False, *,
            dim: int | tuple | None = None, keepdim: bool | None = None) -> "Tensor":
        """Σ over axis (all axes by default); PyTorch's dim/keepdim are accepted too."""
        axis, keepdims = _axis_args(axis, keepdims, dim, keepdim)
        return Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: int | tuple | None = None, keepdims: bool = False, *,
             dim: int | tuple | None = None, keepdim: bool | None = None) -> "Tensor":
        """Σ x / (number of elements summed)."""
        axis, keepdims = _axis_args(axis, keepdims, dim, keepdim)
        out = self.sum(axis, keepdims)
        return out * (out.size / self.size if self.size else np.nan)

    def reshape(self, *shape: Any) -> "Tensor":
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return Reshape.apply(self, shape=shape)

    def permute(self, *axes: int) -> "Tensor":
        return Permute.apply(self, axes=tuple(a % max(self.ndim, 1) for a in axes))

    def transpose(self, dim0: int | None = None, dim1: int | None = None) -> "Tensor":
        """No arguments: reverse the axes (numpy's .T); two: swap those axes (PyTorch's)."""
        axes = list(range(self.ndim))
        if dim0 is None and dim1 is None:
            axes.reverse()
        elif dim0 is None or dim1 is None:
            raise ValueError("transpose takes no dimensions or two")
        else:
            axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return Permute.apply(self, axes=tuple(axes))

    T = property(transpose)

    def __getitem__(self, index: Any) -> "Tensor":
        unwrap = lambda i: i.data if isinstance(i, Tensor) else i  # noqa: E731
        index = tuple(map(unwrap, index)) if isinstance(index, tuple) else unwrap(index)
        return GetItem.apply(self, index=index)

    def log_softmax(self, axis: int = -1, *, dim: int | None = None) -> "Tensor":
        return LogSoftmax.apply(self, axis=axis if dim is None else dim)

    def softmax(self, axis: int = -1, *, dim: int | None = None) -> "Tensor":
        """e^x / Σ e^x along axis, as exp(log_softmax(x))."""
        return self.log_softmax(axis if dim is None else dim).exp()

    def argmax(self, axis: int | None = None) -> "Tensor":
        """Index of the largest value (no gradient)."""
        return Tensor._make(np.asarray(self.data.argmax(axis=axis)), None)

    # --- reverse mode --------------------------------------------------------------------------
    def backward(self, gradient: Any = None, retain_graph: bool = False) -> None:
        """Accumulate dC/dt into t.grad for every leaf t that requires grad, C being this tensor.

        Walks the graph once in reverse topological order. A non-scalar output needs `gradient`
        (dC/d self). The graph is freed afterwards unless `retain_graph=True`.
        """
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad and has no graph")
        data = self.data
        if gradient is None:
            if data.size != 1:
                raise RuntimeError(f"backward: the output has shape {data.shape}; a non-scalar "
                                   "output needs gradient= (an array of that shape)")
            seed = np.ones(data.shape, data.dtype)  # a constant when a step is captured
        else:
            seed = np.array(gradient.data if isinstance(gradient, Tensor) else gradient,
                            dtype=data.dtype)
            if seed.shape != data.shape:
                raise ValueError(f"backward: gradient has shape {seed.shape}, output has "
                                 f"shape {data.shape}")
        grads = {self: seed}  # node -> dC/d(node) summed over its uses so far (keys by identity)
        stored = {id(seed)}   # ids of arrays a leaf must copy: the seed, and grads stored already
        for node in _toposort(self):
            g = grads.pop(node, None)
            ctx = node._ctx
            if g is None:
                continue
            if ctx is None:  # a leaf: store the gradient, copying a view or an array stored before
                copy = g.base is not None or id(g) in stored or g.ndim == 0
                stored.add(id(g))
                if _recorder is None and node.grad is None and not copy:
                    node.grad = g  # the common case of _store_grad, inlined for speed
                else:
                    _call(_store_grad, node, g, copy)
                continue
            fn, parents, arrays, params = ctx
            pgs = fn.backward(g, node.data, *arrays, **params)
            if _recorder is not None:
                _recorder.record(fn.backward, [g, node.data, *arrays], params, pgs)
            if not retain_graph:
                node._ctx = _freed(fn)
            for p, d, pg in zip(parents, arrays, pgs):
                if pg is None or not p.requires_grad:
                    continue
                if pg.shape != d.shape or pg.dtype != d.dtype:
                    pg = _call(_unbroadcast, pg, d.shape, d.dtype)
                grads[p] = _call(np.add, grads[p], pg) if p in grads else pg

    # --- the network author's API: max/min, selection, joining and shape ops ------------------
    # (their ops and the factories are at the end of this module)
    def max(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
            keepdims: bool = False) -> Any:
        """The largest value. x.max(): over all elements; x.max(axis=a, keepdims=k): numpy's
        values along an axis; x.max(d) or x.max(dim=d, keepdim=k): PyTorch's (values, indices)
        pair. x.max(other_tensor) is x.maximum(other_tensor), as in PyTorch.

        Gradient on ties, as PyTorch's: a reduction without dim shares it evenly among the tied
        maxima; with dim it goes to the returned index, the first maximum along dim.
        """
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        if dim is None:
            return Max.apply(self, axis=axis, keepdims=bool(keepdims or keepdim))
        if axis is not None:
            raise ValueError("max: give dim (PyTorch's, for values and indices) or axis, not both")
        dim = _dim(dim, self.ndim, "max")
        index = Tensor._make(_call(_argmax, self.data, dim), None)  # the first maximum
        values = self.gather(dim, index)
        if not keepdim:
            values, index = values.squeeze(dim), index.squeeze(dim)
        return ValuesIndices(values, index)

    def min(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
            keepdims: bool = False) -> Any:
        """The smallest value, as -(-x).max(...): the same spellings and tie rules as max."""
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        out = (-self).max(dim, keepdim, axis=axis, keepdims=keepdims)
        return -out if isinstance(out, Tensor) else ValuesIndices(-out.values, out.indices)

    def maximum(self, other: Any) -> "Tensor":
        return Maximum.apply(self, self._other(other))

    def minimum(self, other: Any) -> "Tensor":
        """min(a, b) elementwise, as -max(-a, -b)."""
        return -Maximum.apply(-self, -self._other(other))

    def abs(self) -> "Tensor": return Abs.apply(self)
    def __abs__(self) -> "Tensor": return Abs.apply(self)

    def where(self, condition: Any, other: Any) -> "Tensor":
        """self where condition is true, else other (PyTorch's x.where(cond, y))."""
        return where(condition, self, other)

    def gather(self, dim: int, index: Any) -> "Tensor":
        """out[i][j][k] = self[i][index[i][j][k]][k] for dim=1 (likewise for any dim)."""
        index = index if isinstance(index, Tensor) else Tensor(np.asarray(index))
        if index.dtype.kind not in "iu" or index.ndim != self.ndim:
            raise ValueError(f"gather: index must be integers with {self.ndim} dimensions like "
                             f"the input {self.shape}, got {index.dtype} of shape {index.shape}")
        return Gather.apply(self, index, dim=_dim(dim, self.ndim, "gather"))

    def squeeze(self, dim: int | tuple | None = None) -> "Tensor":
        """Drop axes of size 1: all of them, or those in dim that have size 1 (PyTorch's)."""
        dims = range(self.ndim) if dim is None else [
            _dim(d, self.ndim, "squeeze") for d in (dim if isinstance(dim, tuple) else (dim,))]
        drop = {d for d in dims if self.shape[d] == 1}
        return self.reshape(tuple(n for d, n in enumerate(self.shape) if d not in drop))

    def unsqueeze(self, dim: int) -> "Tensor":
        """Insert an axis of size 1 at dim (in -ndim-1 .. ndim)."""
        dim = _dim(dim, self.ndim + 1, "unsqueeze")
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> "Tensor":
        """Merge the axes start_dim..end_dim (inclusive) into one."""
        if self.ndim == 0:
            return self.reshape(1)
        s, e = _dim(start_dim, self.ndim, "flatten"), _dim(end_dim, self.ndim, "flatten")
        if s > e:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        return self.reshape(self.shape[:s] + (-1,) + self.shape[e + 1:])

    def view(self, *shape: Any) -> "Tensor":
        """The same as reshape (numpy arrays need no contiguity)."""
        return self.reshape(*shape)

    def expand(self, *sizes: Any) -> "Tensor":
        """A broadcast view to sizes; -1 keeps an axis' size; new axes go in front."""
        sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) \
            else sizes
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise ValueError(f"expand: {len(sizes)} sizes for a tensor of shape {self.shape}")
        shape = tuple(self.shape[i - lead] if s == -1 and i >= lead else int(s)
                      for i, s in enumerate(sizes))
        return Expand.apply(self, shape=shape)


# ----------------------------------------------------------------------------------------------
# The network author's ops: the primitives behind the methods above, then module-level
# functions and factories (exported by the package as PyTorch's torch.cat, torch.zeros...).


class ValuesIndices(NamedTuple):
    """What max(dim=...) and min(dim=...) return, like PyTorch's (values, indices)."""
    values: Tensor
    indices: Tensor


def _dim(dim: int, ndim: int, fn: str) -> int:
    """dim in -ndim..ndim-1 as 0..ndim-1 (a 0-d tensor takes -1 and 0)."""
    n = max(ndim, 1)
    if not isinstance(dim, (int, np.integer)) or not -n <= dim < n:
        raise ValueError(f"{fn}: dim must be an int in [{-n}, {n - 1}], got {dim!r}")
    return int(dim) % n


def _argmax(x: np.ndarray, dim: int) -> np.ndarray:
    """The index of the first maximum along dim, keeping dim (a kernel, so capture records it)."""
    return np.expand_dims(x.argmax(axis=dim), dim)


class Max(Function):
    """max of x over axis (all axes by default);
    dx = g at the maxima, shared evenly among ties (PyTorch's rule for max() and amax)"""

    @staticmethod
    def forward(x: np.ndarray, axis: Any, keepdims: bool) -> np.ndarray:
        return x.max(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(g: np.ndarray, out: np.ndarray, x: np.ndarray, axis: Any,
                 keepdims: bool) -> tuple:
        if axis is not None and not keepdims:
            g, out = np.expand_dims(g, axis), np.expand_dims(out, axis)
        hits = x == out
        return (hits * (g / hits.sum(axis=axis, keepdims=True, dtype=g.dtype)),)


class Gather(Function):
    """x's values at index along dim (torch.gather);  dx = g added into zeros at index"""

    @staticmethod
    def _where(index: np.ndarray, dim: int) -> tuple:
        where = list(np.indices(index.shape, sparse=True))
        where[dim] = index
        return tuple(where)

    @staticmethod
    def forward(x: np.ndarray, index: np.ndarray, dim: int) -> np.ndarray:
        return x[Gather._where(index, dim)]

    @staticmethod
    def backward(g: np.ndarray, out: np.ndarray, x: np.ndarray, index: np.ndarray,
                 dim: int) -> tuple:
        dx = np.zeros(x.shape, g.dtype)
        np.add.at(dx, Gather._where(index, dim), g)
        return dx, None


class Maximum(Function):
    """max(a, b) elementwise (NaN if either is);
    da = g where a > b, g/2 where a = b (PyTorch's even split on ties);  db likewise"""
    forward = staticmethod(lambda a, b: np.maximum(a, b))

    @staticmethod
    def backward(g: np.ndarray, out: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple:
        tie, half = a == b, g * 0.5
        return (np.where(tie, half, np.where(a < b, 0, g)),
                np.where(tie, half, np.where(a > b, 0, g)))


class Abs(Function):
    """|x|;  dx = g sign(x) (0 at 0, as PyTorch)"""
    forward = staticmethod(lambda x: np.abs(x))
    backward = staticmethod(lambda g, out, x: (g * np.sign(x),))


class Where(Function):
    """a where cond, else b;  da = g where cond (0 elsewhere),  db = g where not cond"""
    forward = staticmethod(lambda cond, a, b: np.where(cond, a, b))
    backward = staticmethod(
        lambda g, out, cond, a, b: (None, np.where(cond, g, 0), np.where(cond, 0, g)))


class Cat(Function):
    """x₀, x₁, ... joined along dim;  dxᵢ = the slice of g where xᵢ landed"""
    forward = staticmethod(lambda *xs, dim: np.concatenate(xs, axis=dim))

    @staticmethod
    def backward(g: np.ndarray, out: np.ndarray, *xs: np.ndarray, dim: int) -> tuple:
        return tuple(np.split(g, np.cumsum([x.shape[dim] for x in xs[:-1]]), axis=dim))


class Expand(Function):
    """x broadcast to shape (a view, no copy);  dx = g, which the engine sums back to x's shape"""
    forward = staticmethod(lambda x, shape: np.broadcast_to(x, shape))
    backward = staticmethod(lambda g, out, x, shape: (g,))


class Pad(Function):
    """x with (before, after) elements of value added on each axis (negative widths crop);
    dx = g without the added elements (zeros where x was cropped)"""

    @staticmethod
    def forward(x: np.ndarray, widths: tuple, value: float) -> np.ndarray:
        keep = tuple(slice(max(-a, 0), n - max(-b, 0)) for n, (a, b) in zip(x.shape, widths))
        add = [(max(a, 0), max(b, 0)) for a, b in widths]
        return np.pad(x[keep], add, constant_values=value)

    @staticmethod
    def backward(g: np.ndarray, out: np.ndarray, x: np.ndarray, widths: tuple,
                 value: float) -> tuple:
        keep = tuple(slice(max(a, 0), n - max(b, 0)) for n, (a, b) in zip(g.shape, widths))
        return (np.pad(g[keep], [(max(-a, 0), max(-b, 0)) for a, b in widths]),)


def where(condition: Any, input: Any, other: Any) -> Tensor:
    """input where condition is true, else other, broadcasting all three (torch.where)."""
    cond = condition if isinstance(condition, Tensor) else Tensor(np.asarray(condition))
    if cond.dtype != np.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got {cond.dtype}")
    if not isinstance(input, Tensor):
        input = other._other(input) if isinstance(other, Tensor) else Tensor(input)
    return Where.apply(cond, input, input._other(other))


def maximum(input: Tensor, other: Any) -> Tensor:
    return input.maximum(other)


def minimum(input: Tensor, other: Any) -> Tensor:
    return input.minimum(other)


def cat(tensors: Any, dim: int = 0) -> Tensor:
    """The tensors joined along an existing axis dim (torch.cat)."""
    tensors = list(tensors)
    if not tensors or not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError("cat: needs a non-empty sequence of Tensors")
    return Cat.apply(*tensors, dim=_dim(dim, tensors[0].ndim, "cat"))


def stack(tensors: Any, dim: int = 0) -> Tensor:
    """Tensors of one shape joined along a new axis dim (torch.stack), as cat of unsqueezes."""
    tensors = list(tensors)
    if not tensors or not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError("stack: needs a non-empty sequence of Tensors")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: tensors must have one shape, got {sorted(shapes)}")
    dim = _dim(dim, tensors[0].ndim + 1, "stack")
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


# --- factories and the library's random generator ---------------------------------------------

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the generator behind rand, randn, dropout and nn layers' default init."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def _size(size: tuple) -> tuple:
    """zeros(2, 3) and zeros((2, 3)) alike."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return tuple(int(n) for n in size)


def _new(data: np.ndarray, requires_grad: bool) -> Tensor:
    return Tensor._make(data, None).requires_grad_(requires_grad)


def _random(kind: str, shape: tuple, dtype: Any) -> np.ndarray:
    """A kernel, so a captured step draws new numbers on each replay."""
    draw = _generator.random if kind == "rand" else _generator.standard_normal
    return draw(shape, dtype=dtype)


def zeros(*size: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    return _new(np.zeros(_size(size), dtype), requires_grad)


def ones(*size: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    return _new(np.ones(_size(size), dtype), requires_grad)


def full(size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of fill_value; dtype from it as PyTorch (float32, int64 or bool) if not given."""
    if dtype is None:
        dtype = (np.bool_ if isinstance(fill_value, (bool, np.bool_)) else
                 np.int64 if isinstance(fill_value, (int, np.integer)) else np.float32)
    return _new(np.full(_size((size,)), fill_value, dtype), requires_grad)


def rand(*size: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """Uniform on [0, 1), from the library's generator (see manual_seed)."""
    return _new(_call(_random, "rand", _size(size), np.dtype(dtype)), requires_grad)


def randn(*size: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """Standard normal, from the library's generator (see manual_seed)."""
    return _new(_call(_random, "randn", _size(size), np.dtype(dtype)), requires_grad)


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """start, start + step, ... below end (arange(n) is 0..n-1); int64 for ints, else float32."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if ints else np.float32
    return _new(np.arange(start, end, step).astype(dtype), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = np.float32,
        requires_grad: bool = False) -> Tensor:
    return _new(np.eye(n, m, dtype=dtype), requires_grad)


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros(t.shape, dtype=_like(t, dtype), requires_grad=requires_grad)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return ones(t.shape, dtype=_like(t, dtype), requires_grad=requires_grad)


def full_like(t: Tensor, fill_value: Any, dtype: Any = None,
              requires_grad: bool = False) -> Tensor:
    return full(t.shape, fill_value, dtype=_like(t, dtype), requires_grad=requires_grad)


def rand_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return rand(t.shape, dtype=_like(t, dtype), requires_grad=requires_grad)


def randn_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return randn(t.shape, dtype=_like(t, dtype), requires_grad=requires_grad)


def _like(t: Tensor, dtype: Any) -> Any:
    return t.dtype if dtype is None else dtype
