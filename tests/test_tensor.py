"""Tensor construction, the ops' values and gradients, and clear errors."""
import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lite.functional as F
from tinygrad_lite import Tensor, gradcheck


def t64(a, requires_grad=True):
    return Tensor(np.asarray(a, np.float64), requires_grad=requires_grad)


# --- construction ----------------------------------------------------------------------------

def test_dtypes_follow_pytorch_defaults():
    assert Tensor(1.5).dtype == np.float32
    assert Tensor([[1.0, 2.0]]).dtype == np.float32
    assert Tensor(np.zeros(3)).dtype == np.float64          # numpy float dtype kept
    assert Tensor(np.zeros(3, np.float32)).dtype == np.float32
    assert Tensor([1, 2]).dtype.kind == "i"                  # labels stay integers
    assert Tensor(Tensor([1.0])).dtype == np.float32
    a = np.ones(3)
    assert Tensor(a).data is a                               # wrapped, not copied


def test_attributes_and_repr():
    t = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert t.shape == (2, 2) and t.ndim == 2 and t.grad is None and t.requires_grad
    assert isinstance(t.numpy(), np.ndarray) and Tensor(3.0).item() == 3.0
    assert "requires_grad=True" in repr(t) and "float32" in repr(t)
    assert "grad_fn=<Sigmoid>" in repr(t.sigmoid())
    assert not Tensor(1.0).requires_grad                     # off by default
    assert (t * 2).requires_grad and not (Tensor(1.0) * 2).requires_grad


def test_size_and_numel_as_in_pytorch():
    t = Tensor(np.zeros((2, 3, 4)))
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4
    assert t.numel() == 24 and Tensor(1.0).numel() == 1 and Tensor(1.0).size() == ()


def test_dim_and_keepdim_spellings_agree_with_axis():
    x = Tensor(np.random.default_rng(0).normal(size=(3, 5)))
    for name, f in [("softmax", F.softmax), ("log_softmax", F.log_softmax)]:
        by_dim, by_axis = f(x, dim=0).data, getattr(x, name)(axis=0).data
        np.testing.assert_array_equal(by_dim, by_axis)
        assert not np.allclose(by_dim, f(x, dim=1).data)            # the dim is used
    np.testing.assert_array_equal(x.argmax(dim=1).data, x.data.argmax(axis=1))
    assert x.argmax(dim=0, keepdim=True).shape == (1, 5) and x.argmax().shape == ()
    assert x.sum(dim=1, keepdim=True).shape == (3, 1) and x.mean(dim=0).shape == (5,)


@pytest.mark.parametrize("bad", [["a", "b"], "text", [object()], {"a": 1}])
def test_non_numeric_data_is_a_type_error(bad):
    with pytest.raises(TypeError):
        Tensor(bad)


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="float"):
        Tensor([1, 2], requires_grad=True)


# --- errors ------------------------------------------------------------------------------------

def test_shape_mismatch_names_op_and_shapes():
    a, b = Tensor(np.ones((3, 4))), Tensor(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"add.*\(3, 4\).*\(2, 4\)"):
        a + b
    with pytest.raises(ValueError, match=r"matmul.*\(3, 4\).*\(2, 4\)"):
        a @ b
    with pytest.raises(ValueError, match=r"mul"):
        a * np.ones((5,))


def test_unsupported_operands_are_clear():
    t = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="number or a tensor"):
        t ** "2"
    np.testing.assert_allclose((t ** Tensor(2.0)).data, [1.0, 4.0])  # torch.pow(a, b)
    with pytest.raises(TypeError, match="str"):
        t + "x"
    with pytest.raises(ValueError, match="shape"):
        F.mse_loss(t, np.ones(3))
    with pytest.raises(ValueError, match="at least 1 dimension"):
        Tensor(2.0) @ t


def test_reflected_ops_with_scalars_and_arrays():
    t = t64([1.0, 2.0])
    np.testing.assert_allclose((1 - t).data, [0.0, -1.0])
    np.testing.assert_allclose((2 * t).data, [2.0, 4.0])
    np.testing.assert_allclose((1 / t).data, [1.0, 0.5])
    out = np.array([1.0, 1.0]) + t
    assert isinstance(out, Tensor) and out.requires_grad
    assert (np.ones((3, 2)) @ t).shape == (3,)


# --- gradients of every op, checked by central differences --------------------------------

UNARY = {
    "neg": lambda x: -x,
    "exp": lambda x: x.exp(),
    "log": lambda x: (x * x + 0.5).log(),
    "sigmoid": lambda x: x.sigmoid(),
    "relu": lambda x: (x + 0.3).relu(),
    "tanh": lambda x: x.tanh(),
    "pow2": lambda x: x**2,
    "pow3": lambda x: x**3,
    "sqrt": lambda x: (x * x + 1).sqrt(),
    "sum": lambda x: x.sum(),
    "sum0": lambda x: x.sum(axis=0),
    "sum_keep": lambda x: x.sum(axis=-1, keepdims=True),
    "mean": lambda x: x.mean(axis=1),
    "reshape": lambda x: x.reshape(-1) * Tensor(np.arange(x.numel(), dtype=np.float64)),
    "T": lambda x: x.T @ x,
    "log_softmax": lambda x: x.log_softmax(axis=1),
    "softmax": lambda x: x.softmax(axis=0),
    "getitem": lambda x: x[1:, ::2] * 3,
    "clamp": lambda x: x.clamp(min=-0.5, max=0.5),
    "rpow": lambda x: 2.5**x,
}

