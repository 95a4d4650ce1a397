"""Gradients as values: `grad` (reverse mode, as torch.autograd.grad), `forward_ad` (forward
mode: dual tensors) and `functional` (jvp, vjp, jacobian, hessian, hvp, vhp).

Reverse mode pulls a covector back through the graph: one sweep gives uᵀJ for every input at
once (backprop's BP1-BP4 are this sweep for a digit network). Forward mode pushes a tangent
along with the forward pass: one pass gives J v for one direction v. `create_graph=True`
records the reverse sweep itself, so gradients can be differentiated again (Hessians).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..tensor import Tensor, backprop, from_numpy, initial_gradient, kernel

__all__ = ["grad", "forward_ad", "functional"]


def _tensors(value: Any, what: str) -> tuple[Tensor, ...]:
    """A Tensor or a sequence of Tensors as a tuple, each checked to be a Tensor."""
    items = (value,) if isinstance(value, Tensor) else value
    try:
        items = tuple(items)
    except TypeError:
        raise TypeError(f"grad: {what} must be a Tensor or a sequence of Tensors, got "
                        f"{type(value).__name__}") from None
    if not items:
        raise ValueError(f"grad: {what} is empty")
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: {what}[{i}] must be a Tensor, got {type(t).__name__}")
    return items


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool | None = None,
         materialize_grads: bool = False) -> tuple[Tensor, ...]:
    """Σ_k grad_outputs[k]ᵀ d outputs[k] / d inputs[i] for each input: a tuple of Tensors of the
    inputs' shapes, as torch.autograd.grad. No leaf's .grad changes (a tensor that called
    retain_grad() accumulates its own, as in PyTorch).

    grad_outputs: one per output (None for a one-element output: ones); inputs may be results
    of ops too. With create_graph=True the gradients carry a graph, so they can be
    differentiated again; retain_graph defaults to create_graph. An input the outputs do not
    depend on is an error, unless allow_unused=True (its gradient is then None) or
    materialize_grads=True (zeros).
    """
    outputs, inputs = _tensors(outputs, "outputs"), _tensors(inputs, "inputs")
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = (grad_outputs,) * len(outputs) if grad_outputs is None else (grad_outputs,)
    grad_outputs = tuple(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for i, out in enumerate(outputs):
        if not out.requires_grad:
            raise RuntimeError(f"grad: outputs[{i}] (shape {out.shape}) does not require grad "
                               "and has no graph")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: inputs[{i}] (shape {t.shape}) does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    seeds = [initial_gradient(o, g, create_graph, "grad") for o, g in zip(outputs, grad_outputs)]
    wanted: dict = dict.fromkeys(inputs)
    backprop(list(outputs), seeds, retain_graph, create_graph, wanted)
    result = []
    for i, t in enumerate(inputs):
        g = wanted[t]
        if g is None:
            if materialize_grads:
                g = np.zeros(t.shape, t.dtype)
            elif not allow_unused:
                raise RuntimeError(f"grad: inputs[{i}] (shape {t.shape}) was not used to compute "
                                   "the outputs; pass allow_unused=True to get None for it")
            else:
                result.append(None)
                continue
        if not isinstance(g, Tensor):  # a copy (the sweep's arrays may be shared), as a kernel
            g = from_numpy(kernel(np.array, g))  # that capture records
        result.append(g)
    return tuple(result)


from . import forward_ad, functional  # noqa: E402 (they use grad)
