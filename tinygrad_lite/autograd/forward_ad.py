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

from .. import tensor as engine
from ..tensor import Reshape, Tensor

__all__ = ["dual_level", "make_dual", "unpack_dual", "UnpackedDualTensor"]


class dual_level:
    """The scope of forward mode: tangents exist inside it and are dropped on exit."""

    def __enter__(self) -> "dual_level":
        if engine._tangents is not None:
            raise RuntimeError("dual_level: forward mode is already on (levels do not nest)")
        if engine._recorder is not None:
            engine._recorder.unsupported("forward mode (dual_level, jvp, hvp)", "tangents are "
                                         "not recorded, so a replay would not recompute them")
        engine._tangents = {}
        return self

    def __exit__(self, *exc: Any) -> None:
        engine._tangents = None


def make_dual(tensor: Tensor, tangent: Any) -> Tensor:
    """tensor's values carrying `tangent` (a float array or Tensor of tensor's shape); if tensor
    requires grad the result is connected to it, so reverse mode still sees through it."""
    if engine._tangents is None:
        raise RuntimeError("make_dual: call it inside `with dual_level():`")
    if not isinstance(tensor, Tensor):
        raise TypeError(f"make_dual: tensor must be a Tensor, got {type(tensor).__name__}")
    if tensor.dtype.kind != "f":
        raise TypeError(f"make_dual: only float tensors carry tangents, got {tensor.dtype}")
    v = np.asarray(tangent._data if isinstance(tangent, Tensor) else tangent)
    if v.shape != tensor.shape:
        raise ValueError(f"make_dual: tangent has shape {v.shape}, tensor has shape {tensor.shape}")
    if v.dtype.kind not in "fiub":
        raise TypeError(f"make_dual: tangent must be numbers, got {v.dtype}")
    dual = Reshape.apply(tensor, shape=tensor.shape) if tensor.requires_grad else \
        Tensor._make(tensor._data, None)
    engine._tangents[dual] = v.astype(tensor.dtype)
    return dual


class UnpackedDualTensor(NamedTuple):
    primal: Tensor
    tangent: Tensor | None


def unpack_dual(tensor: Tensor) -> UnpackedDualTensor:
    """(primal, tangent) of a tensor inside dual_level; tangent None if it carries none. The
    primal is the tensor's values without the tangent (still connected for reverse mode)."""
    tangents = engine._tangents or {}
    v = tangents.get(tensor)
    if v is None:
        return UnpackedDualTensor(tensor, None)
    primal = Reshape.apply(tensor, shape=tensor.shape) if tensor.requires_grad else \
        Tensor._make(tensor._data, None)
    tangents.pop(primal, None)
    return UnpackedDualTensor(primal, Tensor._make(v, None))
