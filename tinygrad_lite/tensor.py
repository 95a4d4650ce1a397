"""The engine: `Tensor`, its ops (each op's forward and backward side by side), and `backward()`.

An op is a `Function` with two pure numpy functions:

    forward(*arrays, **params) -> out
    backward(g, out, *arrays, **params) -> one gradient (or None) per input array

`g` is dC/d(out) for the final scalar C; a backward with a `needs` parameter is also told which
inputs need a gradient. An op's result keeps a `Node` (op, parents, saved arrays, params). Each
gradient has the shape of the broadcast result; the engine sums it back to its input's shape in
one place (`_unbroadcast`), so no op does.
Because forward and backward see only arrays and constants, a training step made of them can be
recorded once and replayed (see `tinygrad_lite.capture`).
"""
from __future__ import annotations

import contextlib
import inspect
import itertools
import math
import operator
from typing import Any, Callable, NamedTuple

import numpy as np

_grad_enabled = True
_tangents: dict | None = None  # forward mode: tensor -> its tangent array, inside a dual_level
_retaining = False  # whether retain_grad() was ever called (else backward skips looking)
_recorder = None  # a capture.Recorder while a step is being captured, else None
_next_number = itertools.count().__next__
_creation_order = operator.attrgetter("_n")
_requires_grad = operator.attrgetter("_requires_grad")
_last_change = -1  # when a tensor was last changed in place, on the tensors' numbering


def _kernel(fn: Callable, *args: Any, **params: Any) -> Any:
    """Run fn(*args, **params), a kernel other than an op's forward or backward: a gradient sum
    or a leaf's store in backward(), an optimizer's step, zero_grad, a check of values. Capture's
    Recorder sees what the engine runs here, in `Function.apply` and in `backward()`."""
    out = fn(*args, **params)
    if _recorder is not None:
        _recorder.record(fn, args, params, out)
    return out


def _guard(how: str) -> None:
    """Refuse, while a step is being captured, a way from tensors' values to Python (`how`):
    the step could branch on them, and a replay would not (capture.CaptureError)."""
    if _recorder is not None:
        _recorder.refuse(how)


def _mark_changed(*tensors: "Tensor") -> None:
    """Note that these tensors' arrays were changed in place, so backward() refuses a graph
    made before (its saved values are stale). The date is a number from the sequence that
    numbers tensors, so a result made after the change has a larger number."""
    global _last_change
    _last_change = _next_number()
    for t in tensors:
        t._changed = _last_change


class Node:
    """How a tensor was made: by `op` from the input tensors `parents`, whose arrays are
    `saved` for backward (None once backward() has freed the graph), with constant `params`."""

    __slots__ = ("op", "parents", "saved", "params")

    def __init__(self, op: type, parents: tuple, saved: list, params: dict) -> None:
        self.op, self.parents, self.saved, self.params = op, parents, saved, params


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
            with type(self)():
                return fn(*args, **kwargs)

        wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
        return wrapper


class enable_grad(no_grad):
    """Context manager and decorator under which ops record a graph again (torch.enable_grad)."""

    def __enter__(self) -> None:
        global _grad_enabled
        self._prev, _grad_enabled = _grad_enabled, True


_nothing = contextlib.nullcontext()


def is_grad_enabled() -> bool:
    return _grad_enabled


# ----------------------------------------------------------------------------------------------
# Ops. Docstrings give the formula; g is the incoming gradient dC/d(out).


