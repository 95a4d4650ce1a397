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

from ..ops.movement import stack
from ..tensor import Tensor, data_of, enable_grad, from_numpy, kernel, toposort
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


def _vectors(v: Any, like: tuple, fn: str, what: str, create_graph: bool = False) -> tuple:
    """v (one array or Tensor per tensor of `like`) as arrays of their shapes (as Tensors, with
    their graph, if create_graph: the result is then differentiable in v too); None only when
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
        if not (create_graph and isinstance(a, Tensor)):  # cast where used (a capture
            a = np.asarray(data_of(a) if isinstance(a, Tensor) else a)  # records it there)
        if a.shape != t.shape:
            raise RuntimeError(f"{fn}: v[{i}] has shape {a.shape}, but {what} {i} has shape "
                               f"{t.shape}")
        if a.dtype.kind not in "fiub":
            raise TypeError(f"{fn}: v[{i}] must be numbers, got {a.dtype}")
        arrays.append(a.to(t.dtype) if isinstance(a, Tensor) else a)
    return tuple(arrays)


def _plain(t: Tensor | None, like: Tensor) -> Tensor:
    """t without its graph, or zeros of like's shape for an input the output does not use."""
    return Tensor(np.zeros(like.shape, like.dtype)) if t is None else t.detach()


def _outputs(outs: tuple, create_graph: bool) -> tuple:
    """func's outputs as returned: with their graph if create_graph (as PyTorch), else cut."""
    return outs if create_graph else tuple(o.detach() for o in outs)


def _strict(grads: tuple, fn: str) -> None:
    for i, g in enumerate(grads):
        if g is None:
            raise RuntimeError(f"{fn}: the output does not depend on input {i} (strict=True)")


def _strict_second(grads: tuple, fn: str) -> None:
    """strict=True for second derivatives: each gradient must depend on the inputs."""
    for i, g in enumerate(grads):
        if g is None or not g.requires_grad:
            raise RuntimeError(f"{fn}: the gradient with respect to input {i} does not depend on "
                               "the inputs (the function is linear in it; strict=True)")


def _reached(outs: tuple, xs: tuple) -> list:
    """Whether each of xs is in the graph behind outs (what strict=True checks)."""
    roots = [o for o in outs if o.requires_grad]
    behind = set(toposort(roots)) if roots else set()
    return [x in behind for x in xs]


def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(*inputs), vᵀ J): v has the output's shape(s); the result the inputs'."""
    in_tuple, xs = _inputs(inputs, "vjp", create_graph)
    out_tuple, outs = _call(func, xs, "vjp")
    vs = _vectors(v, outs, "vjp", "the output", create_graph)
    used = [(o, g) for o, g in zip(outs, vs) if o.requires_grad]
    grads = grad([o for o, _ in used], xs, [g for _, g in used], create_graph=create_graph,
                 allow_unused=True) if used else (None,) * len(xs)
    if strict:
        _strict(grads, "vjp")
    keep = (lambda g, x: g) if create_graph else _plain
    grads = tuple(keep(g, x) if g is not None else _plain(None, x) for g, x in zip(grads, xs))
    return _post(_outputs(outs, create_graph), out_tuple), _post(grads, in_tuple)


def jvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(*inputs), J v) by forward mode: one pass of func on inputs carrying tangents v
    (the inputs' shapes); the result has the output's shape(s).

    Tangents are values, not graphs: with create_graph=True (J v differentiable again, in the
    inputs and in v), J v is taken by reverse mode twice instead, as the derivative in u of
    the vjp uᵀJ (which is linear in u)."""
    if create_graph:
        return _jvp_by_reverse(func, inputs, v, strict)
    in_tuple, xs = _as_tuple(inputs, "inputs", "jvp")
    vs = _vectors(v, xs, "jvp", "input")
    with dual_level(), enable_grad():
        duals = tuple(make_dual(x.detach().requires_grad_(strict), d) for x, d in zip(xs, vs))
        out_tuple, outs = _call(func, duals, "jvp")
        tangents = tuple(unpack_dual(o).tangent for o in outs)
    if strict:
        _strict_jvp(outs, duals)
    tangents = tuple(_plain(t, o) for t, o in zip(tangents, outs))
    primals = tuple(from_numpy(data_of(o)) for o in outs)
    return _post(primals, out_tuple), _post(tangents, out_tuple)


def _strict_jvp(outs: tuple, xs: tuple) -> None:
    for i, o in enumerate(outs):
        if not o.requires_grad:
            raise RuntimeError(f"jvp: output {i} does not depend on the inputs (strict=True)")
    reached = _reached(outs, xs)
    if not all(reached):
        raise RuntimeError(f"jvp: the output does not depend on input {reached.index(False)} "
                           "(strict=True)")


