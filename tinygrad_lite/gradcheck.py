"""Check analytic gradients against central finite differences, element by element.

The rules every checker here follows: eps is a finite positive number and the tolerances finite
and non-negative; a NaN or infinity anywhere (output, analytic or numeric gradient) is a failure
that names the input and element; inputs are perturbed in place, through an index on their own
array (so transposed or otherwise non-contiguous inputs work), and always restored; inputs that
share memory are refused.
"""
from __future__ import annotations

import math
from typing import Callable, Iterator, Sequence

import numpy as np

from .tensor import Tensor, data_of, enable_grad, no_grad


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with the finite-difference estimate, or is not finite."""


def _check_settings(eps: float, atol: float = 0.0, rtol: float = 0.0) -> None:
    """eps finite and > 0; atol and rtol finite and >= 0 (a NaN would make every check pass)."""
    for name, value, low in (("eps", eps, "> 0"), ("atol", atol, ">= 0"), ("rtol", rtol, ">= 0")):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"gradcheck: {name} must be a number, got {type(value).__name__}")
        ok = value > 0 if name == "eps" else value >= 0
        if not (math.isfinite(value) and ok):
            raise ValueError(f"gradcheck: {name} must be a finite number {low}, got {value!r}")


def _check_tensors(fn: Callable, inputs: Sequence[Tensor] | Tensor) -> list[Tensor]:
    if not callable(fn):
        raise TypeError(f"gradcheck: fn must be a function, got {type(fn).__name__}")
    if isinstance(inputs, Tensor):
        return [inputs]  # one tensor, as PyTorch allows
    try:
        inputs = list(inputs)
    except TypeError:
        raise TypeError(f"gradcheck: inputs must be a list of Tensors, got "
                        f"{type(inputs).__name__}") from None
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"gradcheck: input {i} must be a Tensor, got {type(t).__name__}")
        for j in range(i):  # perturbing one would move the other: the differences would be wrong
            u = inputs[j]
            if u is not t and np.shares_memory(u.data, t.data):
                raise ValueError(f"gradcheck: inputs {j} and {i} share memory (one is a view of "
                                 "the other); pass a copy")
    return inputs


def _check_inputs(fn: Callable, inputs: Sequence[Tensor] | Tensor) -> list[Tensor]:
    inputs = _check_tensors(fn, inputs)
    for i, t in enumerate(inputs):
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


def _joined(fn: Callable) -> Callable:
    """fn, with a tuple of output Tensors joined into one flat Tensor (as PyTorch's checkers,
    these take functions of several outputs; checking the joined output checks each)."""
    def joined(*inputs: Tensor) -> Tensor:
        out = fn(*inputs)
        if isinstance(out, (tuple, list)) and out and all(isinstance(o, Tensor) for o in out):
            from .ops.movement import cat
            return cat([o.reshape(-1) for o in out])
        return out
    return joined


def _where(pos: int, index: tuple) -> str:
    return f"input {pos}, element {tuple(int(k) for k in index)}"


def _require_finite(values: np.ndarray, what: str) -> None:
    """GradcheckError naming the first non-finite element of `values` (what: its description)."""
    bad = ~np.isfinite(values)
    if bad.any():
        first = tuple(int(k) for k in np.argwhere(bad)[0])
        raise GradcheckError(f"gradcheck: {what} is {values[first]} at {first} "
                             f"({int(bad.sum())} non-finite value(s))")


def _evaluate(fn: Callable, inputs: list[Tensor]) -> np.ndarray:
    with no_grad(), np.errstate(all="ignore"):  # a NaN or inf is reported, not warned about
        out = fn(*inputs)
    out = np.asarray(out.data if isinstance(out, Tensor) else out)
    if out.dtype.kind not in "biuf":
        raise TypeError(f"gradcheck: fn must return a Tensor or numbers, got {out.dtype} values")
    return out.astype(np.float64)


def _differences(fn: Callable, inputs: list[Tensor], pos: int,
                 eps: float) -> Iterator[tuple[tuple, np.ndarray]]:
    """For each element index of inputs[pos]: (index, (f(x + eps e_i) - f(x - eps e_i)) / 2eps).

    Perturbs the input's own array in place through the index, restoring it even if fn raises.
    """
    data = inputs[pos].data
    if not data.flags.writeable:
        raise ValueError(f"gradcheck: input {pos} is read-only; pass a copy (np.array(...))")
    for index in np.ndindex(data.shape):
        orig = data[index].copy()
        try:
            data[index] = orig + eps
            high, plus = float(data[index]), _evaluate(fn, inputs)
            data[index] = orig - eps
            low, minus = float(data[index]), _evaluate(fn, inputs)
        finally:
            data[index] = orig
        for side, value in (("+", plus), ("-", minus)):
            if not np.all(np.isfinite(value)):
                raise GradcheckError(f"gradcheck: fn's output is not finite with "
                                     f"{_where(pos, index)} moved by {side}eps={eps:g}")
        if not high > low:
            raise GradcheckError(f"gradcheck: eps={eps:g} is lost to rounding at "
                                 f"{_where(pos, index)} ({orig!r} in {data.dtype}); use a larger "
                                 "eps or float64")
        yield index, (plus - minus) / (high - low)  # the step actually taken, about 2 eps


def numerical_grad(fn: Callable[..., Tensor], inputs: Sequence[Tensor], eps: float = 1e-6,
                   grad_output: np.ndarray | None = None) -> list[np.ndarray]:
    """d⟨grad_output, fn(*inputs)⟩/d input for each input, by central differences:

        (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)   for every element i.

    grad_output defaults to ones (the gradient of fn's sum; of fn itself when it is a scalar) and
    must have fn's output shape. Integer and bool inputs get a zero gradient (they are not
    perturbed). Raises GradcheckError naming the input and element if fn gives a
    NaN or infinity.
    """
    _check_settings(eps)
    inputs = _check_tensors(fn, inputs)
    out = _evaluate(fn, inputs)
    _require_finite(out, "fn's output")
    if grad_output is None:
        w = np.ones_like(out)
    else:
        w = np.asarray(grad_output.data if isinstance(grad_output, Tensor) else grad_output,
                       np.float64)
        if w.shape != out.shape:
            raise ValueError(f"numerical_grad: grad_output has shape {w.shape}, fn's output has "
                             f"shape {out.shape}")
    grads = []
    for pos, t in enumerate(inputs):
        g = np.zeros(t.shape, np.float64)
        if t.dtype.kind != "f":  # integer or bool data (labels, masks) is not differentiated
            grads.append(g)
            continue
        for index, d in _differences(fn, inputs, pos, eps):
            g[index] = np.sum(w * d)
        grads.append(g)
    return grads


def _jacobians(fn: Callable, inputs: list[Tensor], eps: float) -> tuple[list, list]:
    """Analytic and numeric Jacobians (out elements x input elements) for inputs requiring grad."""
    saved = [t.grad for t in inputs]
    with np.errstate(all="ignore"), enable_grad():  # NaN and inf are reported below
        out = fn(*inputs)  # (a graph is recorded even if the caller is under no_grad)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    _require_finite(np.asarray(out.data, np.float64), "fn's output")
    positions = [i for i, t in enumerate(inputs) if t.requires_grad]
    analytic = [np.zeros((out.numel(), inputs[i].numel())) for i in positions]
    try:
        if out.requires_grad:
            for j in range(out.numel()):
                onehot = np.zeros(out.numel())
                onehot[j] = 1
                for i in positions:
                    inputs[i].grad = None
                with np.errstate(all="ignore"):
                    out.backward(onehot.reshape(out.shape), retain_graph=True)
                for J, i in zip(analytic, positions):
                    if inputs[i].grad is not None:
                        J[j] = inputs[i].grad.reshape(-1)
    finally:
        for t, g in zip(inputs, saved):
            t.grad = g
    for J, i in zip(analytic, positions):
        bad = np.argwhere(~np.isfinite(J))
        if len(bad):
            j, k = bad[0]
            where = _where(i, np.unravel_index(k, inputs[i].shape))
            raise GradcheckError(f"gradcheck: the analytic gradient at {where}, output element "
                                 f"{int(j)}, is {J[j, k]}")
    numeric = []
    for i in positions:
        J = np.zeros((out.numel(), inputs[i].numel()))
        for index, d in _differences(fn, inputs, i, eps):
            J[:, np.ravel_multi_index(index, inputs[i].shape)] = d.reshape(-1)
        numeric.append(J)
    return analytic, numeric


def gradcheck(fn: Callable[..., Tensor], inputs: Sequence[Tensor], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """True if every element of every analytic gradient matches central differences:

        |analytic - numeric| <= atol + rtol |numeric|   for the full Jacobian of fn.

    `inputs` is a list of Tensors (or one Tensor); fn returns a Tensor or a tuple of them
    (checked as one, joined). Inputs that require grad must be float64;
    eps must be finite and positive, atol and rtol
    finite and non-negative (else ValueError). On a mismatch, or a NaN or infinity in the output
    or either gradient, raises GradcheckError naming the input, the element and the values, or
    returns False if raise_exception=False.
    """
    _check_settings(eps, atol, rtol)
    inputs = _check_inputs(fn, inputs)
    fn = _joined(fn)
    try:
        analytic, numeric = _jacobians(fn, inputs, eps)
    except GradcheckError:
        if raise_exception:
            raise
        return False
    positions = [i for i, t in enumerate(inputs) if t.requires_grad]
    for pos, A, N in zip(positions, analytic, numeric):
        bad = ~(np.abs(A - N) <= atol + rtol * np.abs(N))
        if bad.any():
            j, i = np.argwhere(bad)[0]
            index = np.unravel_index(i, inputs[pos].shape)
            msg = (f"gradcheck: {_where(pos, index)}, output "
                   f"element {int(j)}: analytic {A[j, i]:.10g} vs numeric {N[j, i]:.10g} "
                   f"(tolerance {atol:g} + {rtol:g} * |numeric| = "
                   f"{atol + rtol * abs(N[j, i]):.3g}); {int(bad.sum())} element(s) differ")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def gradgradcheck(fn: Callable[..., Tensor], inputs: Sequence[Tensor],
                  grad_outputs: Sequence[Tensor] | Tensor | None = None, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True,
                  seed: int = 0) -> bool:
    """gradcheck of the gradient: True if the second derivatives of fn, taken by
    differentiating its backward sweep (create_graph=True), match central differences of it.

    As PyTorch's: the checked function is (inputs, u) -> uᵀ d fn / d inputs (its values for the
    inputs that require grad, flattened and joined), so both its inputs and u get checked; u is
    `grad_outputs` (float64 tensors of fn's output shapes, one per output if fn returns a
    tuple), or random normal from `seed`.
    Errors name "input k" counting the inputs and then u.
    """
    from .autograd import grad  # the engine's reverse sweep as a function
    from .ops.movement import cat

    _check_settings(eps, atol, rtol)
    inputs = _check_inputs(fn, inputs)
    with enable_grad():
        out = fn(*inputs)
    several = isinstance(out, (tuple, list))
    outs = tuple(out) if several else (out,)
    if not outs or not all(isinstance(o, Tensor) for o in outs):
        raise TypeError(f"gradgradcheck: fn must return a Tensor or a tuple of Tensors, got "
                        f"{type(out).__name__}")
    if grad_outputs is None:
        u = Tensor(np.random.default_rng(seed).standard_normal(sum(o.numel() for o in outs)),
                   requires_grad=True)
    else:
        us = (grad_outputs,) if isinstance(grad_outputs, Tensor) else tuple(grad_outputs)
        if len(us) != len(outs) or not all(
                isinstance(v, Tensor) and v.shape == o.shape and v.dtype == np.float64
                for v, o in zip(us, outs)):
            raise ValueError(f"gradgradcheck: grad_outputs must be float64 Tensors of fn's "
                             f"output shape(s) {[o.shape for o in outs]}, one per output")
        u = Tensor(np.concatenate([data_of(v).reshape(-1) for v in us]), requires_grad=True)
    if not several:
        u = u.reshape(out.shape).detach().requires_grad_()
    fn = _joined(fn)
    wrt = [t for t in inputs if t.requires_grad]

    def first_derivatives(*args: Tensor) -> Tensor:
        *xs, v = args
        with enable_grad():
            y = fn(*xs)
            if not y.requires_grad:
                return Tensor(np.zeros(sum(t.numel() for t in wrt)))
            gs = grad(y, [x for x in xs if x.requires_grad], v, create_graph=True,
                      materialize_grads=True)
            return cat([g.reshape(-1) for g in gs])

    try:
        return gradcheck(first_derivatives, [*inputs, u], eps, atol, rtol, raise_exception)
    except GradcheckError as e:
        raise GradcheckError(f"gradgradcheck (the gradient's derivatives): {e}") from None
