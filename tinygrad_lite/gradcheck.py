"""Check analytic gradients against central finite differences, element by element."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .tensor import Tensor, no_grad


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with the finite-difference estimate."""


def _check_inputs(inputs: Sequence[Tensor]) -> list[Tensor]:
    inputs = list(inputs)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"gradcheck: input {i} must be a Tensor, got {type(t).__name__}")
        if t.requires_grad and t.dtype != np.float64:
            raise TypeError(
                f"gradcheck: input {i} is {t.dtype}; use float64. Central differences in "
                f"{t.dtype} carry rounding error of about machine epsilon / eps "
                f"(~{np.finfo(t.dtype).eps / 1e-6:.0e} for eps=1e-6), far above these tolerances")
        if t.requires_grad and not t.is_leaf:
            raise ValueError(f"gradcheck: input {i} is the result of an op, not a leaf; pass "
                             "t.detach().requires_grad_() so its gradient is kept")
    if not any(t.requires_grad for t in inputs):
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    return inputs


def _evaluate(fn: Callable, inputs: list[Tensor]) -> np.ndarray:
    with no_grad():
        out = fn(*inputs)
    return np.array(out.data if isinstance(out, Tensor) else out, dtype=np.float64)


def numerical_grad(fn: Callable[..., Tensor], inputs: Sequence[Tensor], eps: float = 1e-6,
                   grad_output: np.ndarray | None = None) -> list[np.ndarray]:
    """d⟨grad_output, fn(*inputs)⟩/d input for each input, by central differences:

        (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)   for every element i.

    grad_output defaults to ones (the gradient of fn's sum; of fn itself when it is a scalar).
    """
    inputs = list(inputs)
    out = _evaluate(fn, inputs)
    w = np.ones_like(out) if grad_output is None else np.asarray(grad_output, np.float64)
    grads = []
    for t in inputs:
        flat, g = t.data.reshape(-1), np.zeros(t.data.size, np.float64)
        for i in range(flat.size):
            orig = flat[i]
            flat[i] = orig + eps
            plus = np.sum(w * _evaluate(fn, inputs))
            flat[i] = orig - eps
            minus = np.sum(w * _evaluate(fn, inputs))
            flat[i] = orig
            g[i] = (plus - minus) / (2 * eps)
        grads.append(g.reshape(t.shape))
    return grads


def _jacobians(fn: Callable, inputs: list[Tensor], eps: float) -> tuple[list, list]:
    """Analytic and numeric Jacobians (out elements x input elements) for inputs requiring grad."""
    saved = [t.grad for t in inputs]
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    checked = [t for t in inputs if t.requires_grad]
    analytic = [np.zeros((out.numel(), t.numel())) for t in checked]
    if out.requires_grad:
        for j in range(out.numel()):
            onehot = np.zeros(out.numel())
            onehot[j] = 1
            for t in checked:
                t.grad = None
            out.backward(onehot.reshape(out.shape), retain_graph=True)
            for J, t in zip(analytic, checked):
                if t.grad is not None:
                    J[j] = t.grad.reshape(-1)
    for t, g in zip(inputs, saved):
        t.grad = g
    numeric = []
    for t in checked:
        flat, J = t.data.reshape(-1), np.zeros((out.numel(), t.numel()))
        for i in range(flat.size):
            orig = flat[i]
            flat[i] = orig + eps
            plus = _evaluate(fn, inputs).reshape(-1)
            flat[i] = orig - eps
            minus = _evaluate(fn, inputs).reshape(-1)
            flat[i] = orig
            J[:, i] = (plus - minus) / (2 * eps)
        numeric.append(J)
    return analytic, numeric


def gradcheck(fn: Callable[..., Tensor], inputs: Sequence[Tensor], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """True if every element of every analytic gradient matches central differences:

        |analytic - numeric| <= atol + rtol |numeric|   for the full Jacobian of fn.

    Inputs that require grad must be float64. On a mismatch raises GradcheckError naming the
    input, the element, both values and the tolerance, or returns False if raise_exception=False.
    """
    inputs = _check_inputs(inputs)
    analytic, numeric = _jacobians(fn, inputs, eps)
    positions = [i for i, t in enumerate(inputs) if t.requires_grad]
    for pos, A, N in zip(positions, analytic, numeric):
        bad = np.abs(A - N) > atol + rtol * np.abs(N)
        if bad.any():
            j, i = np.argwhere(bad)[0]
            index = np.unravel_index(i, inputs[pos].shape)
            msg = (f"gradcheck: input {pos}, element {tuple(int(k) for k in index)}, output "
                   f"element {int(j)}: analytic {A[j, i]:.10g} vs numeric {N[j, i]:.10g} "
                   f"(tolerance {atol:g} + {rtol:g} * |numeric| = "
                   f"{atol + rtol * abs(N[j, i]):.3g}); {int(bad.sum())} element(s) differ")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True
