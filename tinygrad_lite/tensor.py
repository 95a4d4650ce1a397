"""The engine: `Tensor`, the graph its ops record, and the reverse sweep that walks it.

Top to bottom: the engine's state (who observes it: `tinygrad_lite.observer`);
`Node` and `no_grad`; `Function`, the base of every op, whose `apply` runs an op's forward and
records its node; the reverse sweep (`unbroadcast`, `toposort`, `backprop`: backward(),
autograd.grad and create_graph all go through it); `Tensor`, whose methods call the ops.

The ops live in `tinygrad_lite/ops/`, each a `Function` with forward, backward and jvp (the
tangent rule) side by side. `g` is dC/d(out) for the final scalar C; each gradient has the shape
of the broadcast result, and the engine sums it back to its input's shape in one place
(`unbroadcast`). Each op registers itself by name in `ops`; Tensor's op methods
(tensor_methods.py) call `ops.Add.apply(a, b)`, so the engine does not import the ops package.
"""
from __future__ import annotations

import contextlib
import inspect
import itertools
import operator
from typing import Any, Callable, Iterator

import numpy as np

from . import observer
from .errors import DimError, ShapeError
from .tensor_methods import TensorMethods, ops
from .observer import kernel, to_python, unsupported

_grad_enabled = True
_tangents: Any = None  # forward mode's tangents (forward_ad.Duals) inside a dual_level
_retaining = False  # whether retain_grad() was ever called (else backward skips looking)
_next_number = itertools.count().__next__  # tensors are numbered as they are made
_creation_order = operator.attrgetter("_n")
_requires_grad = operator.attrgetter("_requires_grad")
_last_change = -1  # when a tensor was last changed in place, on the tensors' numbering
_replaced = 0  # how many times a tensor's array was replaced (t.data = ...)


def composite(fn: Callable) -> Callable:
    """Register fn, an op of tinygrad_lite.ops made of other ops, in `ops` by its name."""
    setattr(ops, fn.__name__, fn)
    return fn


def mark_changed(*tensors: Tensor) -> None:
    """Note that these tensors' arrays were changed in place, so backward() refuses a graph
    made before (its saved values are stale). The date is a number from the sequence that
    numbers tensors, so a result made after the change has a larger number."""
    global _last_change
    _last_change = _next_number()
    for t in tensors:
        t._changed = _last_change


def replacements() -> int:
    """How many times a tensor's array was replaced by `t.data = ...` (capture checks it)."""
    return _replaced


def next_number() -> int:
    """A number from the sequence that numbers tensors as they are made (Tensor.number)."""
    return _next_number()


@contextlib.contextmanager
def forward_mode(duals: Any) -> Iterator[Any]:
    """Forward mode's scope (autograd.forward_ad.dual_level): while it lasts, each op's result
    gets its tangent from `duals.push(op, tensors, arrays, params, result)`."""
    global _tangents
    if _tangents is not None:
        raise RuntimeError("dual_level: forward mode is already on (levels do not nest)")
    unsupported("forward mode (dual_level, jvp, hvp)", "tangents are not recorded, so a replay "
                "would not recompute them")
    _tangents = duals
    try:
        yield duals
    finally:
        _tangents = None


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


def is_grad_enabled() -> bool:
    return _grad_enabled


# ----------------------------------------------------------------------------------------------
# Ops


