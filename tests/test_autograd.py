"""Autodiff modes: retain_grad, double backward (create_graph, autograd.grad, gradgradcheck),
forward mode (tangent rules, forward_ad) and autograd.functional, on every op."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_lite as tl
from tinygrad_lite import Tensor, autograd
from tinygrad_lite.autograd import forward_ad as fwAD
from tinygrad_lite.autograd import functional as AF

from autograd_ops import OPS, Ours, inputs_for

NAMES = sorted(OPS)


def leaves(arrays):
    return [Tensor(a.copy(), requires_grad=True) for a in arrays]


def op_fn(name):
    f = OPS[name][1]
    return lambda *xs: f(Ours, *xs)


# --- every op: second derivatives, and forward mode against reverse mode --------------------

@pytest.mark.parametrize("name", NAMES)
def test_double_backward_of_every_op_passes_gradgradcheck(name):
    assert tl.gradgradcheck(op_fn(name), leaves(inputs_for(name)), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_forward_mode_jacobian_equals_reverse_mode_for_every_op(name):
    xs = tuple(Tensor(a) for a in inputs_for(name))
    rev = AF.jacobian(op_fn(name), xs)
    fwd = AF.jacobian(op_fn(name), xs, strategy="forward-mode", vectorize=True)
    for r, f in zip(rev, fwd):
        np.testing.assert_allclose(f.numpy(), r.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_jvp_and_vjp_agree_for_every_op(name):
    """uᵀ (J v) = (uᵀ J) v for random u and v: the tangent rule and the backward rule describe
    the same Jacobian."""
    xs = tuple(Tensor(a) for a in inputs_for(name))
    rng = np.random.default_rng(1)
    vs = tuple(rng.standard_normal(x.shape) for x in xs)
    out, jv = AF.jvp(op_fn(name), xs, vs)
    u = rng.standard_normal(out.shape)
    _, uj = AF.vjp(op_fn(name), xs, u)
    lhs = np.vdot(u, jv.numpy())
    rhs = sum(np.vdot(g.numpy(), v) for g, v in zip(uj, vs))
    assert lhs == pytest.approx(rhs, rel=1e-12, abs=1e-12)


def test_the_agreement_check_catches_a_wrong_tangent_rule():
    class Square(tl.Function):
        forward = staticmethod(lambda x: x * x)
        backward = staticmethod(lambda g, out, x: (g * 2 * x,))
        jvp = staticmethod(lambda t, out, x: t[0] * x)  # planted bug: 2 is missing

    x = Tensor(np.array([1.0, -2.0, 3.0]))
    _, jv = AF.jvp(lambda x: Square.apply(x), x, np.ones(3))
    _, uj = AF.vjp(lambda x: Square.apply(x), x, np.ones(3))
    assert np.vdot(np.ones(3), jv.numpy()) != pytest.approx(np.vdot(uj.numpy(), np.ones(3)))


def test_gradgradcheck_fails_on_a_backward_that_is_right_only_to_first_order():
    class Square(tl.Function):
        forward = staticmethod(lambda x: x * x)
        # x read as a constant: first derivatives right, second derivatives lost
        backward = staticmethod(lambda g, out, x: (g * 2 * tl.tensor.data_of(x),))
        jvp = staticmethod(lambda t, out, x: 2 * x * t[0])

    x = Tensor(np.array([0.5, -1.5, 2.0]), requires_grad=True)
    assert tl.gradcheck(lambda x: Square.apply(x), [x])
    with pytest.raises(tl.GradcheckError, match="gradgradcheck"):
        tl.gradgradcheck(lambda x: Square.apply(x), [x])
    assert not tl.gradgradcheck(lambda x: Square.apply(x), [x], raise_exception=False)


def test_gradcheck_and_gradgradcheck_take_a_function_of_several_outputs():
    class Square(tl.Function):  # right to first order only, as above
        forward = staticmethod(lambda x: x * x)
        backward = staticmethod(lambda g, out, x: (g * 2 * tl.tensor.data_of(x),))

    x = Tensor(np.array([0.5, -1.5, 2.0]), requires_grad=True)
    y = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    good = lambda x, y: (x.tanh() * y.sum(), (x ** 3).sum())  # noqa: E731
    bad = lambda x, y: (x.tanh() * y.sum(), Square.apply(x))  # noqa: E731
    assert tl.gradcheck(good, (x, y)) and tl.gradgradcheck(good, (x, y))
    assert tl.gradgradcheck(good, (x, y), grad_outputs=(Tensor(np.ones(3)), Tensor(np.array(2.0))))
    assert tl.gradcheck(bad, (x, y))
    assert not tl.gradgradcheck(bad, (x, y), raise_exception=False)
    with pytest.raises(ValueError, match="one per output"):
        tl.gradgradcheck(good, (x, y), grad_outputs=Tensor(np.ones(3)))


def test_the_checkers_work_under_no_grad():
    x = Tensor(np.array([0.5, -1.5, 2.0]), requires_grad=True)
    with tl.no_grad():
        assert tl.gradcheck(lambda x: x.tanh(), [x])
        assert tl.gradgradcheck(lambda x: x.tanh(), [x])


def test_gradgradcheck_validates_its_arguments():
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match="eps"):
        tl.gradgradcheck(lambda x: x * x, [x], eps=float("nan"))
    with pytest.raises(TypeError, match="float64"):
        tl.gradgradcheck(lambda x: x * x, [Tensor(np.ones(3, np.float32), requires_grad=True)])
    with pytest.raises(ValueError, match="grad_outputs"):
        tl.gradgradcheck(lambda x: x * x, [x], grad_outputs=[Tensor(np.ones(4))])


def test_an_op_without_a_tangent_rule_is_named_in_forward_mode():
    class NoTangent(tl.Function):
        forward = staticmethod(lambda x: x * 2)
        backward = staticmethod(lambda g, out, x: (g * 2,))

    with pytest.raises(NotImplementedError, match="NoTangent"):
        AF.jvp(lambda x: NoTangent.apply(x), Tensor(np.ones(2)), np.ones(2))


# --- random graphs of the engine's ops --------------------------------------------------------

STEPS = [
    lambda L, a, b: a * b, lambda L, a, b: a - b, lambda L, a, b: a / (b * b + 1),
    lambda L, a, b: a.sigmoid(), lambda L, a, b: b.tanh(), lambda L, a, b: (a * 0.5).exp(),
    lambda L, a, b: (a * a + 1).log(), lambda L, a, b: L.F.softmax(a, dim=1),
    lambda L, a, b: L.F.log_softmax(b, dim=0), lambda L, a, b: a @ b.T @ a,
    lambda L, a, b: a.sum(dim=1, keepdim=True) * b, lambda L, a, b: a.mean(dim=0) + b,
    lambda L, a, b: (a * a + 0.1) ** 1.5, lambda L, a, b: L.cat([a[:, 1:], b[:, :1]], dim=1),
    lambda L, a, b: L.F.pad(a, (1, 0, 0, 0))[:, :4] * b, lambda L, a, b: a.T.reshape(3, 4),
]


def program(steps):
    """f(a, b): each step combines two earlier values (cycling through them); the output is the
    last value and the sum of all."""
    def f(a, b, L=Ours):
        vals = [a, b]
        for k, s in enumerate(steps):
            vals.append(STEPS[s](L, vals[-1], vals[-2 - k % 2]))
        return vals[-1] * 0.5 + sum(v.sum() for v in vals[2:]) * 0.1
    return f


programs = st.lists(st.integers(0, len(STEPS) - 1), min_size=1, max_size=5)


@given(programs, st.integers(0, 2**16))
def test_random_graphs_jvp_vjp_jacobians_agree(steps, seed):
    f = program(steps)
    rng = np.random.default_rng(seed)
    xs = (Tensor(rng.standard_normal((3, 4)) * 0.5), Tensor(rng.standard_normal((3, 4)) * 0.5))
    vs = tuple(rng.standard_normal((3, 4)) for _ in xs)
    out, jv = AF.jvp(f, xs, vs)
    u = rng.standard_normal(out.shape)
    _, uj = AF.vjp(f, xs, u)
    assert np.vdot(u, jv.numpy()) == pytest.approx(
        sum(np.vdot(g.numpy(), v) for g, v in zip(uj, vs)), rel=1e-10, abs=1e-10)
    rev = AF.jacobian(f, xs)
    fwd = AF.jacobian(f, xs, strategy="forward-mode")
    for r, w in zip(rev, fwd):
        np.testing.assert_allclose(w.numpy(), r.numpy(), rtol=1e-10, atol=1e-10)


@given(programs, st.integers(0, 2**16))
def test_random_graphs_hessians_are_symmetric_and_match_differences_of_gradients(steps, seed):
    f = program(steps)
    cost = lambda a, b: f(a, b).sum()  # noqa: E731
    rng = np.random.default_rng(seed)
    a0, b0 = rng.standard_normal((3, 4)) * 0.5, rng.standard_normal((3, 4)) * 0.5
    H = AF.hessian(cost, (Tensor(a0), Tensor(b0)))
    full = np.block([[H[i][j].numpy().reshape(12, 12) for j in range(2)] for i in range(2)])
    np.testing.assert_allclose(full, full.T, rtol=1e-9, atol=1e-9)
    fwd = AF.hessian(cost, (Tensor(a0), Tensor(b0)), outer_jacobian_strategy="forward-mode")
    for i in range(2):
        for j in range(2):
            np.testing.assert_allclose(fwd[i][j].numpy(), H[i][j].numpy(), rtol=1e-9, atol=1e-9)

    def gradient(x):  # the gradient at x (both inputs flattened)
        a, b = Tensor(x[:12].reshape(3, 4), requires_grad=True), \
            Tensor(x[12:].reshape(3, 4), requires_grad=True)
        cost(a, b).backward()
        return np.concatenate([np.zeros(12) if t.grad is None else t.grad.ravel() for t in (a, b)])

    x0, eps = np.concatenate([a0.ravel(), b0.ravel()]), 1e-5
    for k in rng.choice(24, 4, replace=False):
        e = np.zeros(24)
        e[k] = eps
        column = (gradient(x0 + e) - gradient(x0 - e)) / (2 * eps)
        np.testing.assert_allclose(full[:, k], column, rtol=1e-5, atol=1e-6)


def test_hvp_is_hessian_times_v_both_ways():
    f = lambda x: (x.sigmoid() * x.exp()).sum() + (x @ x) ** 2  # noqa: E731
    x, v = Tensor(np.linspace(-1, 1, 5)), np.arange(5.0)
    H = AF.hessian(f, x).numpy()
    out, hv = AF.hvp(f, x, v)
    _, vh = AF.vhp(f, x, v)
    _, hv2 = AF.hvp(f, x, v, create_graph=True)
    assert out.item() == pytest.approx(f(x).item())
    np.testing.assert_allclose(hv.numpy(), H @ v, rtol=1e-12)
    np.testing.assert_allclose(vh.numpy(), v @ H, rtol=1e-12)
    np.testing.assert_allclose(hv2.numpy(), H @ v, rtol=1e-12)


def test_forward_mode_through_a_product_with_a_bool_mask():
    """A bool or integer operand (ReLU's mask in its backward, x * (x > 0)) has a zero tangent."""
    x, v = Tensor(np.array([-1.0, 0.5, 2.0])), np.array([1.0, 2.0, 3.0])
    _, jv = AF.jvp(lambda x: x * (x > 0) + x * Tensor(np.array([1, 2, 3])), x, v)
    np.testing.assert_allclose(jv.numpy(), [0 + 1, 2 + 4, 3 + 9])
    f = lambda x: (x.relu() ** 3).sum()  # noqa: E731
    _, hv = AF.hvp(f, x, v)
    np.testing.assert_allclose(hv.numpy(), AF.hessian(f, x).numpy() @ v)
    np.testing.assert_allclose(hv.numpy(), [0, 6 * 0.5 * 2, 6 * 2 * 3])
    H = AF.hessian(f, x, outer_jacobian_strategy="forward-mode").numpy()
    np.testing.assert_allclose(H, np.diag([0, 3.0, 12.0]))


def test_strict_refuses_second_derivatives_that_are_zero_by_construction():
    x, y = Tensor(np.ones(2)), Tensor(np.ones(3))
    linear = lambda x: (x * 2).sum()  # noqa: E731
    for fn in (AF.hvp, AF.vhp):
        with pytest.raises(RuntimeError, match="gradient with respect to input 0"):
            fn(linear, x, np.ones(2), strict=True)
        np.testing.assert_array_equal(fn(linear, x, np.ones(2))[1].numpy(), [0, 0])
    for strategy in ("reverse-mode", "forward-mode"):
        with pytest.raises(RuntimeError, match="gradient with respect to input 0 does not depend "
                                               "on input 1"):
            AF.hessian(lambda x, y: (x ** 2).sum() + (y ** 2).sum(), (x, y), strict=True,
                       outer_jacobian_strategy=strategy)
        with pytest.raises(RuntimeError, match="output 1 does not depend on input 0"):
            AF.jacobian(lambda x, y: (x * y.sum(), y * 2), (x, y), strict=True,
                        strategy=strategy)
    assert AF.hessian(lambda x: (x ** 3).sum(), x, strict=True).shape == (2, 2)


def test_jvp_strict_names_the_input_the_outputs_ignore():
    x, y = Tensor(np.ones(2)), Tensor(np.ones(3))
    for create_graph in (False, True):
        with pytest.raises(RuntimeError, match="input 1"):
            AF.jvp(lambda x, y: x * 2, (x, y), (np.ones(2), np.ones(3)), strict=True,
                   create_graph=create_graph)
        with pytest.raises(RuntimeError, match="output 0"):
            AF.jvp(lambda x: x.detach() * 2, x, np.ones(2), strict=True,
                   create_graph=create_graph)
    _, jv = AF.jvp(lambda x, y: x * y.sum(), (x, y), (np.ones(2), np.ones(3)), strict=True)
    np.testing.assert_allclose(jv.numpy(), [6, 6])  # v_x Σy + x Σv_y


def test_functional_create_graph_keeps_the_graph_of_outputs_results_and_v():
    """As PyTorch: with create_graph=True the outputs and the results stay differentiable, in
    the inputs and in v (jvp then takes J v by reverse mode twice)."""
    f = lambda x: (x ** 3).sum()  # noqa: E731
    x0, v0 = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    for fn in (AF.vjp, AF.jvp, AF.hvp, AF.vhp):
        x, v = Tensor(x0, requires_grad=True), Tensor(v0 if fn in (AF.hvp, AF.vhp) or
                                                       fn is AF.jvp else 1.0,
                                                       requires_grad=True)
        out, res = fn(f, x, v, create_graph=True)
        assert out.requires_grad and res.requires_grad, fn.__name__
        gx, gv = autograd.grad(res.sum() + out, (x, v))
        if fn in (AF.hvp, AF.vhp):  # Σ 6 x v + Σ x³
            np.testing.assert_allclose(gx.numpy(), 6 * v0 + 3 * x0 ** 2)
            np.testing.assert_allclose(gv.numpy(), 6 * x0)
        elif fn is AF.jvp:  # Σ 3 x² v + Σ x³
            np.testing.assert_allclose(gx.numpy(), 6 * x0 * v0 + 3 * x0 ** 2)
            np.testing.assert_allclose(gv.numpy(), 3 * x0 ** 2)
        else:  # Σ 3 x² v + Σ x³, v a scalar
            np.testing.assert_allclose(gx.numpy(), 6 * x0 + 3 * x0 ** 2)
            np.testing.assert_allclose(gv.numpy(), (3 * x0 ** 2).sum())
    out, jv = AF.jvp(lambda x: x * x, Tensor(x0), v0)
    assert not out.requires_grad and not jv.requires_grad
    for create_graph in (False, True):  # an integer output's J v is zeros, either way
        _, (jv, jint) = AF.jvp(lambda x: (x * x, x.argmax()), Tensor(x0), v0,
                               create_graph=create_graph)
        np.testing.assert_array_equal(jv.numpy(), 2 * x0 * v0)
        assert jint.dtype == np.int64 and jint.item() == 0


# --- retain_grad, create_graph and autograd.grad ---------------------------------------------

def test_retain_grad_keeps_the_delta_of_an_intermediate_tensor():
    rng = np.random.default_rng(0)
    x, w = Tensor(rng.standard_normal((2, 3))), Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    z = x @ w.T
    z.retain_grad()
    a = z.sigmoid()
    a.retain_grad()
    assert z.retains_grad and not w.retains_grad
    cost = (a * a).sum()
    cost.backward(retain_graph=True)
    np.testing.assert_allclose(a.grad, 2 * a.numpy())
    np.testing.assert_allclose(z.grad, 2 * a.numpy() * a.numpy() * (1 - a.numpy()))  # δ = ∂C/∂z
    np.testing.assert_allclose(w.grad, z.grad.T @ x.numpy())  # BP4: ∂C/∂w = δ aᵀ
    b = z.sigmoid()
    b.sum().backward()  # accumulates, as leaves do
    np.testing.assert_allclose(z.grad, (2 * a.numpy() + 1) * a.numpy() * (1 - a.numpy()))


def test_retain_grad_refuses_a_tensor_that_gets_no_gradient_and_is_free_for_leaves():
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor(np.ones(2)).retain_grad()
    w = Tensor(np.ones(2), requires_grad=True)
    w.retain_grad()
    (w * 3).sum().backward()
    np.testing.assert_array_equal(w.grad, [3, 3])
    y = w * 2
    (y * y).sum().backward()
    assert y.grad is None  # not retained: PyTorch's None


def test_backward_create_graph_gives_a_gradient_that_differentiates_again():
    x = Tensor(np.array([0.3, -1.2, 2.0]), requires_grad=True)
    y = (x ** 3).sum()
    y.backward(create_graph=True)
    g = x.grad
    assert isinstance(g, Tensor) and g.requires_grad
    np.testing.assert_allclose(g.numpy(), 3 * x.numpy() ** 2)
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(x.grad, 6 * x.numpy())


def test_an_optimizer_steps_with_a_gradient_made_by_create_graph():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (w * w).sum().backward(create_graph=True)
    tl.optim.SGD([w], lr=0.1).step()
    assert isinstance(w.data, np.ndarray)
    np.testing.assert_allclose(w.numpy(), [0.8, 1.6])


def test_backward_with_inputs_fills_only_their_grad():
    x, w = Tensor(np.array([1.0, 2.0]), requires_grad=True), Tensor(np.ones(2), requires_grad=True)
    (x * w * 3).sum().backward(inputs=[w])
    assert x.grad is None and np.array_equal(w.grad, [3.0, 6.0])


def test_grad_returns_gradients_without_touching_dot_grad():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = x * x
    y = (h * x).sum()
    gx, gh = autograd.grad(y, [x, h], retain_graph=True)
    np.testing.assert_allclose(gx.numpy(), 3 * x.numpy() ** 2)
    np.testing.assert_allclose(gh.numpy(), x.numpy())  # with respect to an intermediate tensor
    assert x.grad is None
    (g,) = autograd.grad([y, h.sum()], x, [None, np.ones(())])  # several outputs add up
    np.testing.assert_allclose(g.numpy(), 3 * x.numpy() ** 2 + 2 * x.numpy())


def test_grad_refuses_unused_inputs_unless_asked_and_inputs_without_grad():
    x, z = Tensor(np.ones(2), requires_grad=True), Tensor(np.ones(3), requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match=r"inputs\[1\].*not used"):
        autograd.grad(y, [x, z], retain_graph=True)
    assert autograd.grad(y, [x, z], allow_unused=True, retain_graph=True)[1] is None
    np.testing.assert_array_equal(
        autograd.grad(y, [x, z], materialize_grads=True, retain_graph=True)[1].numpy(), 0)
    with pytest.raises(RuntimeError, match="does not require grad"):
        autograd.grad(y, Tensor(np.ones(2)))
    with pytest.raises(RuntimeError, match="non-scalar"):
        autograd.grad(x * 2, x)
    with pytest.raises(ValueError, match="shape"):
        autograd.grad(x * 2, x, np.ones(3))
    with pytest.raises(TypeError, match="Tensor"):
        autograd.grad(y, [x, "z"])
    autograd.grad(y, x)  # frees the graph, as PyTorch's does
    with pytest.raises(RuntimeError, match="second time"):
        autograd.grad(y, x)


def test_double_backward_through_a_saved_output_uses_its_graph():
    """Sigmoid's backward reads σ(x) (its output): the second derivative must see that σ(x)
    depends on x: d²σ/dx² = σ(1-σ)(1-2σ)."""
    x = Tensor(np.array([-1.0, 0.2, 1.5]), requires_grad=True)
    (g,) = autograd.grad(x.sigmoid().sum(), x, create_graph=True)
    (h,) = autograd.grad(g.sum(), x)
    s = 1 / (1 + np.exp(-x.numpy()))
    np.testing.assert_allclose(h.numpy(), s * (1 - s) * (1 - 2 * s), rtol=1e-12)


def test_capture_refuses_create_graph():
    w = Tensor(np.ones(2), requires_grad=True)

    def step(x):
        (w * x).sum().backward(create_graph=True)

    with pytest.raises(tl.CaptureError, match="create_graph"):
        tl.capture(step)(Tensor(np.ones(2)))


def test_a_captured_step_replays_autograd_grad_vjp_and_jacobian_on_new_data():
    w = Tensor(np.array([[1.0, -2.0], [0.5, 1.5]]), requires_grad=True)
    steps = {
        "grad": lambda x: autograd.grad((x @ w).relu().sum(), w),
        "vjp": lambda x: AF.vjp(lambda w: (x @ w).tanh().sum(), w)[1],
        "jacobian": lambda x: AF.jacobian(lambda x: (x @ w).sigmoid(), x),
    }
    for name, step in steps.items():
        captured = tl.capture(step)
        for x in (np.array([[1.0, 2.0]]), np.array([[-3.0, 0.5]]), np.array([[2.0, -1.0]])):
            eager, replayed = step(Tensor(x)), captured(Tensor(x))
            eager = eager[0] if isinstance(eager, tuple) else eager
            replayed = replayed[0] if isinstance(replayed, tuple) else replayed
            np.testing.assert_array_equal(replayed.numpy(), eager.numpy(), err_msg=name)


def test_capture_refuses_forward_mode_with_a_clear_error():
    def step(x):
        with fwAD.dual_level():
            return fwAD.unpack_dual(fwAD.make_dual(x, np.ones(2)).tanh()).tangent

    with pytest.raises(tl.CaptureError, match="forward mode.*tangents are not recorded"):
        tl.capture(step)(Tensor(np.ones(2)))
    with pytest.raises(tl.CaptureError, match="forward mode"):
        tl.capture(lambda x: AF.hvp(lambda x: (x ** 3).sum(), x, x))(Tensor(np.ones(2)))


# --- forward_ad and functional: PyTorch's conventions and errors ----------------------------

def test_dual_tensors_carry_tangents_through_ops():
    with fwAD.dual_level():
        x = fwAD.make_dual(Tensor(np.array([0.5, 1.0])), np.array([1.0, 0.0]))
        y = (x * x).exp()
        primal, tangent = fwAD.unpack_dual(y)
        np.testing.assert_allclose(tangent.numpy(), [2 * 0.5 * np.exp(0.25), 0])
        assert fwAD.unpack_dual(Tensor(np.ones(2))).tangent is None
    assert fwAD.unpack_dual(y).tangent is None  # the level is over


def test_unpack_dual_gives_a_primal_without_the_tangent_still_connected_for_reverse_mode():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with fwAD.dual_level():
        x = fwAD.make_dual(w, np.array([1.0, 1.0]))
        primal, tangent = fwAD.unpack_dual(x * x)
        assert fwAD.unpack_dual(primal * 3).tangent is None  # as PyTorch's: a plain view
        np.testing.assert_array_equal(tangent.numpy(), [2, 4])
        (g,) = autograd.grad(primal.sum(), w)
    np.testing.assert_array_equal(g.numpy(), [2, 4])


def test_forward_ad_errors_name_the_problem():
    with pytest.raises(RuntimeError, match="dual_level"):
        fwAD.make_dual(Tensor(np.ones(2)), np.ones(2))
    with fwAD.dual_level():
        with pytest.raises(ValueError, match="shape"):
            fwAD.make_dual(Tensor(np.ones(2)), np.ones(3))
        with pytest.raises(TypeError, match="float"):
            fwAD.make_dual(Tensor(np.ones(2, np.int64)), np.ones(2))
        with pytest.raises(RuntimeError, match="nest"):
            with fwAD.dual_level():
                pass


def test_functional_returns_tensors_for_tensors_and_tuples_for_tuples():
    x, y = Tensor(np.arange(3.0)), Tensor(np.ones(2))
    f1 = lambda x: x * 2  # noqa: E731
    J = AF.jacobian(f1, x)
    assert isinstance(J, Tensor) and J.shape == (3, 3)
    J = AF.jacobian(lambda x, y: (x * 2).sum() * y, (x, y))
    assert isinstance(J, tuple) and [j.shape for j in J] == [(2, 3), (2, 2)]
    J = AF.jacobian(lambda x: (x * 2, x.sum()), x)
    assert isinstance(J, tuple) and [j.shape for j in J] == [(3, 3), (3,)]
    J = AF.jacobian(lambda x, y: (x * 2, y), (x, y))
    assert [[j.shape for j in row] for row in J] == [[(3, 3), (3, 2)], [(2, 3), (2, 2)]]
    H = AF.hessian(lambda x, y: (x * x).sum() * y.sum(), (x, y))
    assert [[h.shape for h in row] for row in H] == [[(3, 3), (3, 2)], [(2, 3), (2, 2)]]
    out, v = AF.vjp(f1, x, np.ones(3))
    assert isinstance(out, Tensor) and isinstance(v, Tensor)
    out, v = AF.vjp(lambda x, y: x.sum() * y, (x, y), np.ones(2))
    assert isinstance(v, tuple) and len(v) == 2
    out, t = AF.jvp(lambda x: (x, x * 3), x, np.ones(3))
    assert isinstance(out, tuple) and np.array_equal(t[1].numpy(), [3, 3, 3])
    assert not AF.jacobian(f1, x).requires_grad


def test_functional_gives_the_same_results_under_no_grad():
    f = lambda x: (x.tanh() * x * x).sum()  # noqa: E731
    x, v = Tensor(np.array([0.5, -1.0, 2.0])), np.array([1.0, 2.0, -1.0])
    expected = [AF.hvp(f, x, v)[1], AF.hessian(f, x, outer_jacobian_strategy="forward-mode"),
                AF.jacobian(lambda x: x.tanh() * x, x, strategy="forward-mode")]
    assert np.abs(expected[0].numpy()).min() > 0.1
    with tl.no_grad():
        got = [AF.hvp(f, x, v)[1], AF.hessian(f, x, outer_jacobian_strategy="forward-mode"),
               AF.jacobian(lambda x: x.tanh() * x, x, strategy="forward-mode")]
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_reverse_mode_jacobian_blocks_have_the_input_dtype_as_pytorch():
    x = Tensor(np.arange(3.0))
    J = AF.jacobian(lambda x: (x.float() * 2, x.argmax()), x)
    assert [j.dtype for j in J] == [np.float64, np.float64]
    np.testing.assert_array_equal(J[1].numpy(), np.zeros((3,)))


def test_functional_gives_zeros_or_an_error_for_unused_inputs():
    x, y = Tensor(np.ones(2)), Tensor(np.ones(3))
    J = AF.jacobian(lambda x, y: x * 2, (x, y))
    np.testing.assert_array_equal(J[1].numpy(), np.zeros((2, 3)))
    with pytest.raises(RuntimeError, match="input 1"):
        AF.jacobian(lambda x, y: x * 2, (x, y), strict=True)
    with pytest.raises(RuntimeError, match="input 1"):
        AF.vjp(lambda x, y: (x * 2).sum(), (x, y), strict=True)


def test_functional_checks_its_arguments():
    x = Tensor(np.ones(3))
    with pytest.raises(RuntimeError, match="v can be omitted"):
        AF.vjp(lambda x: x * 2, x)
    with pytest.raises(RuntimeError, match="shape"):
        AF.jvp(lambda x: x * 2, x, np.ones(4))
    with pytest.raises(RuntimeError, match="single Tensor of one element"):
        AF.hessian(lambda x: x * 2, x)
    with pytest.raises(ValueError, match="strategy"):
        AF.jacobian(lambda x: x, x, strategy="sideways")
    with pytest.raises(TypeError, match="Tensor"):
        AF.jacobian(lambda x: x, np.ones(3))
    with pytest.raises(TypeError, match="float"):
        AF.jacobian(lambda x: x, Tensor(np.ones(3, np.int64)))
    with pytest.raises(NotImplementedError, match="create_graph"):
        AF.jacobian(lambda x: x, x, create_graph=True, strategy="forward-mode")


# --- the engine's internal ops (those behind backward rules) and the rule of three rules ------

def test_every_op_has_a_tangent_rule_beside_forward_and_backward():
    ops = [c for c in vars(tl.ops).values()
           if isinstance(c, type) and issubclass(c, tl.Function)]
    assert len(ops) > 30
    without = sorted(c.__name__ for c in ops if c.jvp is None or "backward" not in vars(c)
                     and not any("backward" in vars(b) for b in c.__mro__[1:-2]))
    # results that are integers or bools: no derivative at all
    assert without == ["AllNonzero", "AnyNonzero", "Argmax", "Argmin", "Compare"]


INTERNAL = {
    "unfold": ([(2, 2, 5, 4)], lambda x: conv_ops().Unfold.apply(x, kernel=(2, 3), stride=(2, 1),
                                                                  padding=(1, 0))),
    "fold": ([(2, 2, 2, 3, 3, 2)], lambda p: conv_ops().Fold.apply(p, shape=(2, 2, 5, 4),
                                                                   stride=(2, 1), padding=(1, 0))),
    "unfold_dilated_1d": ([(2, 2, 7)], lambda x: conv_ops().Unfold.apply(
        x, kernel=(3,), stride=(2,), padding=(1,), dilation=(2,))),
    "fold_dilated_3d": ([(1, 2, 2, 1, 2, 2, 3, 2)], lambda p: conv_ops().Fold.apply(
        p, shape=(1, 2, 4, 3, 4), stride=(1, 1, 2), padding=(0, 0, 1), dilation=(2, 1, 1))),
    "index_add": ([(3, 2)], lambda g: tl.ops.IndexAdd.apply(g, index=([0, 2, 0],),
                                                               shape=(4, 2))),
}


def conv_ops():
    return tl.ops


@pytest.mark.parametrize("name", sorted(INTERNAL))
def test_internal_ops_pass_every_check(name):
    shapes, f = INTERNAL[name]
    rng = np.random.default_rng(3)
    xs = [Tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    assert tl.gradcheck(f, xs) and tl.gradgradcheck(f, xs)
    plain = Tensor(xs[0].numpy())
    rev, fwd = AF.jacobian(f, plain), AF.jacobian(f, plain, strategy="forward-mode")
    np.testing.assert_allclose(fwd.numpy(), rev.numpy(), atol=1e-14)


def test_cast_passes_gradients_and_tangents_across_dtypes():
    x = Tensor(np.array([1.5, -2.0], np.float32), requires_grad=True)
    y = (x.double() * x.double()).sum()
    assert y.dtype == np.float64
    (g,) = autograd.grad(y, x, create_graph=True)
    assert g.dtype == np.float32 and np.array_equal(g.numpy(), [3.0, -4.0])
    (h,) = autograd.grad(g.sum(), x)
    assert np.array_equal(h.numpy(), [2.0, 2.0])
    _, t = AF.jvp(lambda x: x.to(np.float64) * 3, Tensor(np.ones(2, np.float32)), np.ones(2))
    assert t.dtype == np.float64 and np.array_equal(t.numpy(), [3.0, 3.0])
    assert x.to(np.float32) is x and x.to(np.int64).dtype == np.int64
