"""Capture and replay gives bit-identical parameters to the eager loop, and refuses clearly."""
import numpy as np
import pytest

import tinygrad_lite.functional as F
from tinygrad_lite.models import DigitNet
from tinygrad_lite import CaptureError, Tensor, capture, nn, optim
from tinygrad_lite.tensor import Function
from tinygrad_lite.functional import nielsen_cross_entropy


def relu_net(dtype):
    return nn.Sequential(nn.Linear(12, 9, dtype=dtype, rng=1), nn.ReLU(),
                         nn.Linear(9, 7, dtype=dtype, rng=2), nn.Tanh(),
                         nn.Linear(7, 4, dtype=dtype, rng=3))


CASES = {
    "sgd-quadratic": (lambda d: DigitNet((12, 6, 4), dtype=d, seed=0),
                      lambda p: optim.SGD(p, lr=3.0), lambda out, y, lab: F.quadratic_cost(out, y)),
    "momentum-wd-nesterov": (lambda d: DigitNet((12, 8, 5, 4), dtype=d, seed=1),
                             lambda p: optim.SGD(p, lr=0.5, momentum=0.9, weight_decay=1e-3,
                                                 nesterov=True),
                             lambda out, y, lab: nielsen_cross_entropy(out, y)),
    "adam-mse": (relu_net, lambda p: optim.Adam(p, lr=1e-2, weight_decay=1e-4),
                 lambda out, y, lab: F.mse_loss(out, y)),
    "adam-ce": (relu_net, lambda p: optim.Adam(p, lr=1e-2),
                lambda out, y, labels: F.cross_entropy(out, labels)),
}


def make(case, dtype):
    build, make_opt, cost = CASES[case]
    model = build(dtype)
    opt = make_opt(model.parameters())

    def step(x, y, labels):
        loss = cost(model(x), y, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    return model, step


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", sorted(CASES))
def test_replay_is_bit_identical_to_eager(case, dtype):
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(80, 12)).astype(dtype)
    L = rng.integers(0, 4, 80)
    Y = F.one_hot(L, 4, dtype)
    eager_model, eager_step = make(case, dtype)
    fast_model, fast_step = make(case, dtype)
    fast = capture(fast_step)
    for k in range(0, 80, 8):
        a = eager_step(Tensor(X[k:k + 8]), Tensor(Y[k:k + 8]), Tensor(L[k:k + 8]))
        b = fast(X[k:k + 8], Y[k:k + 8], L[k:k + 8])
        assert a.item() == b.item()
    assert fast.source is not None and "Tensor" not in fast.source
    for (name, p), q in zip(eager_model.named_parameters(), fast_model.parameters()):
        assert np.array_equal(p.data, q.data), name
        assert np.array_equal(p.grad, q.grad), name


def test_changed_batch_shape_is_refused():
    _, step = make("sgd-quadratic", np.float32)
    fast = capture(step)
    X, Y, L = np.ones((8, 12), np.float32), np.ones((8, 4), np.float32), np.zeros(8, int)
    fast(X, Y, L)
    with pytest.raises(CaptureError, match=r"\(8, 12\).*\(5, 12\)"):
        fast(X[:5], Y[:5], L[:5])
    with pytest.raises(CaptureError, match="float64"):
        fast(X.astype(np.float64), Y, L)


def test_data_dependent_steps_are_refused():
    model = DigitNet((3, 2), dtype=np.float64, seed=0)

    def branches(x):
        out = model(x)
        return out * 2 if out.sum().item() > 0 else out

    with pytest.raises(CaptureError, match="item"):
        capture(branches)(np.ones((2, 3)))

    def outside(x):
        return model(x) * Tensor(np.sqrt(x.numpy()))
    with pytest.raises(CaptureError, match="numpy"):
        capture(outside)(np.ones((2, 3)))

    def built_inside(x):
        return model(Tensor(np.ones((2, 3)) * 3))
    with pytest.raises(CaptureError, match="input"):
        capture(built_inside)(np.ones((2, 3)))


def test_bad_return_and_nesting():
    with pytest.raises(CaptureError, match="return"):
        capture(lambda x: 3)(np.ones(2))
    inner = capture(lambda x: x * 2)
    with pytest.raises(CaptureError, match="nested"):
        capture(lambda x: inner(x))(np.ones(2))


def linear_step(seed=0):
    """A Linear layer trained by SGD on the mean of its output times a target."""
    lin = nn.Linear(3, 2, dtype=np.float64, rng=seed)
    opt = optim.SGD(lin.parameters(), lr=0.1)

    def step(x, y):
        loss = (lin(x) * y).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    return lin, step


@pytest.mark.parametrize("captured_same", [True, False])
def test_replay_refuses_other_aliasing_of_inputs(captured_same):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    _, step = linear_step()
    fast = capture(lambda x, y: step(x, y[:, :2]))
    fast(a, a) if captured_same else fast(a, b)
    fast(b, b) if captured_same else fast(b, a)  # the same pattern replays
    with pytest.raises(CaptureError, match="same array"):
        fast(a, b) if captured_same else fast(a, a)