class Function:
    """Base class of every op: subclasses define static `forward`, `backward` and `jvp`.

        forward(*arrays, **params) -> out
        backward(g, out, *inputs, **params) -> one gradient (or None) per input   (reverse mode)
        jvp(tangents, out, *arrays, **params) -> the tangent of out               (forward mode)

    A backward rule works on arrays (the fast path) and on Tensors (create_graph=True, which
    records it as a graph that can be differentiated again): it uses operators, methods both
    have, and other ops through `Op.run`; masks of values (ReLU's x > 0) come from `data_of`.
    `tangents` holds one array per input (zeros for an input without one). A backward with a
    `needs` parameter is told which inputs need a gradient; a non-float result has none.
    """

    takes_needs = False  # set for subclasses whose backward has a `needs` parameter
    jvp: Any = None

    def __init_subclass__(cls) -> None:
        if "backward" in cls.__dict__:
            cls.takes_needs = "needs" in inspect.signature(cls.backward).parameters
        if cls.__module__.startswith(__name__.rpartition(".")[0] + ".ops."):
            setattr(ops, cls.__name__, cls)

    @classmethod
    def apply(cls, *tensors: Tensor, **params: Any) -> Tensor:
        arrays = [t._data for t in tensors]
        try:
            out = cls.forward(*arrays, **params)
        except ValueError as e:
            shapes = " and ".join(str(t.shape) for t in tensors)
            plural = "s" if len(tensors) > 1 else ""
            error = DimError if isinstance(e, IndexError) else ShapeError  # AxisError: a dim
            raise error(f"{cls.__name__.lower()} of shape{plural} {shapes}: {e}") from None
        if out.__class__ is not np.ndarray:  # numpy returns scalars for 0-d results
            out = np.asarray(out)
        if observer.current is not None:
            observer.current.kernel(cls.forward, arrays, params, out, tensors)
        node = None
        if _grad_enabled and out.dtype.kind == "f" and any(map(_requires_grad, tensors)):
            if cls.takes_needs:  # params is this call's own dict
                params["needs"] = tuple(map(_requires_grad, tensors))
            node = Node(cls, tensors, arrays, params)
        result = Tensor._make(out, node)
        if _tangents and out.dtype.kind == "f":
            _tangents.push(cls, tensors, arrays, params, result)
        return result

    @classmethod
    def run(cls, *args: Any, **params: Any) -> Any:
        """The op on arrays (its forward), or on Tensors (apply: recorded in the graph) if any
        argument is a Tensor; backward rules call other ops this way."""
        for a in args:
            if isinstance(a, Tensor):
                return cls.apply(*(_constant(v, a) for v in args), **params)
        return cls.forward(*args, **params)


def _constant(v: Any, like: Tensor) -> Tensor:
    """v as a Tensor: itself if it is one, else a constant (a Python number takes like's dtype)."""
    if isinstance(v, Tensor):
        return v
    if isinstance(v, (int, float)):
        return Tensor._make(np.asarray(v, like.dtype), None)
    return Tensor._make(np.asarray(v), None)


def data_of(v: Any) -> np.ndarray:
    """The values of an array or a Tensor, unobserved: for masks and weights that are constants
    of a rule, and for the library's own kernels (optimizers, layers) that run as recorded."""
    return v._data if isinstance(v, Tensor) else v


def grad_of(t: Tensor) -> np.ndarray | None:
    """t's gradient as an array (the values of a Tensor grad made by create_graph), unobserved:
    for optimizers, whose step runs as a recorded kernel."""
    g = t._grad
    return g._data if isinstance(g, Tensor) else g


def from_numpy(data: np.ndarray) -> Tensor:
    """A leaf Tensor sharing `data` (no copy, no checks): for the library's own results."""
    return Tensor._make(data, None)


# ----------------------------------------------------------------------------------------------
# The reverse sweep: sum a gradient back to its input's shape, store a leaf's gradient, refuse
# stale graphs, order the graph, and walk it.


def unbroadcast(g: Any, shape: tuple, dtype: np.dtype) -> Any:
    """Sum g (an array, or a Tensor under create_graph) over the axes broadcasting added or
    stretched, so it has `shape`; cast to dtype."""
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = g.sum(axis=stretched, keepdims=True)
    assert g.shape == shape, f"gradient of shape {g.shape} cannot be reduced to {shape}"
    return g if g.dtype == dtype else ops.Cast.run(g, dtype=dtype)


def zero_grads(params: list) -> None:
    """Set each tensor's grad to None (zero_grad of modules and optimizers)."""
    for p in params:
        p._grad = None


def _accumulate_grad(t: Tensor, g: Any, copy: bool) -> None:
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