class Function:
    """Base class of every op: subclasses define static `forward`, `backward` and `jvp`.

        forward(*arrays, **params) -> out
        backward(g, out, *inputs, **params) -> one gradient (or None) per input   (reverse mode)
        jvp(tangents, out, *arrays, **params) -> the tangent of out               (forward mode)

    A backward rule is written once for two kinds of values: numpy arrays (the first-order
    gradient, the fast path) and Tensors (`backward(create_graph=True)`, which records the
    gradient computation as a graph of its own, so it can be differentiated again). It uses
    operators, methods both kinds have, and other ops through `Op.run`, never np.* directly on
    g; masks that depend on values only (ReLU's x > 0) come from `_array`, as constants.
    `tangents` holds one array per input: the input's tangent, zeros (of the result's dtype)
    for an input without one, integer and bool inputs (masks, indices) included.

    An op whose backward takes a `needs` argument is told which inputs need a gradient (a tuple
    of bools, one per input), so it can skip the others. An op with a non-float result (argmax)
    has no gradient.
    """

    takes_needs = False  # set for subclasses whose backward has a `needs` parameter
    jvp: Any = None

    def __init_subclass__(cls) -> None:
        if "backward" in cls.__dict__:
            cls.takes_needs = "needs" in inspect.signature(cls.backward).parameters

    @classmethod
    def apply(cls, *tensors: "Tensor", **params: Any) -> "Tensor":
        arrays = [t._data for t in tensors]
        try:
            out = cls.forward(*arrays, **params)
        except ValueError as e:
            shapes = " and ".join(str(t.shape) for t in tensors)
            plural = "s" if len(tensors) > 1 else ""
            raise ValueError(f"{cls.__name__.lower()} of shape{plural} {shapes}: {e}") from None
        if out.__class__ is not np.ndarray:  # numpy returns scalars for 0-d results
            out = np.asarray(out)
        if _recorder is not None:
            _recorder.record(cls.forward, arrays, params, out, tensors)
        node = None
        if _grad_enabled and out.dtype.kind == "f":
            for t in tensors:
                if t._requires_grad:
                    if cls.takes_needs:  # params is this call's own dict
                        params["needs"] = tuple(map(_requires_grad, tensors))
                    node = Node(cls, tensors, arrays, params)
                    break
        result = Tensor._make(out, node)
        if _tangents and out.dtype.kind == "f":
            _push_tangent(cls, tensors, arrays, params, result)
        return result

    @classmethod
    def run(cls, *args: Any, **params: Any) -> Any:
        """The op on arrays (its forward), or on Tensors (apply: recorded in the graph) if any
        argument is a Tensor; backward rules call other ops this way."""
        for a in args:
            if isinstance(a, Tensor):
                return cls.apply(*(_constant(v, a) for v in args), **params)
        return cls.forward(*args, **params)


def _constant(v: Any, like: "Tensor") -> "Tensor":
    """v as a Tensor: itself if it is one, else a constant (a Python number takes like's dtype)."""
    if isinstance(v, Tensor):
        return v
    if isinstance(v, (int, float)):
        return Tensor._make(np.asarray(v, like.dtype), None)
    return Tensor._make(np.asarray(v), None)


def _array(v: Any) -> np.ndarray:
    """The values of an array or a Tensor: for masks and weights that are constants of a rule."""
    return v._data if isinstance(v, Tensor) else v


def _push_tangent(op: type, tensors: tuple, arrays: list, params: dict, result: "Tensor") -> None:
    """Forward mode: give result the tangent op.jvp makes from its inputs' tangents, if any
    input has one (the others count as zeros)."""
    given = [_tangents.get(t) for t in tensors]
    if all(d is None for d in given):
        return
    if op.jvp is None:
        raise NotImplementedError(f"forward mode: {op.__name__} has no tangent rule (jvp)")
    tangents = tuple(d if d is not None else np.zeros_like(a, result.dtype) for d, a in
                     zip(given, arrays))  # a constant's tangent is zeros, a bool mask's too
    params = {k: v for k, v in params.items() if k != "needs"}
    tangent = np.asarray(op.jvp(tangents, result._data, *arrays, **params))
    if tangent.shape != result.shape:
        tangent = np.broadcast_to(tangent, result.shape)
    _tangents[result] = tangent.astype(result.dtype, copy=False)


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
    """x ** p for a constant p;  dx = g p x^(p-1);  d(out) = p x^(p-1) dx"""

    @staticmethod
    def forward(x: np.ndarray, p: float) -> np.ndarray:
        return x * x if p == 2 else x**p

    @staticmethod
    def backward(g: Any, out: Any, x: Any, p: float) -> tuple:
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
        return 1 / (1 + np.exp(-x))

    @staticmethod
    def backward(g: Any, out: Any, x: Any) -> tuple:
        return (g * out * (1 - out),)

    jvp = staticmethod(lambda t, out, x: t[0] * out * (1 - out))


class ReLU(Function):
    """max(x, 0);  dx = g [x > 0];  d(out) = [x > 0] dx"""
    forward = staticmethod(lambda x: np.maximum(x, 0))
    backward = staticmethod(lambda g, out, x: (g * (_array(x) > 0),))
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

    backward = staticmethod(lambda g, out, x, lo, hi: (g * _inside(_array(x), lo, hi),))
    jvp = staticmethod(lambda t, out, x, lo, hi: t[0] * _inside(x, lo, hi))


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
        return x @ w.T + b

    @staticmethod
    def backward(g: Any, out: Any, x: Any, w: Any, b: Any, needs: tuple) -> tuple:
        if x.ndim == 2:
            gx = g @ w if needs[0] else None
        else:  # one example (in,) or rows (..., in): flatten to (rows, in) and back
            gx = (g @ w).reshape(x.shape) if needs[0] else None
            g, x = g.reshape(-1, w.shape[0]), x.reshape(-1, w.shape[1])
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


