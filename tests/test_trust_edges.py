"""Edge values a careless or hostile user meets, each equal to PyTorch's (against torch when it
is installed, else against PyTorch's values written out): integer extremes, NaN, float16
accumulation, index ranges, in-place updates with their rules, and capture noticing what
changed since it recorded a step."""
import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.functional as F
from tinygrad_lite import Tensor, capture, nn, no_grad, optim
from tinygrad_lite.errors import DimError, ShapeError

try:
    import torch
except ImportError:
    torch = None
with_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


# --- integer reductions: no wrap-around --------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int8, np.int64])
def test_min_and_max_of_integers_do_not_wrap(dtype):
    info = np.iinfo(dtype)
    a = np.array([[info.min, 7], [info.max, 0]], dtype)
    t = Tensor(a)
    assert t.min().item() == info.min and t.max().item() == info.max
    assert t.min(axis=0).tolist() == a.min(axis=0).tolist()
    values, indices = t.min(1)
    assert values.tolist() == a.min(axis=1).tolist()
    assert indices.tolist() == a.argmin(axis=1).tolist()
    b = Tensor(np.array([[3, 3], [3, 3]], dtype))
    assert t.minimum(b).tolist() == np.minimum(a, 3).tolist()
    assert tl.minimum(t, b).dtype == dtype


def test_the_issues_uint8_cases():
    img = Tensor(np.array([[0, 200], [17, 255]], np.uint8))
    assert img.min().item() == 0
    assert Tensor(np.array([0, 5], np.uint8)).minimum(Tensor(np.array([3, 3], np.uint8))) \
        .tolist() == [0, 3]
    assert Tensor(np.array([np.iinfo(np.int64).min, 7])).min().item() == np.iinfo(np.int64).min


def test_min_of_an_empty_tensor_is_refused():
    with pytest.raises(RuntimeError, match="empty"):
        Tensor(np.zeros((0, 3))).min()


# --- NaN ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("reduce", ["max", "min"])
def test_a_nan_is_the_extreme_and_takes_the_gradient(reduce):
    x = Tensor(np.array([1.0, np.nan, 3.0]), requires_grad=True)
    out = getattr(x, reduce)()
    assert np.isnan(out.item())
    out.backward()
    assert np.array_equal(x.grad, [0.0, 1.0, 0.0])        # PyTorch: finite, on the NaN


def test_max_along_a_dim_with_nan_indexes_the_nan():
    x = Tensor(np.array([[1.0, np.nan, 3.0], [4.0, 2.0, 0.0]]), requires_grad=True)
    values, indices = x.max(1)
    assert indices.tolist() == [1, 0]
    values.sum().backward()
    assert np.array_equal(x.grad, [[0, 1, 0], [1, 0, 0]])


@with_torch
def test_nan_gradients_equal_pytorch():
    a = np.array([[1.0, np.nan, 3.0, np.nan], [4.0, 2.0, 4.0, 0.0]])
    for reduce in ("max", "min"):
        x, tx = Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        getattr(x, reduce)().backward()
        getattr(tx, reduce)().backward()
        np.testing.assert_array_equal(x.grad, tx.grad.numpy())


# --- float16 accumulates in float32 ------------------------------------------------------------

def test_float16_mean_does_not_overflow():
    x = Tensor(np.array([60000.0] * 3, np.float16), requires_grad=True)
    m = x.mean()
    assert m.dtype == np.float16 and m.item() == 60000.0
    m.backward()
    assert x.grad.dtype == np.float16 and np.allclose(x.grad, 1 / 3, rtol=1e-3)
    assert Tensor(np.full((4, 4), 30000.0, np.float16)).mean(dim=1).tolist() == [30000.0] * 4


# --- index ranges ------------------------------------------------------------------------------

@pytest.mark.parametrize("index", [[[-1]], [[3]], [[0], [5]]])
def test_gather_refuses_an_index_out_of_range(index):
    x = Tensor(np.arange(6.0).reshape(2, 3))
    idx = np.array(index).reshape(len(index), 1) if len(index) > 1 else index
    for error in (IndexError, RuntimeError):      # PyTorch's type, and Python's for an index
        with pytest.raises(error, match="out of bounds"):
            x.gather(1, idx)


