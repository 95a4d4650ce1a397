"""Optimizers follow PyTorch's update rules exactly."""
import math

import numpy as np
import pytest

from tinygrad_lite import Tensor, optim


def quadratic_problem(seed=0):
    rng = np.random.default_rng(seed)
    A, p0 = rng.normal(size=(4, 3)), rng.normal(size=3)
    return A, p0


def grad_of(A, p):
    """Gradient of 0.5 ||A p||² + sum(p³)/3."""
    return A.T @ (A @ p) + p**2


def run_ours(opt_cls, steps, **kw):
    A, p0 = quadratic_problem()
    p = Tensor(p0.copy(), requires_grad=True)
    opt = opt_cls([p], **kw)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((Tensor(A) @ p) ** 2).sum() * 0.5 + (p**3).sum() * (1 / 3)
        loss.backward()
        opt.step()
    return p.data


def sgd_reference(steps, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    A, p = quadratic_problem()
    buf = None
    for _ in range(steps):
        g = grad_of(A, p) + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p


def adam_reference(steps, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    A, p = quadratic_problem()
    m = v = np.zeros_like(p)
    for t in range(1, steps + 1):
        g = grad_of(A, p) + weight_decay * p
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        denom = np.sqrt(v) / math.sqrt(1 - betas[1] ** t) + eps
        p = p - lr / (1 - betas[0] ** t) * m / denom
    return p


@pytest.mark.parametrize("kw", [dict(lr=0.05), dict(lr=0.05, momentum=0.9),
                                dict(lr=0.05, momentum=0.9, dampening=0.3),
                                dict(lr=0.05, momentum=0.8, nesterov=True),
                                dict(lr=0.05, momentum=0.9, weight_decay=0.1)])
def test_sgd_matches_pytorch_rule(kw):
    np.testing.assert_allclose(run_ours(optim.SGD, 7, **kw), sgd_reference(7, **kw), rtol=1e-12)


@pytest.mark.parametrize("kw", [dict(lr=0.01), dict(lr=0.1, betas=(0.8, 0.99)),
                                dict(lr=0.01, weight_decay=0.5, eps=1e-6)])
def test_adam_matches_pytorch_rule(kw):
    np.testing.assert_allclose(run_ours(optim.Adam, 7, **kw), adam_reference(7, **kw),
                               rtol=1e-12)


@pytest.mark.parametrize("make", [
    lambda p: optim.SGD(p, lr=-1),
    lambda p: optim.SGD(p, lr=0.1, nesterov=True),
    lambda p: optim.SGD(p, lr=0.1, momentum=-0.5),
    lambda p: optim.Adam(p, betas=(1.0, 0.9)),
    lambda p: optim.Adam(p, betas=(0.9, -0.1)),
    lambda p: optim.Adam(p, lr=float("nan")),
    lambda p: optim.SGD([], lr=0.1),
])
def test_bad_hyperparameters_are_value_errors(make):
    with pytest.raises(ValueError):
        make([Tensor(np.ones(2), requires_grad=True)])


def test_parameters_without_grad_are_skipped_and_non_params_refused():
    p, q = Tensor(np.ones(2), requires_grad=True), Tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([p, q], lr=1.0)
    (p * 2).sum().backward()
    opt.step()
    np.testing.assert_array_equal(p.data, [-1.0, -1.0])
    np.testing.assert_array_equal(q.data, [1.0, 1.0])
    with pytest.raises(TypeError, match="parameter 0"):
        optim.SGD([np.ones(2)], lr=0.1)
