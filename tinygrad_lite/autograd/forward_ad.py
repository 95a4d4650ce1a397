"""Forward mode, as torch.autograd.forward_ad: inside `dual_level()`, a tensor made by
`make_dual(x, v)` carries the tangent v, and every op pushes the tangents of its inputs
through its tangent rule (`jvp`, beside its forward and backward), so each result carries
d(result) = J v for the same direction. `unpack_dual(t)` reads (primal, tangent).

One forward pass gives one directional derivative: the full gradient of a cost of n parameters
takes n passes this way, against one backward pass in reverse mode.

Tangents are values (arrays), not graphs: reverse mode sees through the primals (forward over
reverse works, as in hvp) but not through a tangent; for a J v that differentiates again, use
`functional.jvp(..., create_graph=True)`.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .. import ops
from ..tensor import Tensor, data_of, forward_mode, from_numpy

__all__ = ["dual_level", "make_dual", "unpack_dual", "UnpackedDualTensor"]


class Duals(dict):
    """Forward mode's tangents, tensor -> array; the engine asks `push` for each op's result."""

    def push(self, op: type, tensors: tuple, arrays: list, params: dict, result: Tensor) -> None:
        """Give result the tangent op.jvp makes from its inputs' tangents, if any input has one
        (the others count as zeros)."""
        given = [self.get(t) for t in tensors]
        if all(d is None for d in given):
            return
        if op.jvp is None:
            raise NotImplementedError(f"forward mode: {op.__name__} has no tangent rule (jvp)")
        tangents = tuple(d if d is not None else np.zeros_like(a, result.dtype) for d, a in
                         zip(given, arrays))  # a constant's tangent is zeros, a mask's too
        params = {k: v for k, v in params.items() if k != "needs"}
        tangent = np.asarray(op.jvp(tangents, data_of(result), *arrays, **params))
        if tangent.shape != result.shape:
            tangent = np.broadcast_to(tangent, result.shape)
        self[result] = tangent.astype(result.dtype, copy=False)


_duals: Duals | None = None  # the tangents of the dual_level in force, else None


class dual_level:
    """The scope of forward mode: tangents exist inside it and are dropped on exit."""

    def __enter__(self) -> "dual_level":
        global _duals
        self._scope = forward_mode(Duals())
        _duals = self._scope.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        global _duals
        _duals = None
        self._scope.__exit__(*exc)


def make_dual(tensor: Tensor, tangent: Any) -> Tensor:
    """tensor's values carrying `tangent` (a float array or Tensor of tensor's shape); if tensor
    requires grad the result is connected to it, so reverse mode still sees through it."""
    if _duals is None:
        raise RuntimeError("make_dual: call it inside `with dual_level():`")
    if not isinstance(tensor, Tensor):
        raise TypeError(f"make_dual: tensor must be a Tensor, got {type(tensor).__name__}")
    if tensor.dtype.kind != "f":
        raise TypeError(f"make_dual: only float tensors carry tangents, got {tensor.dtype}")
    v = np.asarray(data_of(tangent))
    if v.shape != tensor.shape:
        raise ValueError(f"make_dual: tangent has shape {v.shape}, tensor has shape {tensor.shape}")
    if v.dtype.kind not in "fiub":
        raise TypeError(f"make_dual: tangent must be numbers, got {v.dtype}")
    dual = ops.Reshape.apply(tensor, shape=tensor.shape) if tensor.requires_grad else \
        from_numpy(data_of(tensor))
    _duals[dual] = v.astype(tensor.dtype)
    return dual


class UnpackedDualTensor(NamedTuple):
    primal: Tensor
    tangent: Tensor | None


def unpack_dual(tensor: Tensor) -> UnpackedDualTensor:
    """(primal, tangent) of a tensor inside dual_level; tangent None if it carries none. The
    primal is the tensor's values without the tangent (still connected for reverse mode)."""
    tangents = _duals if _duals is not None else {}
    v = tangents.get(tensor)
    if v is None:
        return UnpackedDualTensor(tensor, None)
    primal = ops.Reshape.apply(tensor, shape=tensor.shape) if tensor.requires_grad else \
        from_numpy(data_of(tensor))
    tangents.pop(primal, None)
    return UnpackedDualTensor(primal, from_numpy(v))
