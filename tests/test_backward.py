"""The backward pass: accumulation, diamonds, deep graphs, no_grad, graph freeing."""
import numpy as np
import pytest

from tinygrad_lite import Tensor, nn, no_grad, optim
from tinygrad_lite.tensor import Function


def test_diamond_and_reuse_are_exact():
    a = Tensor(np.array([1.5, -2.0]), requires_grad=True)
    b = a + a
    c = b * a          # c = 2a², dc/da = 4a
    c.sum().backward()
    np.testing.assert_array_equal(a.grad, 4 * a.data)


def test_gradients_accumulate_until_reset():
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (a * 3).sum().backward()
    (a * 3).sum().backward()
    np.testing.assert_array_equal(a.grad, [6.0, 6.0])
    a.grad = None
    (a * a).sum().backward()
    np.testing.assert_array_equal(a.grad, [2.0, 4.0])


def test_leaf_grads_do_not_alias_each_other():
    a, b = Tensor(np.zeros(3), requires_grad=True), Tensor(np.zeros(3), requires_grad=True)
    (a + b).sum().backward()
    a.grad += 1
    np.testing.assert_array_equal(b.grad, np.ones(3))


def test_deep_chain_has_no_recursion_limit():
    x = Tensor(np.array(1.0), requires_grad=True)
    y = x
    for _ in range(200_000):
        y = y * 1.0000001
    y.backward()
    assert np.isclose(x.grad, 1.0000001**200_000)
    z = x
    for _ in range(200_000):
        z = z + 1.0
    del z  # dropping a deep graph without backward must not crash either


def test_non_scalar_output_needs_gradient():
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"\(2, 3\).*gradient"):
        (a * 2).backward()
    (a * 2).backward(gradient=np.full((2, 3), 0.5))
    np.testing.assert_array_equal(a.grad, np.ones((2, 3)))
    with pytest.raises(ValueError, match="shape"):
        (a * 2).backward(gradient=np.ones(3))


def test_graph_is_freed_unless_retained():
    a = Tensor(np.array(2.0), requires_grad=True)
    c = a * a
    c.backward(retain_graph=True)
    c.backward()
    assert a.grad == 8.0
    with pytest.raises(RuntimeError, match="second time"):
        c.backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor(1.0).backward()


def test_no_grad_and_detach():
    a = Tensor(np.ones(2), requires_grad=True)
    with no_grad():
        b = a * 2
    assert not b.requires_grad and b.grad_fn is None

    @no_grad()
    def f(x):
        return x * 3
    assert not f(a).requires_grad
    assert (a * 2).requires_grad                  # restored afterwards
    d = (a * 2).detach()
    assert not d.requires_grad and d.is_leaf


def test_only_leaves_that_require_grad_get_grads():
    a = Tensor(np.ones(2), requires_grad=True)
    c = Tensor(np.ones(2))
    mid = a * 2
    (mid * c).sum().backward()
    assert c.grad is None and mid.grad is None and a.grad is not None


@pytest.mark.parametrize("change", ["step", "load_state_dict", "data"])
def test_retained_graph_refuses_weights_changed_in_place(change):
    lin = nn.Linear(3, 2, dtype=np.float64, rng=0)
    opt = optim.SGD(lin.parameters(), lr=0.1)
    loss = lin(Tensor(np.ones((4, 3)))).sigmoid().sum()
    loss.backward(retain_graph=True)
    loss.backward(retain_graph=True)  # nothing changed: fine
    before = lin.weight.grad.copy()
    if change == "step":
        opt.step()
    elif change == "load_state_dict":
        lin.load_state_dict({k: v + 1 for k, v in lin.state_dict().items()})
    else:
        lin.weight.data += 1
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\).*changed in place"):
        loss.backward()
    np.testing.assert_array_equal(lin.weight.grad, before)  # refused before storing any
    lin(Tensor(np.ones((4, 3)))).sum().backward()  # a new graph is fine


def test_integer_tensors_cannot_require_grad():
    t = Tensor([1, 2, 3])
    with pytest.raises(TypeError, match="float"):
        t.requires_grad = True
    with pytest.raises(TypeError, match="float"):
        t.requires_grad_()
    assert not t.requires_grad
    x = Tensor(np.array([[1.0, 3.0], [2.0, 0.0]]), requires_grad=True)
    assert not x.argmax(axis=1).requires_grad  # an integer result has no gradient


class Scale(Function):
    """a * b, reporting which inputs the engine says need a gradient"""
    seen: list = []
    forward = staticmethod(lambda a, b: a * b)

    @staticmethod
    def backward(g, out, a, b, needs):
        Scale.seen.append(needs)
        return (g * b if needs[0] else None), (g * a if needs[1] else None)


def test_engine_tells_backward_which_inputs_need_grads():
    a, b = Tensor(np.ones(2), requires_grad=True), Tensor(np.full(2, 3.0))
    Scale.apply(a, b).sum().backward()
    Scale.apply(b, a).sum().backward()
    assert Scale.seen == [(True, False), (False, True)]
    np.testing.assert_array_equal(a.grad, [6.0, 6.0])
    assert b.grad is None
