"""The autodiff modes against PyTorch in float64, to 1e-10: every op's vjp, double backward and
jvp; retain_grad; autograd.functional on a small network (skipped without torch)."""
import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import Tensor, autograd
from tinygrad_lite.autograd import functional as AF

from autograd_ops import OPS, Ours, inputs_for, torch_namespace

torch = pytest.importorskip(
    "torch", reason="torch is not installed: PyTorch parity tests skipped (pip install torch)")
Torch = torch_namespace(torch)
TAF = torch.autograd.functional
TOL = dict(rtol=1e-10, atol=1e-10)


def close(ours, theirs):
    np.testing.assert_allclose(np.asarray(ours.numpy() if isinstance(ours, Tensor) else ours),
                               theirs.detach().numpy(force=True), **TOL)


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_first_second_and_forward_derivatives_equal_pytorch(name):
    arrays = inputs_for(name)
    f = OPS[name][1]
    rng = np.random.default_rng(2)
    # reverse mode, then the gradient's gradient: d/dx [wᵀ (uᵀ J)] and d/du
    xs = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = f(Ours, *xs), f(Torch, *ts)
    close(out, tout)
    u = rng.standard_normal(out.shape)
    uo, ut = Tensor(u, requires_grad=True), torch.tensor(u, requires_grad=True)
    g1 = autograd.grad(out, xs, uo, create_graph=True)
    tg1 = torch.autograd.grad(tout, ts, ut, create_graph=True)
    for a, b in zip(g1, tg1):
        close(a, b)
    ws = [rng.standard_normal(a.shape) for a in arrays]
    second = sum((g * w).sum() for g, w in zip(g1, ws))
    tsecond = sum((g * torch.tensor(w)).sum() for g, w in zip(tg1, ws))
    if second.requires_grad:  # else every op in f is linear: no second derivative to compare
        g2 = autograd.grad(second, xs + [uo], allow_unused=True)
        tg2 = torch.autograd.grad(tsecond, ts + [ut], allow_unused=True)
        for a, b in zip(g2, tg2):
            if b is None:
                assert a is None or np.all(a.numpy() == 0)
            else:
                close(a if a is not None else np.zeros(b.shape), b)
    # forward mode
    vs = tuple(rng.standard_normal(a.shape) for a in arrays)
    _, jv = AF.jvp(lambda *z: f(Ours, *z), tuple(Tensor(a) for a in arrays), vs)
    _, tjv = torch.func.jvp(lambda *z: f(Torch, *z), tuple(torch.tensor(a) for a in arrays),
                            tuple(torch.tensor(v) for v in vs))
    close(jv, tjv)


def net(L):
    """A small digit-style network's cost as a function of its parameters."""
    x = np.random.default_rng(3).standard_normal((4, 5))
    y = np.random.default_rng(4).random((4, 3))

    def cost(w1, b1, w2, b2):
        h = L.F.linear(L.const(x), w1, b1).sigmoid()
        return ((L.F.linear(h, w2, b2).sigmoid() - L.const(y)) ** 2).sum() / 8
    return cost


def params():
    rng = np.random.default_rng(5)
    return [rng.standard_normal(s) for s in [(6, 5), (6,), (3, 6), (3,)]]


def test_functional_equals_pytorch_on_a_network():
    ps = params()
    ours, theirs = tuple(Tensor(p) for p in ps), tuple(torch.tensor(p) for p in ps)
    f, tf = net(Ours), net(Torch)
    vs = tuple(np.random.default_rng(6).standard_normal(p.shape) for p in ps)
    tvs = tuple(torch.tensor(v) for v in vs)
    for a, b in zip(AF.hessian(f, ours), TAF.hessian(tf, theirs)):
        for c, d in zip(a, b):
            close(c, d)
    for strategy in ("reverse-mode", "forward-mode"):
        for a, b in zip(AF.jacobian(f, ours, strategy=strategy), TAF.jacobian(tf, theirs)):
            close(a, b)
    for ours_fn, torch_fn in ((AF.hvp, TAF.hvp), (AF.vhp, TAF.vhp)):
        (o, hv), (to, thv) = ours_fn(f, ours, vs), torch_fn(tf, theirs, tvs)
        close(o, to)
        for a, b in zip(hv, thv):
            close(a, b)
    (o, vj), (to, tvj) = AF.vjp(f, ours), TAF.vjp(tf, theirs)
    for a, b in zip(vj, tvj):
        close(a, b)
    (o, jv), (to, tjv) = AF.jvp(f, ours, vs), TAF.jvp(tf, theirs, tvs)
    close(jv, tjv)