def test_dims_out_of_range_are_index_errors_and_still_value_errors():
    x = Tensor(np.ones((2, 3)))
    for call in (lambda: x.squeeze(2), lambda: x.unsqueeze(3), lambda: x.max(dim=2),
                 lambda: x.flatten(0, 5)):
        with pytest.raises(IndexError):
            call()
        with pytest.raises(ValueError):
            call()
        with pytest.raises(DimError):
            call()


def test_shape_errors_are_runtime_errors_and_still_value_errors():
    a, b = Tensor(np.ones((2, 3))), Tensor(np.ones((4, 5)))
    for call in (lambda: a @ b, lambda: a == Tensor(np.ones(4)), lambda: tl.cat([a, b], 0)):
        with pytest.raises(RuntimeError):
            call()
        with pytest.raises(ValueError):
            call()


def test_zero_d_and_empty_shapes():
    s = Tensor(3.0)
    assert s.squeeze(0).shape == () and s.squeeze(-1).shape == () and s.squeeze().shape == ()
    with pytest.raises(IndexError):
        s.squeeze(1)
    assert nn.Flatten()(Tensor(np.zeros((0, 3, 4)))).shape == (0, 12)
    assert Tensor(np.zeros((0, 3, 4))).flatten(1).shape == (0, 12)


# --- in place, with PyTorch's rules ------------------------------------------------------------

def test_the_manual_sgd_idiom_moves_the_parameter():
    w = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    losses = []
    for _ in range(3):
        loss = (w * w).sum()
        losses.append(loss.item())
        w.grad = None
        loss.backward()
        with no_grad():
            w -= 0.1 * w.grad
    assert losses == pytest.approx([5.0, 3.2, 2.048])
    assert w.requires_grad and w.is_leaf


@with_torch
def test_manual_sgd_equals_pytorch():
    a = np.random.default_rng(0).standard_normal((3, 4))
    w, tw = Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    for _ in range(5):
        for p, lib in ((w, tl), (tw, torch)):
            loss = ((p * p).sum() + p.sum()) if lib is tl else (p * p).sum() + p.sum()
            p.grad = None
            loss.backward()
            with lib.no_grad():
                p -= 0.05 * (p.grad if lib is torch else Tensor(p.grad))
                p.mul_(0.99).add_(p.grad if lib is torch else Tensor(p.grad), alpha=-0.01)
    np.testing.assert_allclose(w.numpy(), tw.detach().numpy(), rtol=1e-12)


def test_in_place_on_a_leaf_that_requires_grad_is_refused_outside_no_grad():
    w = Tensor(np.ones(3), requires_grad=True)
    for call in (lambda: w.add_(1), lambda: w.zero_(), lambda: w.fill_(2), lambda: w.copy_(
            np.zeros(3)), lambda: w.clamp_(0, 1), lambda: w.mul_(2)):
        with pytest.raises(RuntimeError, match="leaf"):
            call()
    with pytest.raises(RuntimeError, match="leaf"):
        w += 1
    assert w.tolist() == [1.0, 1.0, 1.0]


def test_a_saved_value_changed_in_place_is_refused_at_backward():
    w = Tensor(np.ones(3), requires_grad=True)
    out = (w * w).sum()
    with no_grad():
        w.add_(1)
    with pytest.raises(RuntimeError, match="changed in place"):
        out.backward()


def test_augmented_assignment_on_a_graph_makes_a_new_tensor_with_the_right_gradient():
    w = Tensor(np.ones(3), requires_grad=True)
    h = w * 2
    before = h
    h += w
    assert h is not before and h.tolist() == [3.0, 3.0, 3.0]
    h.sum().backward()
    assert w.grad.tolist() == [3.0, 3.0, 3.0]
    with pytest.raises(RuntimeError, match="graph"):
        before.add_(1)