class IndexAdd(Function):
    """zeros of `shape` with g added at index (GetItem's adjoint);  dg = h[index];
    d(out) = dg added at index"""

    @staticmethod
    def forward(g: np.ndarray, index: Any, shape: tuple) -> np.ndarray:
        out = np.zeros(shape, g.dtype)
        np.add.at(out, index, g)
        return out

    backward = staticmethod(lambda h, out, g, index, shape: (GetItem.run(h, index=index),))
    jvp = staticmethod(lambda t, out, g, index, shape: IndexAdd.forward(t[0], index, shape))


class Cast(Function):
    """x as another float dtype;  dx = g cast back to x's dtype;  d(out) = dx cast"""
    forward = staticmethod(lambda x, dtype: x.astype(dtype))
    backward = staticmethod(lambda g, out, x, dtype: (Cast.run(g, dtype=x.dtype),))
    jvp = staticmethod(lambda t, out, x, dtype: t[0].astype(dtype))


class Argmax(Function):
    """index of the largest x along axis (an integer result: no gradient)"""
    forward = staticmethod(lambda x, axis, keepdims: x.argmax(axis=axis, keepdims=keepdims))


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


# ----------------------------------------------------------------------------------------------
# The engine's helpers: sum a gradient back to its input's shape, store a leaf's gradient,
# refuse stale graphs, and order the graph.


def _unbroadcast(g: Any, shape: tuple, dtype: np.dtype) -> Any:
    """Sum g (an array, or a Tensor under create_graph) over the axes broadcasting added or
    stretched, so it has `shape`; cast to dtype."""
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = g.sum(axis=stretched, keepdims=True)
    assert g.shape == shape, f"gradient of shape {g.shape} cannot be reduced to {shape}"
    return g if g.dtype == dtype else Cast.run(g, dtype=dtype)


def _zero_grads(params: list) -> None:
    """Set each tensor's grad to None (zero_grad of modules and optimizers)."""
    for p in params:
        p._grad = None


def _accumulate_grad(t: "Tensor", g: Any, copy: bool) -> None:
    """t.grad += g (accumulating, as PyTorch's leaves do)."""
    if t._grad is None:
        t._grad = np.array(g) if copy else g
    else:
        t._grad = t._grad + g


def _check_unchanged(order: list) -> None:
    """Refuse a graph in which a tensor was changed in place after an op used it (the values
    the op saved are stale), as PyTorch's version counters do."""
    for t in order:
        if t._node is not None:
            for x in (t, *t._node.parents):
                if getattr(x, "_changed", -1) > t._n:
                    raise RuntimeError(
                        f"backward: a tensor of shape {x.shape} that this graph saved was "
                        "changed in place (an optimizer step, load_state_dict or .data) after "
                        f"{t._node.op.__name__} used it; run the forward pass again")


def _toposort(roots: list) -> list:
    """The nodes that require grad behind the roots, outputs before inputs. Every tensor is
    numbered as it is made, after its inputs, so sorting by that number (descending) is a
    topological order; the walk is a loop over a stack (no recursion limit)."""
    nodes, stack, seen = list(roots), list(roots), set(roots)
    while stack:
        node = stack.pop()._node
        if node is not None:
            for p in node.parents:
                if p._requires_grad and p not in seen:
                    seen.add(p)
                    nodes.append(p)
                    stack.append(p)
    nodes.sort(key=_creation_order, reverse=True)
    return nodes


