"""Capture and replay gives bit-identical parameters to the eager loop, and refuses clearly."""
import numpy as np
import pytest

import tinygrad_lite.functional as F
from tinygrad_lite.models import DigitNet
from tinygrad_lite import CaptureError, Tensor, capture, nn, optim
from tinygrad_lite.train import nielsen_cross_entropy


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