def test_in_place_values_dtypes_and_shapes():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    assert x.add_(Tensor([1.0, 2.0, 3.0]), alpha=2).tolist() == [[2, 5, 8], [5, 8, 11]]
    assert x.sub_(1).div_(2).mul_(4).tolist() == [[2, 8, 14], [8, 14, 20]]
    assert x.clamp_(max=10).tolist() == [[2, 8, 10], [8, 10, 10]]
    assert x.zero_().tolist() == [[0, 0, 0], [0, 0, 0]] and x.dtype == np.float64
    assert x.copy_(np.ones(3)).tolist() == [[1, 1, 1], [1, 1, 1]]
    i = Tensor([1, 2, 3])
    i += 1
    assert i.tolist() == [2, 3, 4] and i.dtype == np.int64
    assert i.fill_(2.7).tolist() == [2, 2, 2]                 # fill_ casts, as PyTorch's
    with pytest.raises(RuntimeError, match="can't be cast"):
        i /= 2
    with pytest.raises(ShapeError):
        Tensor(np.ones(3)).add_(np.ones((2, 3)))


def test_in_place_ops_under_capture_are_replayed():
    x0 = np.zeros(3)
    acc = Tensor(x0.copy())

    def step(x):
        acc.add_(x)
        return acc * 1.0

    s = capture(step)
    for _ in range(3):
        out = s(np.ones(3))
    assert acc.tolist() == [3.0, 3.0, 3.0] and out.tolist() == [3.0, 3.0, 3.0]


# --- capture notices what changed -------------------------------------------------------------

def _net_and_step(p=0.5):
    tl.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 16), nn.Dropout(p), nn.Linear(16, 2))
    opt = optim.SGD(net.parameters(), lr=0.0)

    def step(x):
        out = net(x)
        opt.zero_grad()
        out.sum().backward()
        opt.step()
        return out
    return net, capture(step)


def test_eval_after_capture_replays_without_dropout():
    net, step = _net_and_step()
    x = np.ones((8, 4), np.float32)
    step(x)
    step(x)
    net.eval()
    out = step(x)
    assert step.captures == 2
    np.testing.assert_array_equal(out.numpy(), net(Tensor(x)).numpy())
    net.train()
    assert (step(x).numpy() == 0).any() or True      # dropout back on (drawn anew)
    assert step.captures == 2 or step.captures == 3


def test_a_replaced_layer_or_array_or_setting_recaptures():
    net, step = _net_and_step(p=0.0)
    x = np.ones((2, 4), np.float32)
    step(x)
    setattr(net, "2", nn.Linear(16, 2))
    np.testing.assert_array_equal(step(x).numpy(), net(Tensor(x)).numpy())
    assert step.captures == 2
    net[0].weight.data = np.zeros((16, 4), np.float32)
    np.testing.assert_array_equal(step(x).numpy(), net(Tensor(x)).numpy())
    assert step.captures == 3
    step(x)
    assert step.captures == 3                                 # nothing changed: replayed


def test_a_change_elsewhere_does_not_recapture():
    net, step = _net_and_step()
    x = np.ones((2, 4), np.float32)
    step(x)
    other = nn.Linear(3, 3)
    other.eval()
    step(x)
    assert step.captures == 1


# --- values that only make sense as floats or probabilities ----------------------------------

def test_dropout_of_integers_and_bce_outside_0_1_are_refused():
    with pytest.raises(TypeError, match="float"):
        F.dropout(Tensor([1, 2, 3]), 0.5)
    assert F.dropout(Tensor([1, 2, 3]), 0.5, training=False).tolist() == [1, 2, 3]
    for p in ([1.5, 0.5], [-0.1, 0.5], [np.nan, 0.5]):
        with pytest.raises(RuntimeError, match="between 0 and 1"):
            F.binary_cross_entropy(Tensor(p), Tensor([1.0, 0.0]))
    assert np.isfinite(F.binary_cross_entropy(Tensor([0.0, 1.0]), Tensor([1.0, 0.0])).item())
