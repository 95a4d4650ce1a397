"""Tools on a model's gradients, as torch.nn.utils's (reach them as nn.utils):
clip_grad_norm_ and clip_grad_value_. Each runs as one kernel that reads the gradients when it
runs, so a captured step clips each replay's own gradients."""
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from .tensor import Tensor, from_numpy, grad_of, kernel


def _tensors(parameters: Any) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _total_norm(grads: list[np.ndarray], norm_type: float) -> float:
    if norm_type == math.inf:
        return max(float(np.abs(g).max()) for g in grads)
    norms = [np.linalg.norm(g.ravel(), norm_type) for g in grads]
    return float(np.linalg.norm(np.asarray(norms), norm_type))


def _clip_norm(params: list[Tensor], max_norm: float, norm_type: float,
               error_if_nonfinite: bool) -> np.ndarray:
    """The kernel: total = ‖(‖g₁‖, ‖g₂‖, ...)‖; each g *= min(1, max_norm / (total + 1e-6))."""
    grads = [g for g in map(grad_of, params) if g is not None]
    if not grads:
        return np.zeros(())
    total = _total_norm(grads, norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients is {total}, not finite")
    coef = min(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        g *= g.dtype.type(coef)
    return np.asarray(total, grads[0].dtype)


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """Scale the gradients in place so their total norm (all gradients as one vector) is at
    most max_norm: g *= min(1, max_norm / (total + 1e-6)). Returns the total norm before
    clipping, a 0-d Tensor. norm_type may be math.inf (the largest |g|)."""
    params = _tensors(parameters)
    norm_type = float(norm_type)
    if not norm_type > 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be > 0 or inf, got {norm_type}")
    return from_numpy(kernel(_clip_norm, params, float(max_norm), norm_type,
                             error_if_nonfinite))


def _clip_value(params: list[Tensor], clip_value: float) -> None:
    for g in map(grad_of, params):
        if g is not None:
            np.clip(g, -clip_value, clip_value, out=g)


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float) -> None:
    """Clamp every gradient element to [-clip_value, clip_value], in place."""
    kernel(_clip_value, _tensors(parameters), float(clip_value))