def test_same_aliasing_replays_like_eager():
    rng = np.random.default_rng(1)
    batches = [rng.normal(size=(2, 3)) for _ in range(3)]
    eager_lin, eager_step = linear_step()
    fast_lin, step = linear_step()
    fast = capture(lambda x, y: step(x, y[:, :2]))
    for x in batches:
        assert eager_step(Tensor(x), Tensor(x[:, :2])).item() == fast(x, x).item()
    assert np.array_equal(eager_lin.weight.data, fast_lin.weight.data)


def test_input_that_is_a_parameter_array_is_refused():
    lin, step = linear_step()
    with pytest.raises(CaptureError, match="input 0 of shape \\(2, 3\\).*parameter"):
        capture(step)(lin.weight.data, np.ones((2, 2)))


class Positive(Function):
    """x > 0, an op with a boolean result (as comparisons are)"""
    forward = staticmethod(lambda x: x > 0)


READS = {
    ".data branch": lambda t: t * 2 if t.data.sum() > 0 else t,
    "numpy": lambda t: t * float(t.numpy().max()),
    "item": lambda t: t * t.sum().item(),
    "float": lambda t: t * float(t.sum()),
    "bool": lambda t: t * 2 if t.sum() else t,
    "tolist": lambda t: t * len([v for v in t.tolist() if v[0] > 0]),
    "asarray": lambda t: t * np.asarray(t).max(),
    "repr": lambda t: t * len(repr(t.sum())),
    "mask": lambda t: t[Positive.apply(t)].sum(),  # a data-dependent shape
}


@pytest.mark.parametrize("name", sorted(READS))
def test_every_read_of_values_is_refused(name):
    fn = READS[name]
    model = nn.Linear(3, 3, dtype=np.float64, rng=0)
    with pytest.raises(CaptureError):
        capture(lambda x: fn(model(x)))(np.ones((2, 3)))


def test_argmax_is_computed_at_replay():
    rng = np.random.default_rng(2)
    fast = capture(lambda x: x.argmax(axis=1))
    for _ in range(3):
        x = rng.normal(size=(5, 4))
        assert np.array_equal(fast(x).numpy(), x.argmax(axis=1))


def test_gradient_argument_is_read_at_replay():
    w = Tensor(np.ones(3), requires_grad=True)
    opt = optim.SGD([w], lr=0.0)

    def step(x, g):
        opt.zero_grad()
        (w * x).backward(gradient=g)
        return None
    fast = capture(step)
    for k in range(3):
        g = np.arange(3.0) + k
        fast(np.ones(3), g)
        assert np.array_equal(w.grad, g)


def test_grad_attribute_is_refused():
    w = Tensor(np.ones(3), requires_grad=True)

    def clear(x):
        w.grad = None  # not an op: a replay would skip it
        return w * x
    with pytest.raises(CaptureError, match="grad"):
        capture(clear)(np.ones(3))
    with pytest.raises(CaptureError, match="grad"):
        capture(lambda x: w * x if w.grad is None else w)(np.ones(3))


@pytest.mark.parametrize("bad", [-1, 4])
def test_cross_entropy_label_check_runs_at_replay(bad):
    model, step = make("adam-ce", np.float64)
    fast = capture(step)
    X, Y, L = np.ones((8, 12)), np.zeros((8, 4)), np.zeros(8, np.int64)
    fast(X, Y, L)
    weights = model.parameters()[0].data.copy()
    L[3] = bad
    with pytest.raises(ValueError) as eager:
        F.cross_entropy(Tensor(np.ones((8, 4))), L)
    with pytest.raises(ValueError) as replayed:
        fast(X, Y, L)
    assert str(replayed.value) == str(eager.value)
    assert np.array_equal(model.parameters()[0].data, weights)  # refused before any update


def test_tensor_index_is_read_at_replay():
    fast = capture(lambda x, i: x[i] * 2)
    x = np.arange(12.0).reshape(4, 3)
    for i in ([0, 1], [3, 3], [2, 0]):
        assert np.array_equal(fast(x, np.array(i)).numpy(), x[i] * 2)


def test_replayed_step_outdates_a_retained_graph():
    lin, step = linear_step()
    fast = capture(step)
    x, y = np.ones((2, 3)), np.ones((2, 2))
    fast(x, y)
    loss = (lin(Tensor(x)) * Tensor(y)).mean()
    loss.backward(retain_graph=True)
    fast(x, y)  # updates the weights in place
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


def test_input_that_requires_grad_is_refused():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    fast = capture(lambda x: (x * 2).sum())
    with pytest.raises(CaptureError, match="input 0 .*requires grad"):
        fast(x)
    assert fast(x.detach()).item() == 12.0


def test_deleting_a_layer_recaptures():
    """del on a module's attribute (a layer of a Sequential) changes what the step computes,
    as setting one does: the next call captures again."""
    def make():
        return nn.Sequential(nn.Linear(4, 4, rng=0), nn.Sigmoid(), nn.Linear(4, 2, rng=1))
    eager, model = make(), make()
    step = capture(lambda x: model(x).sum())
    x = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
    step(x)
    for m in (eager, model):
        delattr(m, "1")
    assert step(x).numpy().tobytes() == eager(Tensor(x)).sum().numpy().tobytes()
    assert step.captures == 2