def toposort(roots: list) -> list:
    """The tensors that require grad behind the roots, outputs before inputs. Every tensor is
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


def backprop(roots: list, seeds: list, retain_graph: bool, create_graph: bool,
             wanted: dict | None = None) -> None:
    """The reverse sweep that backward() and autograd.grad share: pull the seeds dC/d(root)
    back through the graph, each tensor once, in reverse topological order. Gradients are
    arrays, or Tensors if `create_graph` (the sweep is then recorded as ops, so its results can
    be differentiated again). Leaves that require grad, and tensors that retain_grad(),
    accumulate theirs into .grad; if `wanted` is given (autograd.grad), the gradients of its
    keys are put there instead, and only tensors that retain_grad() get theirs."""
    if not create_graph:
        return _sweep(roots, seeds, retain_graph, False, wanted)
    unsupported("create_graph=True (backward or autograd.grad)", "the gradient's own graph "
                "uses masks of values (ReLU's x > 0), which a replay would not recompute")
    with enable_grad():
        _sweep(roots, seeds, retain_graph, True, wanted)


def _sweep(roots: list, seeds: list, retain_graph: bool, create_graph: bool,
           wanted: dict | None) -> None:
    grads = {roots[0]: seeds[0]}  # tensor -> dC/d(tensor) summed over its uses so far
    for r, s in zip(roots[1:], seeds[1:]):
        grads[r] = grads[r] + s if r in grads else s
    stored = set(map(id, seeds))  # ids of arrays a leaf must copy: seeds, grads stored already
    order = toposort(roots)
    if _last_change > (roots[0]._n if len(roots) == 1 else min(r._n for r in roots)):
        _check_unchanged(order)  # something was changed in place since the graph was made
    last = min(t._n for t in wanted) if wanted else -1  # no gradient below it is wanted
    for t in order:
        g = grads.pop(t, None)
        if g is None:
            continue
        if _retaining and getattr(t, "_retains", False):
            kernel(_accumulate_grad, t, g, not create_graph)
        if wanted is not None and t in wanted:
            wanted[t] = g
            if t._n == last:
                return
        if t._node is not None:
            _backward_node(t, g, grads, retain_graph, create_graph)
        elif wanted is None:
            _store_leaf(t, g, create_graph, stored)


def _store_leaf(t: Tensor, g: Any, create_graph: bool, stored: set) -> None:
    """t.grad += g for a leaf, copying g if it is a view or an array stored before."""
    if create_graph:
        t._grad = g if t._grad is None else t._grad + g
        return
    copy = g.base is not None or id(g) in stored or g.ndim == 0
    stored.add(id(g))
    if observer.current is None and t._grad is None and not copy:
        t._grad = g  # the common case of _accumulate_grad, inlined for speed
    else:
        kernel(_accumulate_grad, t, g, copy)


def _backward_node(t: Tensor, g: Any, grads: dict, retain_graph: bool,
                   create_graph: bool) -> None:
    """Apply the backward rule of the op that made t, adding each input's share into grads."""
    node = t._node
    if node.saved is None:
        raise RuntimeError(
            "trying to backward through the graph a second time: backward() frees the "
            "graph; call backward(retain_graph=True) the first time to keep it")
    fn, parents, arrays, params = node.op, node.parents, node.saved, node.params
    if create_graph:
        pgs = fn.backward(g, t, *parents, **params)
    else:
        pgs = fn.backward(g, t._data, *arrays, **params)
        if observer.current is not None:
            observer.current.kernel(fn.backward, (g, t._data, *arrays), params, pgs)
    if not retain_graph:
        node.parents, node.saved = (), None
    for p, d, pg in zip(parents, arrays, pgs):
        if pg is None or not p._requires_grad:
            continue
        if pg.shape != d.shape or pg.dtype != d.dtype:
            pg = unbroadcast(pg, d.shape, d.dtype) if create_graph else \
                kernel(unbroadcast, pg, d.shape, d.dtype)
        if p not in grads:
            grads[p] = pg
        else:
            grads[p] = grads[p] + pg if create_graph else kernel(np.add, grads[p], pg)


def initial_gradient(out: Tensor, gradient: Any, create_graph: bool, fn: str) -> Any:
    """dC/d(out) to start a reverse sweep: ones for a one-element out, else `gradient` checked to
    have out's shape (an array; a Tensor if create_graph)."""
    data = out._data
    if gradient is None:
        if data.size != 1:
            raise RuntimeError(f"{fn}: the output has shape {data.shape}; a non-scalar output "
                               "needs a gradient (an array of that shape)")
        seed = np.array(1, data.dtype, ndmin=data.ndim)  # ones of out's shape (size 1)
    elif create_graph and isinstance(gradient, Tensor):
        seed = gradient if gradient.dtype == data.dtype else \
            ops.Cast.run(gradient, dtype=data.dtype)
    else:
        given = gradient._data if isinstance(gradient, Tensor) else gradient
        seed = kernel(np.array, given, dtype=data.dtype)
    if seed.shape != data.shape:
        raise ShapeError(f"{fn}: gradient has shape {seed.shape}, output has shape {data.shape}")
    if create_graph and not isinstance(seed, Tensor):
        seed = Tensor._make(seed, None)
    return seed


# ----------------------------------------------------------------------------------------------
# Tensor


def _as_array(data: Any, dtype: Any = None) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data._data
    if isinstance(data, np.ndarray):
        arr = data if dtype is None or data.dtype == dtype else data.astype(dtype)
        if observer.current is not None:
            observer.current.new_array(data, arr)
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


