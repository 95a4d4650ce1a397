"""Optimizers with PyTorch's update rules: SGD (momentum, dampening, Nesterov, weight decay) and
Adam. Parameters are updated in place."""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from .tensor import Tensor, data_of, grad_of, kernel, mark_changed, zero_grads


class Optimizer:
    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params must be an iterable of Tensors (e.g. "
                            "model.parameters() or [w, b]), got a single Tensor")
        try:
            self.params = list(params)
        except TypeError:
            raise TypeError(f"{name}: params must be an iterable of Tensors (e.g. "
                            f"model.parameters()), got {type(params).__name__}") from None
        if not self.params:
            raise ValueError(f"{name}: got an empty parameter list")
        seen: set = set()
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor) or not p.requires_grad or not p.is_leaf:
                raise TypeError(f"{name}: parameter {i} must be a leaf Tensor that requires "
                                f"grad, got {_describe(p)}")
            if id(p) in seen:
                raise ValueError(f"{name}: parameter {i} appears twice in the list; it would be "
                                 "updated twice per step")
            seen.add(id(p))
        _check("lr", lr, _finite(lr) and lr >= 0, "must be a finite number >= 0")
        self.lr = lr
        self.state: list[dict] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        """Set every parameter's grad to None."""
        kernel(zero_grads, self.params)

    def step(self) -> None:
        """Update every parameter that has a grad (in place). A grad made by
        backward(create_graph=True) is a Tensor; its values are used."""
        kernel(self._step)
        kernel(mark_changed, *[p for p in self.params if grad_of(p) is not None])

    def _step(self) -> None:
        raise NotImplementedError


def _describe(p: object) -> str:
    if not isinstance(p, Tensor):
        return type(p).__name__
    return "the result of an op" if not p.is_leaf else "a Tensor that does not require grad"


def _finite(value: object) -> bool:
    """A real number (not bool), neither NaN nor infinite."""
    return (isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, bool) and math.isfinite(value))


def _check(name: str, value: object, ok: bool, why: str) -> None:
    if not ok:
        raise ValueError(f"{name}={value!r} is invalid: {why}")


class SGD(Optimizer):
    """g = ∇p + λp;  b = μb + (1 - τ)g (b = g at first);  g = g + μb (Nesterov) or b;  p -= η g"""

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False) -> None:
        super().__init__(params, lr)
        _check("momentum", momentum, _finite(momentum) and momentum >= 0, "must be >= 0")
        _check("dampening", dampening, _finite(dampening) and 0 <= dampening <= 1,
               "must lie in [0, 1]")
        _check("weight_decay", weight_decay, _finite(weight_decay) and weight_decay >= 0,
               "must be >= 0")
        _check("nesterov", nesterov, not nesterov or (momentum > 0 and dampening == 0),
               "Nesterov momentum needs momentum > 0 and dampening = 0")
        self.momentum, self.dampening = momentum, dampening
        self.weight_decay, self.nesterov = weight_decay, nesterov

    def _step(self) -> None:
        lr, mu, wd = self.lr, self.momentum, self.weight_decay
        for p, state in zip(self.params, self.state):
            g, data = grad_of(p), data_of(p)
            if g is None:
                continue
            if wd:
                g = g + wd * data
            if mu:
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = np.array(g)
                else:
                    buf *= mu
                    buf += (1 - self.dampening) * g
                g = g + mu * buf if self.nesterov else buf
            data -= lr * g


class Adam(Optimizer):
    """m = β1 m + (1-β1)g;  v = β2 v + (1-β2)g²;  p -= η/(1-β1ᵗ) · m / (√v/√(1-β2ᵗ) + ε),
    with g = ∇p + λp when weight_decay λ > 0."""

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        _check("betas", betas, hasattr(betas, "__len__") and len(betas) == 2,
               "must be a pair (beta1, beta2)")
        for i, b in enumerate(betas):
            _check(f"betas[{i}]", b, _finite(b) and 0 <= b < 1, "must lie in [0, 1)")
        _check("eps", eps, _finite(eps) and eps >= 0, "must be >= 0")
        _check("weight_decay", weight_decay, _finite(weight_decay) and weight_decay >= 0,
               "must be >= 0")
        self.betas, self.eps, self.weight_decay = tuple(betas), eps, weight_decay

    def _step(self) -> None:
        (b1, b2), lr, wd = self.betas, self.lr, self.weight_decay
        for p, state in zip(self.params, self.state):
            g, data = grad_of(p), data_of(p)
            if g is None:
                continue
            if not state:
                state.update(step=0, exp_avg=np.zeros_like(data),
                             exp_avg_sq=np.zeros_like(data))
            state["step"] += 1
            t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
            if wd:
                g = g + wd * data
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            step_size = lr / (1 - b1**t)
            denom = np.sqrt(v) / math.sqrt(1 - b2**t) + self.eps
            data += -step_size * (m / denom)
