"""The ops a model author reaches for beyond the seed's: erf's accuracy, multinomial's draws
(seeded, redrawn by a captured step), the nn modules of the activations, split/chunk/repeat/
flip/argmin against PyTorch, and the stability of binary_cross_entropy_with_logits."""
import math

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.functional as F
from tinygrad_lite import Tensor, capture, nn
from tinygrad_lite.errors import ShapeError
from tinygrad_lite.ops import Erf

erf_kernel = Erf.forward  # the kernel under test, on arrays


def test_erf_matches_math_erf_to_float64_precision():
    x = np.concatenate([np.linspace(-7, 7, 20001), [0.0, 2.9999999, 3.0, 1e-300, 40.0]])
    want = np.array([math.erf(v) for v in x])
    assert np.max(np.abs(erf_kernel(x) - want)) < 2e-15
    assert np.isnan(erf_kernel(np.array([np.nan])))[0]
    assert Tensor(np.float32([0.5])).erf().dtype == np.float32


def test_the_erf_check_can_fail():
    x = np.linspace(-3, 3, 101)
    crude = np.tanh(1.2 * x)  # a rough stand-in for erf
    assert np.max(np.abs(crude - np.array([math.erf(v) for v in x]))) > 2e-15


def test_multinomial_is_seeded_and_a_captured_step_redraws():
    p = np.array([[0.1, 0.0, 0.6, 0.3], [1.0, 1.0, 1.0, 1.0]])
    tl.manual_seed(3)
    eager = [tl.multinomial(Tensor(p), 3, True).numpy() for _ in range(3)]
    tl.manual_seed(3)
    fast = capture(lambda q: tl.multinomial(q, 3, replacement=True))
    replayed = [fast(p).numpy() for _ in range(3)]
    for a, b in zip(eager, replayed):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(eager[0], e) for e in eager[1:])  # new draws each call


def test_multinomial_draws_follow_the_weights():
    tl.manual_seed(0)
    p = Tensor([0.2, 0.0, 0.5, 0.3])
    draws = p.multinomial(20000, replacement=True).numpy()
    assert draws.dtype == np.int64 and 1 not in draws
    np.testing.assert_allclose(np.bincount(draws, minlength=4) / 20000, [0.2, 0, 0.5, 0.3],
                               atol=0.02)
    firsts = np.array([tl.multinomial(p, 1).item() for _ in range(3000)])
    np.testing.assert_allclose(np.bincount(firsts, minlength=4) / 3000, [0.2, 0, 0.5, 0.3],
                               atol=0.04)
    without = tl.multinomial(Tensor(np.ones((5, 6))), 6).numpy()
    assert all(sorted(row) == list(range(6)) for row in without)


@pytest.mark.parametrize("bad, args", [
    (np.ones((2, 2, 2)), (1,)), (np.array([0.5, -0.1]), (1,)), (np.zeros(3), (1,)),
    (np.array([1.0, 0.0, 0.0]), (2,)), (np.ones(3), (0,))])
def test_multinomial_refuses_what_pytorch_refuses(bad, args):
    with pytest.raises(RuntimeError):
        tl.multinomial(Tensor(bad), *args)


MODULES = [(nn.GELU(), F.gelu), (nn.GELU("tanh"), lambda x: F.gelu(x, approximate="tanh")),
           (nn.ELU(0.5), lambda x: F.elu(x, 0.5)), (nn.CELU(2.0), lambda x: F.celu(x, 2.0)),
           (nn.LeakyReLU(0.2), lambda x: F.leaky_relu(x, 0.2)), (nn.ReLU6(), F.relu6),
           (nn.Hardtanh(-2, 2), lambda x: F.hardtanh(x, -2, 2)), (nn.Hardswish(), F.hardswish),
           (nn.Mish(), F.mish), (nn.Softplus(2, 5), lambda x: F.softplus(x, 2, 5)),
           (nn.Softsign(), F.softsign), (nn.SiLU(), F.silu), (nn.LogSigmoid(), F.logsigmoid)]