def test_jacobians_of_a_vector_function_equal_pytorch():
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal((2, 3)), rng.standard_normal((4, 3))
    f = lambda L: (lambda x, w: (L.F.linear(x, w).tanh(), L.F.softmax(x, dim=1)))  # noqa: E731
    ours = AF.jacobian(f(Ours), (Tensor(x), Tensor(w)), strategy="forward-mode")
    theirs = TAF.jacobian(f(Torch), (torch.tensor(x), torch.tensor(w)), vectorize=True,
                          strategy="forward-mode")
    for row, trow in zip(ours, theirs):
        for a, b in zip(row, trow):
            close(a, b)


def test_retain_grad_equals_pytorch():
    rng = np.random.default_rng(8)
    x, w, y = rng.standard_normal((3, 5)), rng.standard_normal((4, 5)), rng.random((3, 4))
    results = []
    for L, make in ((Ours, lambda a: Tensor(a, requires_grad=True)),
                    (Torch, lambda a: torch.tensor(a, requires_grad=True))):
        wt = make(w)
        z = L.F.linear(L.const(x), wt)
        z.retain_grad()
        a = z.sigmoid()
        a.retain_grad()
        L.F.mse_loss(a, L.const(y)).backward()
        results.append((z.grad, a.grad, wt.grad))
    for ours, theirs in zip(*results):
        close(ours, theirs)


def test_functional_create_graph_and_its_gradients_equal_pytorch():
    """jvp, vjp, hvp, vhp with create_graph=True on a relu/softmax network: values, then the
    gradient of their squared results in the inputs and in v."""
    rng = np.random.default_rng(9)
    x, w, v = rng.standard_normal((3, 4)), rng.standard_normal((5, 4)), rng.standard_normal((3, 4))

    def f(L):
        return lambda x: (L.F.linear(x, L.const(w)).relu() ** 2).softmax(dim=1)[:, 0].sum()

    for name in ("jvp", "vjp", "hvp", "vhp"):
        results = []
        for L, A, make, grad in ((Ours, AF, Tensor, autograd.grad),
                                 (Torch, TAF, torch.tensor, torch.autograd.grad)):
            xs = make(x, requires_grad=True)
            vs = make(np.array(1.0) if name == "vjp" else v, requires_grad=True)
            out, res = getattr(A, name)(f(L), xs, vs, create_graph=True)
            assert out.requires_grad and res.requires_grad
            results.append((out, res) + tuple(grad((res * res).sum() + out, (xs, vs))))
        for a, b in zip(*results):
            close(a, b)


def test_retain_grad_is_filled_by_autograd_grad_too_as_pytorch():
    results = []
    for L, make, grad in ((Ours, lambda a: Tensor(a, requires_grad=True), autograd.grad),
                          (Torch, lambda a: torch.tensor(a, requires_grad=True),
                           torch.autograd.grad)):
        x = make(np.array([1.0, -2.0, 0.5]))
        h = x * 2
        h.retain_grad()
        k = h.tanh()
        k.retain_grad()
        y = (k * k).sum()
        grad(y, h, retain_graph=True)
        first = (h.grad.copy() if isinstance(h.grad, np.ndarray) else h.grad.clone(),)
        grad(y, x, retain_graph=True)
        y.backward()
        results.append(first + (h.grad, k.grad, x.grad))
    for ours, theirs in zip(*results):
        close(ours, theirs)


def test_jacobian_and_hessian_with_create_graph_differentiate_again_as_pytorch():
    x = np.array([0.3, -0.7, 1.1])
    f = lambda L: (lambda x: (x.sigmoid() * x * x).sum())  # noqa: E731
    ours = Tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    H, tH = AF.hessian(f(Ours), ours, create_graph=True), TAF.hessian(f(Torch), theirs,
                                                                      create_graph=True)
    close(H, tH)
    (third,), (tthird,) = autograd.grad(H.sum(), ours), torch.autograd.grad(tH.sum(), theirs)
    close(third, tthird)
    J = AF.jacobian(lambda x: x.tanh() * x, ours, create_graph=True)
    tJ = TAF.jacobian(lambda x: x.tanh() * x, theirs, create_graph=True)
    close(autograd.grad((J * J).sum(), ours)[0], torch.autograd.grad((tJ * tJ).sum(), theirs)[0])


def test_backward_with_inputs_accumulates_into_those_only_as_pytorch():
    results = []
    for make in (lambda a: Tensor(a, requires_grad=True),
                 lambda a: torch.tensor(a, requires_grad=True)):
        x, w, unused = make(np.array([1.0, 2.0])), make(np.array([3.0, -1.0])), make(np.ones(2))
        h = x * w
        y = (h * h).sum()
        y.backward(inputs=[h, w, unused], retain_graph=True)
        y.backward(inputs=w)  # h retains its gradient since it was an input: it accumulates
        assert x.grad is None and unused.grad is None
        results.append((h.grad, w.grad))
    for ours, theirs in zip(*results):
        close(ours, theirs)