matrices = hnp.arrays(np.float64, st.tuples(st.integers(2, 4), st.integers(2, 4)),
                      elements=st.floats(-2, 2).filter(lambda v: abs(abs(v) - 0.5) > 1e-3
                                                       and abs(v + 0.3) > 1e-3))


@pytest.mark.parametrize("name", sorted(UNARY))
@given(x=matrices)
def test_unary_gradients(name, x):
    assert gradcheck(UNARY[name], [t64(x)])


shapes = st.sampled_from([((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)), ((4,), ()),
                          ((3, 4), (3, 4)), ((1,), (2, 3))])


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
@given(shapes=shapes, seed=st.integers(0, 2**16))
def test_binary_broadcasting_gradients(op, shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = (t64(rng.uniform(0.5, 2, s)) for s in shapes)
    fn = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b,
          "mul": lambda a, b: a * b, "div": lambda a, b: a / b}[op]
    assert gradcheck(fn, [a, b]) and gradcheck(lambda b, a: fn(b, a), [b, a])
    out = fn(a, b)
    out.sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape


@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 2)), ((4,), (4, 2)), ((3, 4), (4,)),
                                   ((4,), (4,)), ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5))])
def test_matmul_gradients(sa, sb):
    rng = np.random.default_rng(0)
    assert gradcheck(lambda a, b: a @ b, [t64(rng.normal(size=sa)), t64(rng.normal(size=sb))])


def test_losses_and_linear_gradients():
    rng = np.random.default_rng(1)
    x, w, b = t64(rng.normal(size=(5, 3))), t64(rng.normal(size=(2, 3))), t64(rng.normal(size=2))
    y = t64(rng.uniform(size=(5, 2)))
    p = t64(rng.uniform(0.1, 0.9, size=(5, 2)))
    labels = np.array([0, 1, 1, 0, 1])
    assert gradcheck(lambda x, w, b: F.linear(x, w, b), [x, w, b])
    assert gradcheck(lambda x, w: F.linear(x, w), [x, w])
    assert gradcheck(lambda p, y: F.mse_loss(p, y), [p, y])
    assert gradcheck(lambda p, y: F.quadratic_cost(p, y), [p, y])
    assert gradcheck(lambda p: F.binary_cross_entropy(p, y), [p])
    assert gradcheck(lambda z: F.cross_entropy(z, labels), [(x @ w.T).detach().requires_grad_()])


def test_loss_values():
    p = Tensor(np.array([[0.2, 0.8], [0.6, 0.4]]))
    y = np.array([[0.0, 1.0], [1.0, 0.0]])
    d2 = (0.2**2 + 0.2**2 + 0.4**2 + 0.4**2)
    assert np.isclose(F.mse_loss(p, y).item(), d2 / 4)
    assert np.isclose(F.quadratic_cost(p, y).item(), d2 / (2 * 2))   # 1/(2n), n = 2 rows
    bce = -np.mean(y * np.log(p.data) + (1 - y) * np.log(1 - p.data))
    assert np.isclose(F.binary_cross_entropy(p, y).item(), bce)
    logits = np.array([[1.0, 2.0, 3.0], [1.0, 0.0, -1.0]])
    ls = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    assert np.isclose(F.cross_entropy(Tensor(logits), [2, 0]).item(), -(ls[0, 2] + ls[1, 0]) / 2)


def test_cross_entropy_label_errors():
    z = Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        F.cross_entropy(z, [0, 3])
    with pytest.raises(ValueError, match="integers"):
        F.cross_entropy(z, [0.0, 1.0])


# --- numerics ----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_exact_and_silent_at_extremes(dtype):
    x = Tensor(np.array([-1e4, -100.0, 0.0, 100.0, 1e4], dtype), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = x.sigmoid()
        s.sum().backward()
    assert s.data[0] == 0.0 and s.data[-1] == 1.0 and s.data[2] == 0.5
    assert s.dtype == dtype and np.all(np.isfinite(x.grad))


def test_log_softmax_is_stable_for_huge_logits():
    x = t64([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = x.log_softmax()
        F.cross_entropy(x, [0, 2]).backward()
    assert np.allclose(out.data[0], [0.0, -2e4, -1e4])
    assert np.allclose(out.data[1], -np.log(3))
    assert np.all(np.isfinite(x.grad))


def test_float32_stays_float32_through_ops_and_grads():
    w = Tensor(np.ones((3, 2), np.float32), requires_grad=True)
    x = np.ones((4, 3))  # a float64 constant
    out = (Tensor(x, dtype=np.float32) @ w * 2.0 - 1).sigmoid().mean()
    assert out.dtype == np.float32
    out.backward()
    assert w.grad.dtype == np.float32
    mixed = (Tensor(x) @ w).sum()   # float64 data with a float32 weight: grad still float32
    w.grad = None
    mixed.backward()
    assert w.grad.dtype == np.float32 and w.grad.shape == w.shape
