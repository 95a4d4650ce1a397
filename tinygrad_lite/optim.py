"""Optimizers with PyTorch's update rules: SGD (momentum, dampening, Nesterov, weight decay),
Adam and AdamW, with PyTorch's parameter groups. Parameters are updated in place. Learning rate
schedules: `optim.lr_scheduler`."""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from . import lr_scheduler  # noqa: F401 (optim.lr_scheduler)
from .tensor import Tensor, data_of, grad_of, kernel, mark_changed, zero_grads


class Optimizer:
    """The base of the optimizers: `param_groups` is a list of dicts, each with its 'params' and
    its settings ('lr', ...), as PyTorch's; `params` all parameters in order; `state[p]` each
    parameter's buffers. `params` may be Tensors, or dicts {'params': [...], 'lr': ...} whose
    settings override the defaults for those parameters (a group without weight decay, say)."""

    def __init__(self, params: Iterable, defaults: dict) -> None:
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params must be an iterable of Tensors (e.g. "
                            "model.parameters() or [w, b]), got a single Tensor")
        try:
            params = list(params)
        except TypeError:
            raise TypeError(f"{name}: params must be an iterable of Tensors (e.g. "
                            f"model.parameters()), got {type(params).__name__}") from None
        if not params:
            raise ValueError(f"{name}: got an empty parameter list")
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.params: list[Tensor] = []
        self.state: dict[Tensor, dict] = {}
        for group in (params if isinstance(params[0], dict) else [{"params": params}]):
            self.add_param_group(group)

    def add_param_group(self, group: dict) -> None:
        """Add a group: a dict with 'params' and settings that override the defaults."""
        name = type(self).__name__
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{name}: a parameter group must be a dict with a 'params' entry, "
                            f"got {type(group).__name__}")
        ps = group["params"]
        ps = [ps] if isinstance(ps, Tensor) else list(ps)
        seen = {id(p) for p in self.params}
        for i, p in enumerate(ps):
            if not isinstance(p, Tensor) or not p.requires_grad or not p.is_leaf:
                raise TypeError(f"{name}: parameter {len(self.params) + i} must be a leaf "
                                f"Tensor that requires grad, got {_describe(p)}")
            if id(p) in seen:
                raise ValueError(f"{name}: parameter {len(self.params) + i} appears twice in "
                                 "the parameters (or in two groups); it would be updated twice "
                                 "per step")
            seen.add(id(p))
        if not ps:
            raise ValueError(f"{name}: a parameter group has no parameters")
        full = {**self.defaults, **group, "params": ps}
        _check("lr", full["lr"], _finite(full["lr"]) and full["lr"] >= 0,
               "must be a finite number >= 0")
        self._check_group(full)
        self.param_groups.append(full)
        self.params.extend(ps)

    def _check_group(self, group: dict) -> None:
        """Raise a ValueError for a setting out of range (each optimizer checks its own)."""

    @property
    def lr(self) -> float:
        """The learning rate of the first group; setting it sets every group's (a scheduler
        sets each group's own). A captured step reads it afresh at each replay."""
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        _check("lr", value, _finite(value) and value >= 0, "must be a finite number >= 0")
        for group in self.param_groups:
            group["lr"] = value

    def zero_grad(self) -> None:
        """Set every parameter's grad to None."""
        kernel(zero_grads, self.params)

    def step(self) -> None:
        """Update every parameter that has a grad (in place). A grad made by
        backward(create_graph=True) is a Tensor; its values are used."""
        kernel(self._step)

    def _step(self) -> None:
        changed = []
        for group in self.param_groups:
            for p in group["params"]:
                g = grad_of(p)
                if g is not None:
                    self._update(data_of(p), g, self.state.setdefault(p, {}), group)
                    changed.append(p)
        mark_changed(*changed)

    def _update(self, data: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
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

    def __init__(self, params: Iterable, lr: float, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def _check_group(self, group: dict) -> None:
        mu, tau, wd = group["momentum"], group["dampening"], group["weight_decay"]
        _check("momentum", mu, _finite(mu) and mu >= 0, "must be >= 0")
        _check("dampening", tau, _finite(tau) and 0 <= tau <= 1, "must lie in [0, 1]")
        _check("weight_decay", wd, _finite(wd) and wd >= 0, "must be >= 0")
        _check("nesterov", group["nesterov"],
               not group["nesterov"] or (mu > 0 and tau == 0),
               "Nesterov momentum needs momentum > 0 and dampening = 0")

    def _update(self, data: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        mu, wd = group["momentum"], group["weight_decay"]
        if wd:
            g = g + wd * data
        if mu:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(g)
            else:
                buf *= mu
                buf += (1 - group["dampening"]) * g
            g = g + mu * buf if group["nesterov"] else buf
        data -= group["lr"] * g


class Adam(Optimizer):
    """m = β1 m + (1-β1)g;  v = β2 v + (1-β2)g²;  p -= η/(1-β1ᵗ) · m / (√v/√(1-β2ᵗ) + ε),
    with g = ∇p + λp when weight_decay λ > 0."""

    decoupled = False  # AdamW: decay p itself, p -= ηλp, instead of adding λp to g

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def _check_group(self, group: dict) -> None:
        betas, eps, wd = group["betas"], group["eps"], group["weight_decay"]
        _check("betas", betas, hasattr(betas, "__len__") and len(betas) == 2,
               "must be a pair (beta1, beta2)")
        for i, b in enumerate(betas):
            _check(f"betas[{i}]", b, _finite(b) and 0 <= b < 1, "must lie in [0, 1)")
        _check("eps", eps, _finite(eps) and eps >= 0, "must be >= 0")
        _check("weight_decay", wd, _finite(wd) and wd >= 0, "must be >= 0")
        group["betas"] = tuple(betas)

    @property
    def betas(self) -> tuple:
        return self.param_groups[0]["betas"]

    def _update(self, data: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        (b1, b2), lr, wd = group["betas"], group["lr"], group["weight_decay"]
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(data), exp_avg_sq=np.zeros_like(data))
        state["step"] += 1
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        if wd and self.decoupled:
            data *= 1 - lr * wd
        elif wd:
            g = g + wd * data
        work = np.multiply(g, g, out=np.empty_like(m))  # one scratch array, the same steps
        work *= 1 - b2
        v *= b2
        v += work
        np.multiply(g, 1 - b1, out=work)
        m *= b1
        m += work
        step_size = lr / (1 - b1**t)
        np.sqrt(v, out=work)
        work /= math.sqrt(1 - b2**t)
        work += group["eps"]
        np.divide(m, work, out=work)  # m / denom
        work *= -step_size
        data += work


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): p -= ηλp, then Adam's step on
    ∇p alone:  m = β1 m + (1-β1)g;  v = β2 v + (1-β2)g²;  p -= η/(1-β1ᵗ) · m / (√v/√(1-β2ᵗ) + ε)"""

    decoupled = True

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)