@composite
def operand(like: Tensor, x: Any) -> Tensor:
    """x as the other operand of an op on `like`: itself if a Tensor, a Python number as a
    constant of like's kind, an array or list as a Tensor."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.generic) and x.ndim == 0 and x.dtype.kind in "fiub":
        x = x.item()  # a numpy scalar acts as the Python number it holds, as in PyTorch
    if isinstance(x, (bool, int, float)):
        return Tensor._make(np.asarray(x, np.result_type(like._data, x)), None)
    if isinstance(x, (np.ndarray, np.generic, list, tuple)):
        literal = isinstance(x, (list, tuple)) and like.dtype.kind == "f"
        return Tensor(x, dtype=like.dtype if literal else None)  # [1.5] never truncated
    raise TypeError(f"unsupported operand type for a Tensor op: {type(x).__name__}")


class Tensor(TensorMethods):
    """An n-dimensional array that records the ops applied to it, for reverse-mode autodiff.
    `data` is the numpy array (a numpy array given is wrapped, not copied); `grad` is dC/d(data)
    after `C.backward()`, or None. Python floats and lists become float32, PyTorch's default.
    Comparisons are elementwise (bool tensors); hashing stays by identity."""

    # _data, _grad: the arrays (`data` and `grad` are the observed views); _node: how it was
    # made (None for a leaf); _n: its number; _changed: its last in-place change (mark_changed).
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
        to_python(".data")
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        """Replace the values (`t.data += d` changes them in place): graphs that saved the old
        values can no longer be differentiated."""
        to_python("setting .data")
        arr = _as_array(value)
        if arr.dtype.kind != "f" and self._requires_grad:
            raise TypeError(f"data: a tensor that requires grad needs float data, got {arr.dtype}")
        global _replaced
        self._data, _replaced = arr, _replaced + 1
        mark_changed(self)

    @property
    def grad(self) -> np.ndarray | None:
        """dC/d(data) after C.backward(), or None. Capture refuses reading or setting it."""
        to_python(".grad")
        return self._grad

    @grad.setter
    def grad(self, value: np.ndarray | None) -> None:
        to_python("setting .grad (use zero_grad())")
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
    node = property(lambda self: self._node)  # how it was made (a Node), None for a leaf
    number = property(lambda self: self._n)  # its place in the order tensors were made

    @property
    def grad_fn(self) -> type | None:
        """The op that made this tensor (None for a leaf)."""
        return None if self._node is None else self._node.op

    def _values(self, how: str) -> np.ndarray:
        """The array, for a way its values reach Python (each one guarded, see _guard)."""
        to_python(how)
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
            raise ShapeError(
                f"{how} needs a tensor with one element, this one has shape {self.shape}")
        return data.item()

    def tolist(self) -> Any:
        return self._values("tolist()").tolist()

    def __float__(self) -> float:
        return float(self._one("float()"))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise ShapeError(f"the truth value of a Tensor of shape {self.shape} is ambiguous; "
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
            return ops.Cast.apply(self, dtype=dtype)
        return Tensor._make(kernel(np.asarray, self._data, dtype=dtype), None)

    def double(self) -> "Tensor": return self.to(np.float64)
    def float(self) -> "Tensor": return self.to(np.float32)

    def detach(self) -> "Tensor":
        """The same data, cut from the graph."""
        return Tensor._make(self._data, None)

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
        that called retain_grad()), C being this tensor, as PyTorch's: a non-scalar C needs
        `gradient` (dC/dC); the graph is freed unless retain_graph; create_graph records the
        gradients' own graph (retain_graph then defaults to True); `inputs` limits the
        accumulation to those tensors. A graph changed in place since is refused."""
        if not self._requires_grad:
            raise RuntimeError("backward: this tensor does not require grad and has no graph")
        if inputs is not None:
            return self._backward_into(inputs, gradient, retain_graph, create_graph)
        seed = initial_gradient(self, gradient, create_graph, "backward")
        retain = bool(retain_graph) if not create_graph else retain_graph is not False
        backprop([self], [seed], retain, create_graph)

    def _backward_into(self, inputs: Any, gradient: Any, retain_graph: bool | None,
                       create_graph: bool) -> None:
        """backward(inputs=...): accumulate into the given tensors' .grad only."""
        inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
        wanted = dict.fromkeys(inputs)
        for t in inputs:  # a non-leaf input retains its gradient from now on, as PyTorch's
            if t._node is not None:
                t.retain_grad()
        seed = initial_gradient(self, gradient, create_graph, "backward")
        retain = create_graph if retain_graph is None else retain_graph
        backprop([self], [seed], retain, create_graph, wanted)
        for t, g in wanted.items():
            if g is not None and t._node is None:
                kernel(_accumulate_grad, t, g, not create_graph)

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
