"""Derivatives of a function of tensors, with torch.autograd.functional's signatures and
return conventions: a single Tensor in gives a Tensor out, a tuple gives a tuple.

    vjp(func, inputs, v)       (func(inputs), vᵀ J)         one reverse sweep
    jvp(func, inputs, v)       (func(inputs), J v)          one forward pass with tangents
    jacobian(func, inputs)     J, row by row (reverse) or column by column (forward)
    hessian(func, inputs)      the Jacobian of the gradient
    hvp(func, inputs, v)       (func(inputs), H v)          forward mode over reverse mode
    vhp(func, inputs, v)       (func(inputs), vᵀ H)         reverse mode over reverse mode
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..tensor import Tensor, enable_grad
from . import grad
from .forward_ad import dual_level, make_dual, unpack_dual

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]

STRATEGIES = ("reverse-mode", "forward-mode")


def _as_tuple(value: Any, what: str, fn: str) -> tuple[bool, tuple]:
    """(whether value was a tuple or list, its Tensors as a tuple), each checked."""
    is_tuple = isinstance(value, (tuple, list))
    items = tuple(value) if is_tuple else (value,)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            where = f"{what}[{i}]" if is_tuple else what
            raise TypeError(f"{fn}: {where} must be a Tensor, got {type(t).__name__}")
    return is_tuple, items


def _post(items: tuple, is_tuple: bool) -> Any:
    return items if is_tuple else items[0]


def _inputs(inputs: Any, fn: str, create_graph: bool = False) -> tuple[bool, tuple]:
    """The inputs as fresh leaves that require grad (or themselves, to keep their graph, if
    create_graph and they require grad already)."""
    is_tuple, xs = _as_tuple(inputs, "inputs", fn)
    for i, x in enumerate(xs):
        if x.dtype.kind != "f":
            raise TypeError(f"{fn}: inputs must be float tensors, input {i} is {x.dtype}")
    return is_tuple, tuple(x if create_graph and x.requires_grad else
                           x.detach().requires_grad_() for x in xs)


def _call(func: Callable, xs: tuple, fn: str) -> tuple[bool, tuple]:
    if not callable(func):
        raise TypeError(f"{fn}: func must be callable, got {type(func).__name__}")
    with enable_grad():
        out = func(*xs)
    return _as_tuple(out, "the output of func", fn)


def _vectors(v: Any, like: tuple, fn: str, what: str) -> tuple:
    """v (one array or Tensor per tensor of `like`) as arrays of their shapes; None only when
    like is one tensor of one element (v is then 1)."""
    if v is None:
        if len(like) != 1 or like[0].numel() != 1:
            raise RuntimeError(f"{fn}: v can be omitted only when {what} is a single tensor of "
                               f"one element; it has shape(s) {[t.shape for t in like]}")
        return (np.ones(like[0].shape, like[0].dtype),)
    vs = tuple(v) if isinstance(v, (tuple, list)) else (v,)
    if len(vs) != len(like):
        raise RuntimeError(f"{fn}: v has {len(vs)} entries, {what} has {len(like)}")
    arrays = []
    for i, (a, t) in enumerate(zip(vs, like)):
        a = np.asarray(a._data if isinstance(a, Tensor) else a)
        if a.shape != t.shape:
            raise RuntimeError(f"{fn}: v[{i}] has shape {a.shape}, but {what} {i} has shape "
                               f"{t.shape}")
        arrays.append(a.astype(t.dtype))
    return tuple(arrays)


def _plain(t: Tensor | None, like: Tensor) -> Tensor:
    """t without its graph, or zeros of like's shape for an input the output does not use."""
    return Tensor(np.zeros(like.shape, like.dtype)) if t is None else t.detach()


def _strict(grads: tuple, fn: str) -> None:
    for i, g in enumerate(grads):
        if g is None:
            raise RuntimeError(f"{fn}: the output does not depend on input {i} (strict=True)")