def _jvp_by_reverse(func: Callable, inputs: Any, v: Any, strict: bool) -> tuple[Any, Any]:
    """jvp with create_graph: J v = d/du (uᵀJ) v, by reverse mode twice, keeping the graph."""
    in_tuple, xs = _inputs(inputs, "jvp", True)
    vs = _vectors(v, xs, "jvp", "input", True)
    out_tuple, outs = _call(func, xs, "jvp")
    if strict:
        _strict_jvp(outs, xs)
    used = [(o, Tensor(np.zeros(o.shape, o.dtype), requires_grad=True)) for o in outs
            if o.requires_grad]  # u for each output with a graph (the others: J v = 0)
    us = [u for _, u in used]
    gs = grad([o for o, _ in used], xs, us, create_graph=True, allow_unused=True) if used else ()
    pairs = [(g, d) for g, d in zip(gs, vs) if g is not None and g.requires_grad]
    jvs = grad([g for g, _ in pairs], us, [d for _, d in pairs], create_graph=True,
               allow_unused=True) if pairs else (None,) * len(us)
    found = {id(o): t for (o, _), t in zip(used, jvs)}
    jv = tuple(_plain(None, o) if found.get(id(o)) is None else found[id(o)] for o in outs)
    return _post(outs, out_tuple), _post(jv, out_tuple)


def jacobian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """d func(*inputs) / d inputs: for output o and input x a Tensor of shape o.shape + x.shape.
    A Tensor for one input and one output; a tuple over inputs (or outputs) when that is a
    tuple; a tuple over outputs of tuples over inputs when both are.

    strategy "reverse-mode": one vjp per output element (a row of J each);
    "forward-mode": one jvp per input element (a column each). `vectorize` is accepted for
    PyTorch's signature; the rows or columns are computed one by one.
    """
    return _jacobian(func, inputs, create_graph, strict, strategy, "jacobian")


def _jacobian(func: Callable, inputs: Any, create_graph: bool, strict: bool, strategy: str,
              fn: str) -> Any:
    if strategy not in STRATEGIES:
        raise ValueError(f"{fn}: strategy must be one of {STRATEGIES}, got {strategy!r}")
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError(f"{fn}: strategy='forward-mode' does not support "
                                      "create_graph=True; use the reverse mode")
        return _jacobian_forward(func, inputs, strict, fn)
    in_tuple, xs = _inputs(inputs, fn, create_graph)
    out_tuple, outs = _call(func, xs, fn)
    rows = []
    for m, o in enumerate(outs):
        blocks = [np.zeros(o.shape + x.shape, x.dtype) for x in xs]
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
                        blocks[k][j] = data_of(g)
                        graphs[k].append(g)
        if strict and not all(used):
            _independent(fn, m, used.index(False))
        if create_graph:  # stack the rows as ops, so the Jacobian keeps their graph
            row = tuple(stack(gs).reshape(o.shape + x.shape) if len(gs) == o.numel() else
                        Tensor(b) for gs, b, x in zip(graphs, blocks, xs))
        else:  # the rows stacked by a kernel, so that a captured step recomputes them
            row = tuple(from_numpy(kernel(_stack, [data_of(g) for g in gs], b.shape)
                                   if len(gs) == o.numel() > 0 else b)
                        for gs, b in zip(graphs, blocks))
        rows.append(_post(row, in_tuple))
    return _post(tuple(rows), out_tuple)


def _stack(rows: list, shape: tuple) -> np.ndarray:
    return np.stack(rows).reshape(shape)


def _independent(fn: str, m: int, k: int) -> None:
    """strict=True's error: output m (the gradient in input m, for hessian) ignores input k."""
    what = "the gradient with respect to input" if fn == "hessian" else "output"
    raise RuntimeError(f"{fn}: {what} {m} does not depend on input {k} (strict=True)")