def _backprop(roots: list, seeds: list, retain_graph: bool, create_graph: bool,
              wanted: dict | None = None) -> None:
    """The reverse sweep: pull the seeds dC/d(root) back through the graph, each node once, in
    reverse topological order. Gradients are arrays, or Tensors if `create_graph` (the sweep is
    then recorded as ops: its results can be differentiated again). Leaves that require grad,
    and tensors that retain_grad(), accumulate theirs into .grad; if `wanted` is given
    (autograd.grad), the gradients of its keys are put there instead and only tensors that
    retain_grad() get theirs (as in PyTorch)."""
    if create_graph and _recorder is not None:
        _recorder.unsupported("create_graph=True (backward or autograd.grad)", "the gradient's "
                              "own graph uses masks of values (ReLU's x > 0), which a replay "
                              "would not recompute")
    if len(roots) == 1:
        grads = {roots[0]: seeds[0]}  # tensor -> dC/d(tensor) summed over its uses so far
        first = roots[0]._n
    else:
        grads = {}
        for r, s in zip(roots, seeds):
            grads[r] = grads[r] + s if r in grads else s
        first = min(r._n for r in roots)
    stored = set(map(id, seeds))  # ids of arrays a leaf must copy: seeds, grads stored already
    order = _toposort(roots)
    if _last_change > first:  # a tensor was changed in place since this graph was made
        _check_unchanged(order)
    last = min(t._n for t in wanted) if wanted else -1  # no gradient below it is wanted
    for t in order:
        g = grads.pop(t, None)
        if g is None:
            continue
        node = t._node
        if wanted is not None:
            if _retaining and getattr(t, "_retains", False):
                _kernel(_accumulate_grad, t, g, not create_graph)
            if t in wanted:
                wanted[t] = g
                if t._n == last:
                    return
            if node is None:
                continue
        elif node is None:  # a leaf: store the gradient, copying a view or an array stored before
            if create_graph:
                t._grad = g if t._grad is None else t._grad + g
                continue
            copy = g.base is not None or id(g) in stored or g.ndim == 0
            stored.add(id(g))
            if _recorder is None and t._grad is None and not copy:
                t._grad = g  # the common case of _accumulate_grad, inlined for speed
            else:
                _kernel(_accumulate_grad, t, g, copy)
            continue
        elif _retaining and getattr(t, "_retains", False):
            _kernel(_accumulate_grad, t, g, not create_graph)
        if node.saved is None:
            raise RuntimeError(
                "trying to backward through the graph a second time: backward() frees the "
                "graph; call backward(retain_graph=True) the first time to keep it")
        fn, parents, arrays, params = node.op, node.parents, node.saved, node.params
        if create_graph:
            pgs = fn.backward(g, t, *parents, **params)
        else:
            pgs = fn.backward(g, t._data, *arrays, **params)
            if _recorder is not None:
                _recorder.record(fn.backward, (g, t._data, *arrays), params, pgs)
        if not retain_graph:
            node.parents, node.saved = (), None
        for p, d, pg in zip(parents, arrays, pgs):
            if pg is None or not p._requires_grad:
                continue
            if pg.shape != d.shape or pg.dtype != d.dtype:
                pg = _kernel(_unbroadcast, pg, d.shape, d.dtype) if not create_graph else \
                    _unbroadcast(pg, d.shape, d.dtype)
            if p not in grads:
                grads[p] = pg
            else:
                grads[p] = grads[p] + pg if create_graph else _kernel(np.add, grads[p], pg)


# ----------------------------------------------------------------------------------------------


def _as_array(data: Any, dtype: Any = None) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data._data
    if isinstance(data, np.ndarray):
        arr = data if dtype is None or data.dtype == dtype else data.astype(dtype)
        if _recorder is not None:
            _recorder.new_array(data, arr, dtype)
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


def _no_numpy_args(name: str, dtype: Any, out: Any) -> None:
    if dtype is not None or out is not None:
        raise TypeError(f"{name}: numpy's dtype= and out= are not supported on a Tensor; "
                        f"use np.{name}(t.numpy(), ...)")


def _compare_arrays(a: np.ndarray, b: np.ndarray, op: str) -> np.ndarray:
    """a op b elementwise (op one of eq ne lt le gt ge): a bool array, no gradient."""
    return np.asarray(getattr(operator, op)(a, b))


def _truth(a: np.ndarray, op: str) -> np.ndarray:
    """np.any or np.all of a, as a 0-d bool array."""
    return np.asarray(getattr(np, op)(a))


def _axis_args(axis: Any, keepdims: bool, dim: Any, keepdim: bool | None) -> tuple:
    """numpy's (axis, keepdims) from either spelling; PyTorch's (dim, keepdim) win if given."""
    return (axis if dim is None else dim), (keepdims if keepdim is None else keepdim)