def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(*inputs), vᵀ J): v has the output's shape(s); the result the inputs'."""
    in_tuple, xs = _inputs(inputs, "vjp", create_graph)
    out_tuple, outs = _call(func, xs, "vjp")
    vs = _vectors(v, outs, "vjp", "the output")
    used = [(o, g) for o, g in zip(outs, vs) if o.requires_grad]
    grads = grad([o for o, _ in used], xs, [g for _, g in used], create_graph=create_graph,
                 allow_unused=True) if used else (None,) * len(xs)
    if strict:
        _strict(grads, "vjp")
    keep = (lambda g, x: g) if create_graph else _plain
    grads = tuple(keep(g, x) if g is not None else _plain(None, x) for g, x in zip(grads, xs))
    return _post(tuple(o.detach() for o in outs), out_tuple), _post(grads, in_tuple)


def jvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(*inputs), J v) by forward mode: one pass of func on inputs carrying tangents v
    (the inputs' shapes); the result has the output's shape(s)."""
    if create_graph:
        raise NotImplementedError("jvp: forward mode carries tangents as values; create_graph=True "
                                  "is not supported (use vjp or hvp with create_graph)")
    in_tuple, xs = _as_tuple(inputs, "inputs", "jvp")
    vs = _vectors(v, xs, "jvp", "input")
    with dual_level():
        duals = tuple(make_dual(x.detach(), d) for x, d in zip(xs, vs))
        out_tuple, outs = _call(func, duals, "jvp")
        tangents = tuple(unpack_dual(o).tangent for o in outs)
    if strict and any(t is None for t in tangents):
        raise RuntimeError("jvp: an output does not depend on the inputs (strict=True)")
    tangents = tuple(_plain(t, o) for t, o in zip(tangents, outs))
    primals = tuple(Tensor._make(o._data, None) for o in outs)
    return _post(primals, out_tuple), _post(tangents, out_tuple)