def _jacobian_forward(func: Callable, inputs: Any, strict: bool, fn: str) -> Any:
    """The Jacobian column by column: input k's element i alone carries a tangent (one-hot)."""
    in_tuple, xs = _as_tuple(inputs, "inputs", fn)
    columns: dict = {}
    out_shapes = out_tuple = None
    for k, x in enumerate(xs):
        for i in np.ndindex(x.shape):
            d = np.zeros(x.shape, x.dtype)
            d[i] = 1
            with dual_level(), enable_grad():
                duals = tuple(make_dual(t.detach().requires_grad_(), d) if n == k else
                              t.detach().requires_grad_() for n, t in enumerate(xs))
                out_tuple, outs = _call(func, duals, fn)
                tangents = [unpack_dual(o).tangent for o in outs]
            out_shapes = [(o.shape, o.dtype) for o in outs]
            for m, t in enumerate(tangents):
                if t is not None:
                    columns[m, k, i] = data_of(t)
    if out_shapes is None:  # every input is empty: evaluate func once for the output shapes
        out_tuple, outs = _call(func, xs, fn)
        out_shapes = [(o.shape, o.dtype) for o in outs]
    rows = []
    for m, (shape, dtype) in enumerate(out_shapes):
        blocks = []
        for k, x in enumerate(xs):
            J = np.zeros(shape + x.shape, dtype)
            for i in np.ndindex(x.shape):
                col = columns.get((m, k, i))
                if col is not None:
                    J[(...,) + i] = col
            if strict and x.size and not any((m, k, i) in columns for i in np.ndindex(x.shape)):
                _independent(fn, m, k)
            blocks.append(from_numpy(J))
        rows.append(_post(tuple(blocks), in_tuple))
    return _post(tuple(rows), out_tuple)


def _scalar(out: tuple, fn: str) -> Tensor:
    if len(out) != 1 or out[0].numel() != 1:
        raise RuntimeError(f"{fn}: func must return a single Tensor of one element, got shape(s) "
                           f"{[o.shape for o in out]}")
    return out[0]


def hessian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """d² func / d inputs² for a func with one-element output: for one input x a Tensor of shape
    x.shape + x.shape; for a tuple of inputs a tuple of tuples (H[i][j] = d²f / dxᵢ dxⱼ).
    The Jacobian of the gradient (taken with create_graph), by outer_jacobian_strategy;
    strict=True refuses a block H[i][j] that is zero because the gradient in xᵢ ignores xⱼ."""
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

    return _jacobian(gradient, inputs, create_graph, strict, outer_jacobian_strategy, "hessian")


def hvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(*inputs), H v) for a func with one-element output: the tangent of the gradient
    (forward mode over the reverse sweep), about the cost of two gradients; with
    create_graph=True, by reverse mode twice (differentiable again, in the inputs and in v)."""
    in_tuple, xs = _as_tuple(inputs, "inputs", "hvp")
    vs = _vectors(v, xs, "hvp", "input", create_graph)
    if create_graph:
        return _vhp(func, inputs, vs, True, strict, "hvp")  # H is symmetric: vᵀH = (Hv)ᵀ
    with dual_level(), enable_grad():
        duals = tuple(make_dual(x.detach().requires_grad_(), d) for x, d in zip(xs, vs))
        out = _scalar(_call(func, duals, "hvp")[1], "hvp")
        gs = grad(out, duals, create_graph=True, allow_unused=True) if out.requires_grad \
            else (None,) * len(xs)
        if strict:
            _strict(gs, "hvp")
            _strict_second(gs, "hvp")
        hv = tuple(_plain(None if g is None else unpack_dual(g).tangent, x)
                   for g, x in zip(gs, xs))
    return from_numpy(data_of(out)), _post(hv, in_tuple)


def vhp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(*inputs), vᵀ H) for a func with one-element output, by reverse mode twice: the
    gradient with create_graph, then its vjp with v."""
    _, xs = _as_tuple(inputs, "inputs", "vhp")
    vs = _vectors(v, xs, "vhp", "input", create_graph)
    return _vhp(func, inputs, vs, create_graph, strict, "vhp")


def _vhp(func: Callable, inputs: Any, vs: tuple, create_graph: bool, strict: bool,
         fn: str) -> tuple[Any, Any]:
    in_tuple, xs = _inputs(inputs, fn, create_graph)
    out = _scalar(_call(func, xs, fn)[1], fn)
    gs = grad(out, xs, create_graph=True, allow_unused=True) if out.requires_grad \
        else (None,) * len(xs)
    if strict:
        _strict(gs, fn)
        _strict_second(gs, fn)
    used = [(g, d) for g, d in zip(gs, vs) if g is not None and g.requires_grad]
    second = grad([g for g, _ in used], xs, [d for _, d in used], create_graph=create_graph,
                  allow_unused=True) if used else (None,) * len(xs)
    keep = (lambda g, x: g) if create_graph else _plain
    result = tuple(keep(g, x) if g is not None else _plain(None, x) for g, x in zip(second, xs))
    return _outputs((out,), create_graph)[0], _post(result, in_tuple)
