"""The Tensor API of network code: max/min, maximum/minimum, abs, where, cat, stack, shape ops,
pad, gather, factories and manual_seed. Finite differences, tie rules, PyTorch when installed."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygrad_lite as tl
import tinygrad_lite.functional as F
from tinygrad_lite import Tensor, gradcheck, nn


def leaf(a):
    return Tensor(np.array(a, np.float64), requires_grad=True)


def grads(fn, *arrays):
    ts = [leaf(a) for a in arrays]
    fn(*ts).backward()
    return [t.grad for t in ts]


# Each case: the input shapes for a (3, 4) base, and the same expression for both libraries
# (t is tinygrad_lite or torch, so names must agree).
CASES = {
    "max_all": ([(3, 4)], lambda t, x: x.max()),
    "max_dim": ([(3, 4)], lambda t, x: x.max(dim=1).values),
    "max_dim_keepdim": ([(3, 4)], lambda t, x: x.max(0, keepdim=True)[0]),
    "min_all": ([(3, 4)], lambda t, x: x.min()),
    "min_dim": ([(3, 4)], lambda t, x: t.min(x, -1).values),
    "maximum": ([(3, 4), (4,)], lambda t, x, y: t.maximum(x, y)),
    "minimum": ([(3, 4), (3, 1)], lambda t, x, y: x.minimum(y)),
    "max_other": ([(3, 4), (3, 4)], lambda t, x, y: x.max(y) - y.min(x)),
    "abs": ([(3, 4)], lambda t, x: t.abs(x) + abs(x)),
    "where": ([(3, 4), (4,)], lambda t, x, y: t.where(greater(t, x, y), x, y)),
    "where_scalar": ([(3, 4)], lambda t, x: t.where(greater(t, x, x * 0), x, 0.5)),
    "cat": ([(3, 4), (3, 2)], lambda t, x, y: t.cat([x, y, x], dim=1)),
    "stack": ([(3, 4), (3, 4)], lambda t, x, y: t.stack([x, y], dim=-1)),
    "shape_ops": ([(3, 4)], lambda t, x: x.unsqueeze(1).unsqueeze(-1).flatten(1).view(2, 6)
                  .unsqueeze(0).squeeze()),
    "squeeze_dim": ([(3, 1, 4, 1)], lambda t, x: x.squeeze(1).squeeze(0)),
    "flatten": ([(2, 3, 2)], lambda t, x: t.flatten(x, 1) * 2),
    "expand": ([(3, 1)], lambda t, x: x.expand(2, 3, 4) + x.expand(-1, 4)),
    "pad": ([(3, 4)], lambda t, x: pad(t)(x, (1, 2)) + 0),
    "pad_2d": ([(2, 3, 4)], lambda t, x: pad(t)(x, (0, 1, 2, 1), value=0.5)),
    "pad_crop": ([(3, 4)], lambda t, x: pad(t)(x, (-1, 2, 1, -2))),
    "gather": ([(3, 4)], lambda t, x: x.gather(1, index(t, [[0, 3, 3], [1, 1, 0], [2, 0, 1]]))),
}


def pad(t):
    return F.pad if t is tl else t.nn.functional.pad


def greater(t, x, y):
    return Tensor(x.data > y.data) if t is tl else x > y


def index(t, rows):
    return Tensor(np.array(rows)) if t is tl else t.tensor(rows)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name):
    shapes, fn = CASES[name]
    rng = np.random.default_rng(len(name))
    ins = [leaf(rng.normal(size=s)) for s in shapes]
    assert gradcheck(lambda *ts: fn(tl, *ts), ins)


@settings(max_examples=20)
@given(rows=st.integers(1, 3), cols=st.integers(1, 4), dim=st.integers(-2, 1),
       keep=st.booleans(), seed=st.integers(0, 99))
def test_reductions_and_joins_gradcheck_over_shapes(rows, cols, dim, keep, seed):
    rng = np.random.default_rng(seed)
    x, y = leaf(rng.normal(size=(rows, cols))), leaf(rng.normal(size=(rows, cols)))
    fns = [lambda x, y: x.max(dim, keep).values * y.min(axis=dim, keepdims=keep),
           lambda x, y: tl.cat([x, y], dim).max(axis=dim) + tl.stack([x, y], dim).min(),
           lambda x, y: F.pad(x.maximum(y), (1, 0, 0, 2)).abs().expand(2, -1, -1).squeeze()]
    for fn in fns:
        assert gradcheck(fn, [x, y])


def test_tie_rules_by_hand():
    # a reduction without dim shares the gradient among tied maxima (PyTorch's max(), amax)
    np.testing.assert_array_equal(grads(lambda x: x.max(), [1.0, 3.0, 3.0])[0], [0, .5, .5])
    np.testing.assert_array_equal(grads(lambda x: x.min(), [1.0, 1.0, 3.0, 1.0])[0],
                                  [1 / 3, 1 / 3, 0, 1 / 3])
    np.testing.assert_array_equal(grads(lambda x: x.max(axis=1).sum(), [[2.0, 2.0], [0, 1]])[0],
                                  [[.5, .5], [0, 1]])
    # with dim, the gradient goes to the returned index, the first maximum
    x = leaf([[1.0, 3.0, 3.0], [5.0, 5.0, 0.0]])
    values, indices = x.max(dim=1)
    values.sum().backward()
    np.testing.assert_array_equal(indices.data, [1, 0])
    np.testing.assert_array_equal(x.grad, [[0, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(x.min(1).indices.data, [0, 2])
    # maximum and minimum split the gradient half and half on ties; |x| has gradient 0 at 0
    assert grads(lambda a, b: a.maximum(b), 2.0, 2.0) == [0.5, 0.5]
    assert grads(lambda a, b: tl.minimum(a, b), 1.0, 2.0) == [1.0, 0.0]
    np.testing.assert_array_equal(grads(lambda x: x.abs().sum(), [-2.0, 0.0, 3.0])[0],
                                  [-1, 0, 1])


def test_max_spellings_and_results():
    x = Tensor(np.array([[1.0, 7.0], [4.0, 2.0]]))
    assert x.max().item() == 7 and x.min().item() == 1
    np.testing.assert_array_equal(x.max(axis=0).data, [4, 7])           # numpy: values only
    assert x.max(axis=1, keepdims=True).shape == (2, 1)
    out = x.max(1)                                                      # PyTorch: a pair
    assert isinstance(out, tuple) and out.values.shape == (2,) and out.indices.dtype == np.int64
    assert x.max(dim=0, keepdim=True).indices.shape == (1, 2)
    assert tl.max(x, 0).values.tolist() == [4, 7]
    np.testing.assert_array_equal(x.max(Tensor(np.full(2, 3.0))).data, [[3, 7], [4, 3]])
    np.testing.assert_array_equal(x.where(x.data > 3, 0.0).data, [[0, 7], [4, 0]])
    assert np.isnan(tl.maximum(Tensor([1.0, np.nan]), Tensor([np.nan, 2.0])).data).all()


def test_shape_ops():
    x = Tensor(np.zeros((2, 1, 3, 1)))
    assert x.squeeze().shape == (2, 3) and x.squeeze(0).shape == x.shape
    assert x.squeeze((1, 3)).shape == (2, 3) and x.unsqueeze(-1).shape == (2, 1, 3, 1, 1)
    assert x.flatten().shape == (6,) and x.flatten(1, 2).shape == (2, 3, 1)
    assert x.view(3, -1).shape == (3, 2) and x.expand(4, -1, -1, 3, 5).shape == (4, 2, 1, 3, 5)
    assert tl.stack([x, x], dim=4).shape == (2, 1, 3, 1, 2)
    assert tl.cat([x, x, x], -1).shape == (2, 1, 3, 3)
    assert F.pad(x, (1, 1, 0, 2)).shape == (2, 1, 5, 3)


@pytest.mark.parametrize("call, error, message", [
    (lambda x: x.max(dim=2), ValueError, "dim must be"),
    (lambda x: x.max(dim=0, axis=1), ValueError, "not both"),
    (lambda x: x.unsqueeze(3), ValueError, "dim must be"),
    (lambda x: x.flatten(1, 0), ValueError, "after"),
    (lambda x: x.expand(3), ValueError, "sizes"),
    (lambda x: x.expand(2, 5), ValueError, r"\(2, 3\)"),
    (lambda x: x.gather(1, [0, 1]), ValueError, "index"),
    (lambda x: tl.where(np.ones((2, 3)), x, x), TypeError, "bool"),
    (lambda x: tl.cat([]), TypeError, "cat"),
    (lambda x: tl.cat([x, x.data]), TypeError, "cat"),
    (lambda x: tl.cat([x, x.T]), ValueError, r"\(3, 2\)"),
    (lambda x: tl.stack([x, x.T]), ValueError, "one shape"),
    (lambda x: F.pad(x, (1,)), ValueError, "even"),
    (lambda x: F.pad(x, (1, 1), mode="reflect"), ValueError, "constant"),
    (lambda x: F.pad(x, (-2, -2)), ValueError, "crop"),
])
def test_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call(Tensor(np.zeros((2, 3))))


def test_factories():
    assert tl.zeros(2, 3).shape == tl.zeros((2, 3)).shape == (2, 3)
    assert tl.zeros(2).dtype == tl.ones([2]).dtype == tl.rand(2).dtype == np.float32
    assert tl.full((2,), 3).dtype == np.int64 and tl.full((2,), 1.5).dtype == np.float32
    assert tl.full(2, True).dtype == np.bool_ and tl.ones(2, dtype=np.float64).dtype == np.float64
    assert tl.arange(4).tolist() == [0, 1, 2, 3] and tl.arange(4).dtype == np.int64
    np.testing.assert_array_equal(tl.arange(1, 2, 0.25).data, [1, 1.25, 1.5, 1.75])
    assert tl.arange(1, 2, 0.25).dtype == np.float32
    np.testing.assert_array_equal(tl.eye(2, 3).data, [[1, 0, 0], [0, 1, 0]])
    t = Tensor(np.ones((2, 2)))
    for like in (tl.zeros_like(t), tl.ones_like(t), tl.full_like(t, 7), tl.rand_like(t),
                 tl.randn_like(t)):
        assert like.shape == (2, 2) and like.dtype == np.float64 and not like.requires_grad
    assert tl.full_like(t, 7).data[0, 0] == 7
    assert tl.zeros_like(t, dtype=np.dtype(np.float32)).dtype == np.float32
    w = tl.randn(3, requires_grad=True)
    assert w.requires_grad and w.is_leaf
    u = tl.rand(10000).data
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.02


def test_manual_seed_reproduces_random_tensors_and_default_inits():
    def draw():
        return tl.rand(3).data, tl.randn(2, 2).data, nn.Linear(3, 2).weight.data, \
            nn.Conv2d(1, 2, 3).bias.data

    tl.manual_seed(42)
    first = draw()
    tl.manual_seed(42)
    for a, b in zip(first, draw()):
        np.testing.assert_array_equal(a, b)
    tl.manual_seed(43)
    assert not np.array_equal(first[1], draw()[1])


def test_captured_step_draws_new_random_numbers_each_replay():
    def step(x):
        return (x * tl.randn(3, dtype=np.float64)).sum()

    x = np.ones(3)
    tl.manual_seed(5)
    eager = [step(Tensor(x)).item() for _ in range(3)]
    tl.manual_seed(5)
    fast = tl.capture(step)
    assert [fast(x).item() for _ in range(3)] == eager and len(set(eager)) == 3


def test_max_with_dim_replays_under_capture():
    """The index of the maximum depends on the data: a replay must find it anew."""
    w = Tensor(np.zeros(3), requires_grad=True)

    def step(x):
        out = (x + w).max(dim=1).values.sum()
        out.backward()
        return out

    fast = tl.capture(step)
    for x in (np.array([[0.0, 2, 1]]), np.array([[3.0, 0, 1]])):
        w.grad = None
        assert fast(x).item() == x.max()
        np.testing.assert_array_equal(w.grad, x[0] == x.max())


# ----------------------------------------------------------------------------------------------
# PyTorch as the oracle (skipped when torch is not installed).


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("ties", [False, True])
def test_matches_torch(torch, name, ties):
    shapes, fn = CASES[name]
    rng = np.random.default_rng(len(name) + ties)
    arrays = [(rng.integers(-1, 2, s) if ties else rng.normal(size=s)).astype(float)
              for s in shapes]
    ours = [leaf(a) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    a, b = fn(tl, *ours), fn(torch, *theirs)
    np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-10, atol=1e-12)
    up = rng.normal(size=a.shape)
    (a * Tensor(up)).sum().backward()
    (b * torch.tensor(up)).sum().backward()
    for x, y in zip(ours, theirs):
        np.testing.assert_allclose(x.grad, y.grad.numpy(), rtol=1e-10, atol=1e-12)


@settings(max_examples=20)
@given(shape=st.lists(st.integers(1, 3), min_size=1, max_size=3), seed=st.integers(0, 99),
       ties=st.booleans())
def test_dim_reductions_match_torch_over_shapes(torch, shape, seed, ties):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, shape).astype(float) if ties else rng.normal(size=shape)
    for dim in range(-len(shape), len(shape)):
        for op in ("max", "min"):
            ours, theirs = leaf(x), torch.tensor(x, requires_grad=True)
            a, b = getattr(ours, op)(dim), getattr(theirs, op)(dim)
            np.testing.assert_array_equal(a.indices.data, b.indices.numpy())
            (a.values * 2).sum().backward()
            (b.values * 2).sum().backward()
            np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())


def test_factory_dtypes_match_torch(torch):
    pairs = [(tl.zeros(2), torch.zeros(2)), (tl.full((2,), 3), torch.full((2,), 3)),
             (tl.full((2,), 2.5), torch.full((2,), 2.5)), (tl.arange(5), torch.arange(5)),
             (tl.arange(0, 1, 0.1), torch.arange(0, 1, 0.1)), (tl.eye(3, 2), torch.eye(3, 2))]
    for ours, theirs in pairs:
        assert ours.dtype == theirs.numpy().dtype
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_float32_keeps_its_dtype_and_matches_torch(torch, name):
    shapes, fn = CASES[name]
    rng = np.random.default_rng(len(name))
    arrays = [rng.normal(size=s).astype(np.float32) for s in shapes]
    ours = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    a, b = fn(tl, *ours), fn(torch, *theirs)
    assert a.dtype == np.float32
    np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-5, atol=1e-6)
    a.sum().backward()
    b.sum().backward()
    for x, y in zip(ours, theirs):
        assert x.grad.dtype == np.float32
        np.testing.assert_allclose(x.grad, y.grad.numpy(), rtol=1e-5, atol=1e-6)