def jacobian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """d func(*inputs) / d inputs: for output o and input x a Tensor of shape o.shape + x.shape.
    A Tensor for one input and one output; a tuple over inputs (or outputs) when that is a
    tuple; a tuple over outputs of tuples over inputs when both are.

    strategy "reverse-mode": one vjp per output element (a row of J each);
    "forward-mode": one jvp per input element (a column each). `vectorize` is accepted for
    PyTorch's signature; the rows or columns are computed one by one.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"jacobian: strategy must be one of {STRATEGIES}, got {strategy!r}")
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError("jacobian: strategy='forward-mode' does not support "
                                      "create_graph=True; use the reverse mode")
        return _jacobian_forward(func, inputs, strict)
    in_tuple, xs = _inputs(inputs, "jacobian", create_graph)
    out_tuple, outs = _call(func, xs, "jacobian")
    rows = []
    for o in outs:
        blocks = [np.zeros(o.shape + x.shape, o.dtype) for x in xs]
        graphs: list = [[] for _ in xs]
        used = [False] * len(xs)
        if o.requires_grad:
            for j in np.ndindex(o.shape):
                onehot = np.zeros(o.shape, o.dtype)
                onehot[j] = 1
                gs = grad(o, xs, onehot, retain_graph=True, create_graph=create_graph,
                          allow_unused=True)
                for k, g in enumerate(gs):
                    if g is not None:
                        used[k] = True
                        blocks[k][j] = g._data
                        graphs[k].append(g)
        if strict and not all(used):
            raise RuntimeError(f"jacobian: the output does not depend on input {used.index(False)} "
                               "(strict=True)")
        if create_graph:  # stack the rows as ops, so the Jacobian keeps their graph
            from ..tensor import stack
            row = tuple(stack(gs).reshape(o.shape + x.shape) if len(gs) == o.numel() else
                        Tensor(b) for gs, b, x in zip(graphs, blocks, xs))
        else:
            row = tuple(Tensor._make(b, None) for b in blocks)
        rows.append(_post(row, in_tuple))
    return _post(tuple(rows), out_tuple)


def _jacobian_forward(func: Callable, inputs: Any, strict: bool) -> Any:
    in_tuple, xs = _as_tuple(inputs, "inputs", "jacobian")
    columns: dict = {}
    out_shapes = out_tuple = None
    used: set = set()
    for k, x in enumerate(xs):
        for i in np.ndindex(x.shape):
            vs = [np.zeros(t.shape, t.dtype) for t in xs]
            vs[k][i] = 1
            with dual_level():
                duals = tuple(make_dual(t.detach().requires_grad_(), d)
                              for t, d in zip(xs, vs))
                out_tuple, outs = _call(func, duals, "jacobian")
                tangents = [unpack_dual(o).tangent for o in outs]
            out_shapes = [(o.shape, o.dtype) for o in outs]
            for m, t in enumerate(tangents):
                if t is not None:
                    used.add(k)
                    columns[m, k, i] = t._data
    if out_shapes is None:  # every input is empty: evaluate func once for the output shapes
        out_tuple, outs = _call(func, xs, "jacobian")
        out_shapes = [(o.shape, o.dtype) for o in outs]
    if strict and len(used) < len(xs):
        missing = min(set(range(len(xs))) - used)
        raise RuntimeError(f"jacobian: the output does not depend on input {missing} (strict=True)")
    rows = []
    for m, (shape, dtype) in enumerate(out_shapes):
        blocks = []
        for k, x in enumerate(xs):
            J = np.zeros(shape + x.shape, dtype)
            for i in np.ndindex(x.shape):
                col = columns.get((m, k, i))
                if col is not None:
                    J[(...,) + i] = col
            blocks.append(Tensor._make(J, None))
        rows.append(_post(tuple(blocks), in_tuple))
    return _post(tuple(rows), out_tuple)


def _scalar(out: tuple, fn: str) -> Tensor:
    if len(out) != 1 or out[0].numel() != 1:
        raise RuntimeError(f"{fn}: func must return a single Tensor of one element, got shape(s) "
                           f"{[o.shape for o in out]}")
    return out[0]


def hessian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """d² func / d inputs²for a func with one-element output: for one input x a Tensor of shape
    x.shape + x.shape; for a tuple of inputs a tuple of tuples (H[i][j] = d²f / dxᵢ dxⱼ).
    The Jacobian of the gradient (taken with create_graph), by outer_jacobian_strategy."""
    in_tuple, _ = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*xs: Tensor) -> Any:
        out = _scalar(_call(func, xs, "hessian")[1], "hessian")
        if not out.requires_grad:
            gs = (None,) * len(xs)
        else:
            gs = grad(out, xs, create_graph=True, allow_unused=True)
        if strict:
            _strict(gs, "hessian")
        gs = tuple(Tensor(np.zeros(x.shape, x.dtype)) if g is None else g for g, x in zip(gs, xs))
        return _post(gs, in_tuple)

    return jacobian(gradient, inputs, create_graph=create_graph, strict=False,
                    strategy=outer_jacobian_strategy)


def hvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(*inputs), H v) for a func with one-element output: the tangent of the gradient
    (forward mode over the reverse sweep), about the cost of two gradients; with
    create_graph=True, by reverse mode twice (differentiable again)."""
    in_tuple, xs = _as_tuple(inputs, "inputs", "hvp")
    vs = _vectors(v, xs, "hvp", "input")
    if create_graph:
        return _vhp(func, inputs, vs, True, strict, "hvp")  # H is symmetric: vᵀH = (Hv)ᵀ
    with dual_level():
        duals = tuple(make_dual(x.detach().requires_grad_(), d) for x, d in zip(xs, vs))
        out = _scalar(_call(func, duals, "hvp")[1], "hvp")
        gs = grad(out, duals, create_graph=True, allow_unused=True) if out.requires_grad \
            else (None,) * len(xs)
        if strict:
            _strict(gs, "hvp")
        hv = tuple(_plain(None if g is None else unpack_dual(g).tangent, x)
                   for g, x in zip(gs, xs))
    return Tensor._make(out._data, None), _post(hv, in_tuple)


def vhp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(*inputs), vᵀ H) for a func with one-element output, by reverse mode twice: the
    gradient with create_graph, then its vjp with v."""
    _, xs = _as_tuple(inputs, "inputs", "vhp")
    return _vhp(func, inputs, _vectors(v, xs, "vhp", "input"), create_graph, strict, "vhp")


def _vhp(func: Callable, inputs: Any, vs: tuple, create_graph: bool, strict: bool,
         fn: str) -> tuple[Any, Any]:
    in_tuple, xs = _inputs(inputs, fn, create_graph)
    out = _scalar(_call(func, xs, fn)[1], fn)
    gs = grad(out, xs, create_graph=True, allow_unused=True) if out.requires_grad \
        else (None,) * len(xs)
    if strict:
        _strict(gs, fn)
    used = [(g, d) for g, d in zip(gs, vs) if g is not None and g.requires_grad]
    second = grad([g for g, _ in used], xs, [d for _, d in used], create_graph=create_graph,
                  allow_unused=True) if used else (None,) * len(xs)
    keep = (lambda g, x: g) if create_graph else _plain
    result = tuple(keep(g, x) if g is not None else _plain(None, x) for g, x in zip(second, xs))
    return Tensor._make(out._data, None), _post(result, in_tuple)
