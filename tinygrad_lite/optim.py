"""Optimizers with PyTorch's update rules: SGD (momentum, dampening, Nesterov, weight decay) and
Adam. Parameters are updated in place."""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from .tensor import Tensor, _kernel, _mark_changed, _zero_grads


class Optimizer:
    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor) or not p.requires_grad:
                raise TypeError(f"{type(self).__name__}: parameter {i} must be a Tensor that "
                                f"requires grad, got {type(p).__name__}")
        if not lr >= 0:
            raise ValueError(f"{type(self).__name__}: invalid learning rate lr={lr}")
        self.lr = lr
        self.state: list[dict] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        """Set every parameter's grad to None."""
        _kernel(_zero_grads, self.params)

    def step(self) -> None:
        """Update every parameter that has a grad (in place)."""
        _kernel(self._step)
        _kernel(_mark_changed, *[p for p in self.params if p._grad is not None])

    def _step(self) -> None:
        raise NotImplementedError


def _check(name: str, value: float, ok: bool, why: str) -> None:
    if not ok:
        raise ValueError(f"{name}={value!r} is invalid: {why}")


class SGD(Optimizer):
    """g = ∇p + λp;  b = μb + (1 - τ)g (b = g at first);  g = g + μb (Nesterov) or b;  p -= η g"""

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False) -> None:
        super().__init__(params, lr)
        _check("momentum", momentum, momentum >= 0, "must be >= 0")
        _check("weight_decay", weight_decay, weight_decay >= 0, "must be >= 0")
        _check("nesterov", nesterov, not nesterov or (momentum > 0 and dampening == 0),
               "Nesterov momentum needs momentum > 0 and dampening = 0")
        self.momentum, self.dampening = momentum, dampening
        self.weight_decay, self.nesterov = weight_decay, nesterov

    def _step(self) -> None:
        lr, mu, wd = self.lr, self.momentum, self.weight_decay
        for p, state in zip(self.params, self.state):
            g = p._grad
            if g is None:
                continue
            if wd:
                g = g + wd * p._data
            if mu:
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = np.array(g)
                else:
                    buf *= mu
                    buf += (1 - self.dampening) * g
                g = g + mu * buf if self.nesterov else buf
            p._data -= lr * g


class Adam(Optimizer):
    """m = β1 m + (1-β1)g;  v = β2 v + (1-β2)g²;  p -= η/(1-β1ᵗ) · m / (√v/√(1-β2ᵗ) + ε),
    with g = ∇p + λp when weight_decay λ > 0."""

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        for i, b in enumerate(betas):
            _check(f"betas[{i}]", b, 0 <= b < 1, "must lie in [0, 1)")
        _check("eps", eps, eps >= 0, "must be >= 0")
        _check("weight_decay", weight_decay, weight_decay >= 0, "must be >= 0")
        self.betas, self.eps, self.weight_decay = tuple(betas), eps, weight_decay

    def _step(self) -> None:
        (b1, b2), lr, wd = self.betas, self.lr, self.weight_decay
        for p, state in zip(self.params, self.state):
            g = p._grad
            if g is None:
                continue
            if not state:
                state.update(step=0, exp_avg=np.zeros_like(p._data),
                             exp_avg_sq=np.zeros_like(p._data))
            state["step"] += 1
            t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
            if wd:
                g = g + wd * p._data
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            step_size = lr / (1 - b1**t)
            denom = np.sqrt(v) / math.sqrt(1 - b2**t) + self.eps
            p._data += -step_size * (m / denom)