def _seed(out: "Tensor", gradient: Any, create_graph: bool, fn: str) -> Any:
    """dC/d(out) to start a reverse sweep: ones for a one-element out, else `gradient` checked to
    have out's shape (an array; a Tensor if create_graph)."""
    data = out._data
    if gradient is None:
        if data.size != 1:
            raise RuntimeError(f"{fn}: the output has shape {data.shape}; a non-scalar output "
                               "needs a gradient (an array of that shape)")
        seed = np.ones(data.shape, data.dtype)  # a constant when a step is captured
    elif create_graph and isinstance(gradient, Tensor):
        seed = gradient if gradient.dtype == data.dtype else Cast.run(gradient, dtype=data.dtype)
    else:
        given = gradient._data if isinstance(gradient, Tensor) else gradient
        seed = _kernel(np.array, given, dtype=data.dtype)
    if seed.shape != data.shape:
        raise ValueError(f"{fn}: gradient has shape {seed.shape}, output has shape {data.shape}")
    if create_graph and not isinstance(seed, Tensor):
        seed = Tensor._make(seed, None)
    return seed


class Tensor:
    """An n-dimensional array that records the ops applied to it, for reverse-mode autodiff.
    `==`, `<` and the other comparisons are elementwise and give bool tensors (PyTorch's
    semantics); hashing stays by identity, so the engine keys its bookkeeping by tensor.

    `data` is the numpy array (a numpy array given is wrapped, not copied); `grad` is dC/d(data)
    after `C.backward()`, of the same shape and dtype, or None. Python floats and lists become
    float32, PyTorch's default; integer data (labels) is allowed but cannot require grad.
    """

    # _data and _grad are the arrays (the engine and optimizers use them directly; `data` and
    # `grad` are the public views, which capture guards); _node is how it was made (None for a
    # leaf); _n its creation number; _changed dates its last in-place change (_mark_changed).
    __slots__ = ("_data", "_grad", "_requires_grad", "_node", "_n", "_changed", "_retains")
    __array_ufunc__ = None  # ndarray + Tensor defers to Tensor.__radd__, giving a Tensor

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        self._data = _as_array(data, dtype)
        self._grad: np.ndarray | None = None
        self._node: Node | None = None
        self._n = _next_number()  # creation order, which backward sorts by
        self._requires_grad = False
        if requires_grad:
            self.requires_grad_()

    @staticmethod
    def _make(data: np.ndarray, node: Node | None) -> "Tensor":
        t = Tensor.__new__(Tensor)
        t._data, t._grad, t._node, t._requires_grad = data, None, node, node is not None
        t._n = _next_number()
        return t

    @property
    def data(self) -> np.ndarray:
        """The numpy array. Reading it while a step is captured is refused (CaptureError)."""
        _guard(".data")
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        """Replace the values (`t.data += d` changes them in place): graphs that saved the old
        values can no longer be differentiated."""
        _guard("setting .data")
        arr = _as_array(value)
        if arr.dtype.kind != "f" and self._requires_grad:
            raise TypeError(f"data: a tensor that requires grad needs float data, got {arr.dtype}")
        self._data = arr
        _mark_changed(self)

    @property
    def grad(self) -> np.ndarray | None:
        """dC/d(data) after C.backward(), or None. Capture refuses reading or setting it."""
        _guard(".grad")
        return self._grad

    @grad.setter
    def grad(self, value: np.ndarray | None) -> None:
        _guard("setting .grad (use zero_grad())")
        self._grad = value

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, requires_grad: bool) -> None:
        self.requires_grad_(requires_grad)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self._data.dtype.kind != "f":
            raise TypeError(f"only float tensors can require grad, this one is {self.dtype} of "
                            f"shape {self.shape}")
        self._requires_grad = bool(requires_grad)
        return self

    # --- what it is ---------------------------------------------------------------------------
    shape = property(lambda self: self._data.shape)
    dtype = property(lambda self: self._data.dtype)
    ndim = property(lambda self: self._data.ndim)
    is_leaf = property(lambda self: self._node is None)

    @property
    def grad_fn(self) -> type | None:
        """The op that made this tensor (None for a leaf)."""
        return None if self._node is None else self._node.op

    def _values(self, how: str) -> np.ndarray:
        """The array, for a way its values reach Python (each one guarded, see _guard)."""
        _guard(how)
        return self._data

    def size(self, dim: int | None = None) -> tuple | int:
        """The shape, as PyTorch's size(); size(d) is the length of dimension d."""
        return self._data.shape if dim is None else self._data.shape[dim]

    def numel(self) -> int:
        """The number of elements."""
        return self._data.size

    def numpy(self) -> np.ndarray:
        return self._values("numpy()")

    def item(self) -> float | int | bool:
        return self._one("item()")

    def _one(self, how: str) -> float | int | bool:
        data = self._values(how)
        if data.size != 1:
            raise ValueError(
                f"{how} needs a tensor with one element, this one has shape {self.shape}")
        return data.item()

    def tolist(self) -> Any:
        return self._values("tolist()").tolist()

    def __float__(self) -> float:
        return float(self._one("float()"))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise ValueError(f"the truth value of a Tensor of shape {self.shape} is ambiguous; "
                             "use .any() or .all()")
        return bool(self._one("bool() (an if, and, or, not on a tensor)"))

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        data = self._values("np.asarray(tensor)")
        return data if dtype is None else data.astype(dtype)

    def __repr__(self) -> str:
        body = np.array2string(self._values("repr()"), separator=", ", prefix="Tensor(",
                               threshold=50)
        extra = f", dtype={self.dtype}"
        if self._node is not None:
            extra += f", grad_fn=<{self.grad_fn.__name__}>"
        elif self._requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    def to(self, dtype: Any) -> "Tensor":
        """The values as another dtype (a float cast keeps the gradient's path)."""
        dtype = np.dtype(dtype)
        if dtype == self.dtype:
            return self
        if dtype.kind == "f" and self.dtype.kind == "f":
            return Cast.apply(self, dtype=dtype)
        return Tensor._make(_kernel(np.asarray, self._data, dtype=dtype), None)

    def double(self) -> "Tensor": return self.to(np.float64)
    def float(self) -> "Tensor": return self.to(np.float32)

    def detach(self) -> "Tensor":
        """The same data, cut from the graph."""
        return Tensor._make(self._data, None)

    # --- ops ------------------------------------------------------------------------------------
    def _other(self, x: Any) -> "Tensor":
        if isinstance(x, Tensor):
            return x
        if isinstance(x, np.generic) and x.ndim == 0 and x.dtype.kind in "fiub":
            x = x.item()  # a numpy scalar acts as the Python number it holds, as in PyTorch
        if isinstance(x, (bool, int, float)):
            return Tensor._make(np.asarray(x, np.result_type(self._data, x)), None)
        if isinstance(x, (np.ndarray, np.generic, list, tuple)):
            literal = isinstance(x, (list, tuple)) and self.dtype.kind == "f"
            return Tensor(x, dtype=self.dtype if literal else None)  # [1.5] never truncated
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
        return Matmul.apply(self, x)

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
            dim: int | tuple | None = None, keepdim: bool | None = None,
            dtype: None = None, out: None = None) -> "Tensor":
        """Σ over axis (all axes by default); PyTorch's dim/keepdim are accepted too
        (np.sum(t) calls this with dtype=None, out=None)."""
        _no_numpy_args("sum", dtype, out)
        axis, keepdims = _axis_args(axis, keepdims, dim, keepdim)
        return Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: int | tuple | None = None, keepdims: bool = False, *,
             dim: int | tuple | None = None, keepdim: bool | None = None,
             dtype: None = None, out: None = None) -> "Tensor":
        """Σ x / (number of elements summed); np.mean(t) calls this too."""
        _no_numpy_args("mean", dtype, out)
        axis, keepdims = _axis_args(axis, keepdims, dim, keepdim)
        out = self.sum(axis, keepdims)
        return out * (out.numel() / self.numel() if self.numel() else np.nan)

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
        elif not (-self.ndim <= dim0 < self.ndim and -self.ndim <= dim1 < self.ndim):
            raise IndexError(f"transpose: dimensions {dim0}, {dim1} out of range for "
                             f"shape {self.shape}")
        else:
            axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return Permute.apply(self, axes=tuple(axes))

    T = property(transpose)

    def swapaxes(self, axis0: int, axis1: int) -> "Tensor":
        """Swap two axes (PyTorch's and numpy's name for transpose(dim0, dim1))."""
        return self.transpose(axis0, axis1)

    def __getitem__(self, index: Any) -> "Tensor":
        unwrap = lambda i: i._data if isinstance(i, Tensor) else i  # noqa: E731
        index = tuple(map(unwrap, index)) if isinstance(index, tuple) else unwrap(index)
        return GetItem.apply(self, index=index)

    def log_softmax(self, axis: int = -1, *, dim: int | None = None) -> "Tensor":
        return LogSoftmax.apply(self, axis=axis if dim is None else dim)

    def softmax(self, axis: int = -1, *, dim: int | None = None) -> "Tensor":
        """e^x / Σ e^x along axis, as exp(log_softmax(x))."""
        return self.log_softmax(axis if dim is None else dim).exp()

    def argmax(self, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None,
               keepdim: bool | None = None) -> "Tensor":
        """Index of the largest value, over all elements or along axis/dim (an integer tensor,
        no gradient)."""
        axis, keepdims = _axis_args(axis, keepdims, dim, keepdim)
        return Argmax.apply(self, axis=axis, keepdims=keepdims)

    # --- comparisons: elementwise, broadcasting, bool results without grad (as PyTorch) ------
    __hash__ = object.__hash__  # hashing stays by identity: the engine keys dicts by tensor

    def _compare(self, x: Any, op: str) -> Any:
        if not isinstance(x, (Tensor, np.ndarray, np.generic, bool, int, float, list, tuple)):
            return NotImplemented  # t == None is False, t < "a" a TypeError, as for numbers
        x = self._other(x)
        try:
            return Tensor._make(_kernel(_compare_arrays, self._data, x._data, op=op), None)
        except ValueError as e:
            raise ValueError(f"{op} of shapes {self.shape} and {x.shape}: {e}") from None

    def __eq__(self, x: Any) -> Any: return self._compare(x, "eq")  # type: ignore[override]
    def __ne__(self, x: Any) -> Any: return self._compare(x, "ne")  # type: ignore[override]
    def __lt__(self, x: Any) -> Any: return self._compare(x, "lt")
    def __le__(self, x: Any) -> Any: return self._compare(x, "le")
    def __gt__(self, x: Any) -> Any: return self._compare(x, "gt")
    def __ge__(self, x: Any) -> Any: return self._compare(x, "ge")

    def eq(self, x: Any) -> "Tensor": return self._compare_or_raise(x, "eq")
    def ne(self, x: Any) -> "Tensor": return self._compare_or_raise(x, "ne")
    def lt(self, x: Any) -> "Tensor": return self._compare_or_raise(x, "lt")
    def le(self, x: Any) -> "Tensor": return self._compare_or_raise(x, "le")
    def gt(self, x: Any) -> "Tensor": return self._compare_or_raise(x, "gt")
    def ge(self, x: Any) -> "Tensor": return self._compare_or_raise(x, "ge")

    def _compare_or_raise(self, x: Any, op: str) -> "Tensor":
        out = self._compare(x, op)
        if out is NotImplemented:
            raise TypeError(f"{op}: cannot compare a Tensor with {type(x).__name__}")
        return out

    def any(self) -> "Tensor":
        """True if any element is nonzero (no gradient)."""
        return Tensor._make(_kernel(_truth, self._data, op="any"), None)

    def all(self) -> "Tensor":
        """True if every element is nonzero (no gradient)."""
        return Tensor._make(_kernel(_truth, self._data, op="all"), None)

    def __iter__(self) -> Any:
        """The sub-tensors along the first axis (a 0-d tensor cannot be iterated)."""
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self)))

    def __int__(self) -> int:
        return int(self._one("int()"))

    def __format__(self, spec: str) -> str:
        """A one-element tensor formats as its number (f"{acc:.1%}"), others as repr."""
        if spec and self._data.size == 1:
            return format(self._one("format()"), spec)
        return format(repr(self), spec)

    # --- reverse mode ---------------------------------------------------------------------------
    def backward(self, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Any = None) -> None:
        """Accumulate dC/dt into t.grad for every leaf t that requires grad (and every tensor
        that called retain_grad()), C being this tensor.

        Walks the graph once in reverse topological order. A non-scalar output needs `gradient`
        (dC/d self). The graph is freed afterwards unless `retain_graph=True`. With
        `create_graph=True` the gradients are Tensors whose own graph is recorded, so they can
        be differentiated again (retain_graph then defaults to True), as in PyTorch. A graph
        whose saved tensors were changed in place since (an optimizer step) is refused.
        `inputs` (a Tensor or a sequence of them, leaves or not): accumulate into their .grad
        only, as PyTorch's (a non-leaf among them then retains its gradient).
        """
        if not self._requires_grad:
            raise RuntimeError("backward: this tensor does not require grad and has no graph")
        if inputs is not None:
            from .autograd import grad
            inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
            for t in inputs:  # a non-leaf input retains its gradient from now on, as PyTorch's
                if t._node is not None:
                    t.retain_grad()
            for t, g in zip(inputs, grad(self, inputs, gradient, retain_graph, create_graph,
                                         allow_unused=True)):
                if g is not None and t._node is None:
                    _kernel(_accumulate_grad, t, g if create_graph else g._data, False)
            return
        seed = _seed(self, gradient, create_graph, "backward")
        if not create_graph:
            _backprop([self], [seed], bool(retain_graph), False)
            return
        with enable_grad():
            _backprop([self], [seed], retain_graph is not False, True)

    def retain_grad(self) -> None:
        """Keep this tensor's gradient in .grad after backward(), though it is not a leaf (the
        δ of an intermediate result); leaves keep theirs anyway."""
        if not self._requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad, so it gets none")
        global _retaining
        if self._node is not None:
            self._retains = _retaining = True

    @property
    def retains_grad(self) -> bool:
        return getattr(self, "_retains", False)

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
        index = Tensor._make(_kernel(_argmax, self._data, dim), None)  # the first maximum
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
    dx = g at the maxima, shared evenly among ties (PyTorch's rule for max() and amax);
    d(out) = the mean of dx over the tied maxima"""

    @staticmethod
    def forward(x: np.ndarray, axis: Any, keepdims: bool) -> np.ndarray:
        return x.max(axis=axis, keepdims=keepdims)

    @staticmethod
    def _share(x: np.ndarray, out: np.ndarray, axis: Any) -> np.ndarray:
        """1/(number of ties) at each maximum of x, 0 elsewhere."""
        hits = x == out.reshape(_keepdims(x.shape, axis))
        return hits / hits.sum(axis=axis, keepdims=True, dtype=x.dtype)

    @staticmethod
    def backward(g: Any, out: Any, x: Any, axis: Any, keepdims: bool) -> tuple:
        return (g.reshape(_keepdims(x.shape, axis)) * Max._share(_array(x), _array(out), axis),)

    @staticmethod
    def jvp(t: tuple, out: np.ndarray, x: np.ndarray, axis: Any, keepdims: bool) -> np.ndarray:
        return (t[0] * Max._share(x, out, axis)).sum(axis=axis, keepdims=keepdims)


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
        where = Gather._where(_array(index), dim)
        return IndexAdd.run(g, index=where, shape=x.shape), None

    jvp = staticmethod(lambda t, out, x, index, dim: Gather.forward(t[0], index, dim))


def _maximum_shares(a: np.ndarray, b: np.ndarray, dtype: np.dtype) -> tuple:
    """Where max(a, b)'s gradient goes: 1 to the larger, 1/2 each on ties, 1 to both on NaN."""
    tie = a == b
    return (np.where(tie, 0.5, ~(a < b)).astype(dtype, copy=False),
            np.where(tie, 0.5, ~(a > b)).astype(dtype, copy=False))


class Maximum(Function):
    """max(a, b) elementwise (NaN if either is);
    da = g where a > b, g/2 where a = b (PyTorch's even split on ties);  db likewise;
    d(out) = da or db by the same shares"""
    forward = staticmethod(lambda a, b: np.maximum(a, b))

    @staticmethod
    def backward(g: Any, out: Any, a: Any, b: Any) -> tuple:
        sa, sb = _maximum_shares(_array(a), _array(b), g.dtype)
        return g * sa, g * sb

    @staticmethod
    def jvp(t: tuple, out: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        sa, sb = _maximum_shares(a, b, out.dtype)
        return t[0] * sa + t[1] * sb


class Abs(Function):
    """|x|;  dx = g sign(x) (0 at 0, as PyTorch);  d(out) = sign(x) dx"""
    forward = staticmethod(lambda x: np.abs(x))
    backward = staticmethod(lambda g, out, x: (g * np.sign(_array(x)),))
    jvp = staticmethod(lambda t, out, x: t[0] * np.sign(x))


class Where(Function):
    """a where cond, else b;  da = g where cond (0 elsewhere),  db = g where not cond;
    d(out) = da where cond, else db"""
    forward = staticmethod(lambda cond, a, b: np.where(cond, a, b))

    @staticmethod
    def backward(g: Any, out: Any, cond: Any, a: Any, b: Any) -> tuple:
        zero = np.zeros((), g.dtype)
        return None, Where.run(cond, g, zero), Where.run(cond, zero, g)

    jvp = staticmethod(lambda t, out, cond, a, b: np.where(cond, t[1], t[2]))


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
    return _new(_kernel(_random, "rand", _size(size), np.dtype(dtype)), requires_grad)


def randn(*size: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """Standard normal, from the library's generator (see manual_seed)."""
    return _new(_kernel(_random, "randn", _size(size), np.dtype(dtype)), requires_grad)


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