@pytest.mark.parametrize("module, fn", MODULES, ids=[type(m).__name__ for m, _ in MODULES])
def test_activation_modules_apply_their_function_and_equal_pytorchs(module, fn):
    x = np.linspace(-8, 8, 33)
    np.testing.assert_array_equal(module(Tensor(x)).numpy(), fn(Tensor(x)).numpy())
    assert module.parameters() == []
    torch = pytest.importorskip("torch")
    kwargs = {} if isinstance(module, nn.ReLU6) else vars(module)  # ReLU6 takes no bounds
    theirs = getattr(torch.nn, type(module).__name__)(**kwargs)
    np.testing.assert_allclose(module(Tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(),
                               rtol=1e-12, atol=1e-14)


def test_bce_with_logits_is_finite_for_huge_logits_and_equals_the_probability_form():
    x = Tensor(np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0]), requires_grad=True)
    y = np.array([1.0, 0.0, 0.5, 1.0, 0.0])
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    loss.sum().backward()
    np.testing.assert_allclose(loss.numpy(), [1000, 0, math.log(2), 0, 1000], atol=1e-12)
    with np.errstate(over="ignore"):
        np.testing.assert_allclose(x.grad, 1 / (1 + np.exp(-x.numpy())) - y, atol=1e-15)
    z = np.linspace(-3, 3, 7)
    p = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(
        F.binary_cross_entropy_with_logits(Tensor(z), p).item(),
        F.binary_cross_entropy(Tensor(p), p).item(), rtol=1e-12)
    module = nn.BCEWithLogitsLoss(pos_weight=Tensor([2.0] * 7))
    assert module(Tensor(z), p).item() > F.binary_cross_entropy_with_logits(Tensor(z), p).item()


def test_shape_ops_equal_pytorchs():
    torch = pytest.importorskip("torch")
    x = np.arange(24.0).reshape(2, 3, 4)
    t = torch.tensor(x)
    same = lambda a, b: np.testing.assert_array_equal(a.numpy(), b.numpy())  # noqa: E731
    for args in [(2, 1), (3, 2), (5, 2), (1, 0)]:
        ours, theirs = Tensor(x).chunk(*args), t.chunk(*args)
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            same(a, b)
    for args in [(2, 2), ([1, 3], 2), (1, 0), ([0, 2, 1], 1)]:
        for a, b in zip(Tensor(x).split(*args), t.split(*args)):
            same(a, b)
    for sizes in [(1, 2, 1), (2, 1, 1, 3), (1, 1, 1)]:
        same(Tensor(x).repeat(*sizes), t.repeat(*sizes))
    same(Tensor(x).flip(0, 2), t.flip((0, 2)))
    same(Tensor(x).cumsum(1), t.cumsum(1))
    same(Tensor(x).cumprod(2), t.cumprod(2))
    same(Tensor(x).argmin(), t.argmin())
    same(Tensor(x).argmin(1, keepdim=True), t.argmin(1, keepdim=True))
    same(tl.pow(Tensor(x), 2.0), torch.pow(t, 2.0))


def test_shape_ops_refuse_bad_arguments():
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(ShapeError):
        x.repeat(2)
    with pytest.raises(ShapeError):
        x.split([1, 1], 1)
    with pytest.raises(ShapeError):
        x.chunk(0)
    with pytest.raises(IndexError):
        x.flip(2)
    with pytest.raises(ShapeError):
        x.flip(0, 0)


def test_a_captured_step_with_the_new_ops_replays_like_eager():
    def build():
        tl.manual_seed(0)
        return nn.Sequential(nn.Linear(6, 5, dtype=np.float64, rng=0), nn.GELU(),
                             nn.Linear(5, 4, dtype=np.float64, rng=1), nn.LeakyReLU(0.1))

    def make(model):
        opt = tl.optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            out = model(x)
            h = out.cumsum(1).flip(0)[0, :, None][[1, 2]] + out.norm() + F.softplus(out).sum()
            loss = F.binary_cross_entropy_with_logits(out, y) + h.sum() * 1e-3
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss
        return step

    eager_model, fast_model = build(), build()
    eager, fast = make(eager_model), capture(make(fast_model))
    rng = np.random.default_rng(0)
    for _ in range(4):
        x, y = rng.standard_normal((8, 6)), rng.random((8, 4))
        assert eager(Tensor(x), Tensor(y)).item() == fast(x, y).item()
    for a, b in zip(eager_model.parameters(), fast_model.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
