"""Convolution, pooling, dropout and the nn modules built on them: finite differences, PyTorch
(when installed), tie rules, errors, train/eval mode and capture."""
import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

import tinygrad_lite as tl
import tinygrad_lite.functional as F
from tinygrad_lite import Tensor, gradcheck, nn

small = st.integers(1, 2)


@st.composite
def conv_cases(draw):
    n, c, o = draw(small), draw(small), draw(small)
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = draw(st.sampled_from([1, 2, 3, (1, 2), (2, 1)]))
    padding = draw(st.sampled_from([0, 1, 2, (0, 1), (1, 0)]))
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    h, w = draw(st.integers(max(1, kh - 2 * ph), 6)), draw(st.integers(max(1, kw - 2 * pw), 6))
    bias, seed = draw(st.booleans()), draw(st.integers(0, 99))
    return (n, c, h, w), (o, c, kh, kw), stride, padding, bias, seed


@st.composite
def pool_cases(draw):
    n, c = draw(small), draw(small)
    k = draw(st.sampled_from([1, 2, 3, (2, 3), (3, 2)]))
    kh, kw = (k, k) if isinstance(k, int) else k
    stride = draw(st.sampled_from([None, 1, 2, (1, 2)]))
    padding = draw(st.sampled_from([0, 1, (1, 0)]))
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    assume(ph <= kh // 2 and pw <= kw // 2)
    h, w = draw(st.integers(max(1, kh - 2 * ph), 6)), draw(st.integers(max(1, kw - 2 * pw), 6))
    return (n, c, h, w), k, stride, padding, draw(st.integers(0, 99))


def leaf(a):
    return Tensor(np.array(a, np.float64), requires_grad=True)


@settings(max_examples=15)
@given(conv_cases())
def test_conv2d_gradcheck(case):
    xs, ws, stride, padding, bias, seed = case
    rng = np.random.default_rng(seed)
    ins = [leaf(rng.normal(size=xs)), leaf(rng.normal(size=ws))]
    if bias:
        ins.append(leaf(rng.normal(size=ws[:1])))
    assert gradcheck(lambda *t: F.conv2d(*t, stride=stride, padding=padding), ins)


@settings(max_examples=15)
@given(pool_cases(), st.sampled_from(["max", "avg"]))
def test_pools_gradcheck(case, kind):
    xs, k, stride, padding, seed = case
    pool = F.max_pool2d if kind == "max" else F.avg_pool2d
    x = leaf(np.random.default_rng(seed).permutation(np.prod(xs)).reshape(xs) * 0.1)  # no ties
    assert gradcheck(lambda t: pool(t, k, stride, padding), [x])


def test_gradcheck_would_catch_a_wrong_conv_gradient(monkeypatch):
    from tinygrad_lite.ops import conv
    right = conv.Conv.backward
    monkeypatch.setattr(conv.Conv, "backward", staticmethod(
        lambda *a, **k: tuple(g * 1.01 for g in right(*a, **k))))
    x, w = leaf(np.ones((1, 1, 3, 3))), leaf(np.ones((1, 1, 2, 2)))
    assert not gradcheck(lambda x, w: F.conv2d(x, w), [x, w], raise_exception=False)


def test_conv2d_is_cross_correlation_by_hand():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    out = F.conv2d(Tensor(x), Tensor(w), Tensor(np.array([0.5])), stride=2).data
    expect = [[x[0, 0, i:i + 2, j:j + 2].ravel() @ [1, 2, 3, 4] + 0.5 for j in (0, 2)]
              for i in (0, 2)]
    np.testing.assert_array_equal(out[0, 0], expect)


def test_max_pool_ties_go_to_the_first_maximum():
    """Every window of a constant input is one tie: the gradient of each window goes to its
    top-left pixel; with overlapping windows (stride 1) those shares add up."""
    x = leaf(np.ones((1, 1, 3, 3)))
    F.max_pool2d(x, 2, stride=1).sum().backward()
    np.testing.assert_array_equal(x.grad[0, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])
    x = leaf([[[[0.0, 5.0], [5.0, 5.0]]]])
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad[0, 0], [[0, 1], [0, 0]])
    x = leaf([[[[1.0, np.nan, 0.0, 2.0], [np.nan, 0.0, 2.0, 1.0]]]])  # NaN wins, first NaN
    out = F.max_pool2d(x, 2)
    out.sum().backward()
    np.testing.assert_array_equal(out.data[0, 0], [[np.nan, 2]])
    np.testing.assert_array_equal(x.grad[0, 0], [[0, 1, 0, 1], [0, 0, 0, 0]])


@pytest.mark.parametrize("call, message", [
    (lambda: F.conv2d(Tensor(np.ones((4, 4))), Tensor(np.ones((1, 1, 2, 2)))), "4-D"),
    (lambda: F.conv2d(Tensor(np.ones((1, 1, 1, 4, 4))), Tensor(np.ones((1, 1, 2, 2)))), "4-D"),
    (lambda: F.conv2d(Tensor(np.ones((1, 1, 4, 4))), Tensor(np.ones((1, 1, 2, 2))), stride=2,
                      padding="same"), "strided"),
    (lambda: F.conv2d(Tensor(np.ones((1, 1, 4, 4))), Tensor(np.ones((1, 1, 2, 2))),
                      padding="full"), "padding must"),
    (lambda: F.conv2d(Tensor(np.ones((1, 1, 4, 4))), Tensor(np.ones((1, 2, 2)))), "weight"),
    (lambda: F.conv2d(Tensor(np.ones((1, 3, 4, 4))), Tensor(np.ones((2, 1, 2, 2)))),
     "3 channels"),
    (lambda: F.conv2d(Tensor(np.ones((1, 1, 4, 4))), Tensor(np.ones((1, 1, 5, 2)))), "larger"),
    (lambda: F.conv2d(Tensor(np.ones((1, 1, 4, 4))), Tensor(np.ones((1, 1, 2, 2))),
                      Tensor(np.ones(2))), "bias"),
    (lambda: F.conv2d(Tensor(np.ones((1, 1, 4, 4))), Tensor(np.ones((1, 1, 2, 2))), stride=0),
     "stride"),
    (lambda: F.conv2d(Tensor(np.ones((1, 1, 4, 4))), Tensor(np.ones((1, 1, 2, 2))),
                      padding=-1), "negative padding is not supported"),
    (lambda: F.conv2d(Tensor(np.ones((1, 1, 4, 4))), Tensor(np.ones((1, 1, 0, 3)))),
     "kernel size should be greater than zero"),
    (lambda: F.conv2d(Tensor(np.ones((1, 4, 4, 4))), Tensor(np.ones((3, 2, 2, 2))), groups=2),
     "divisible by 2"),
    (lambda: F.conv2d(Tensor(np.ones((1, 4, 4, 4))), Tensor(np.ones((3, 2, 2, 2))), groups=3),
     "4 channels"),
    (lambda: F.conv2d(Tensor(np.ones((1, 1, 4, 4))), Tensor(np.ones((1, 1, 2, 2))),
                      padding=(1, 1, 1)), "tuple of 2 ints"),
    (lambda: F.conv2d(Tensor(np.ones((1, 1, 4, 4))), Tensor(np.ones((1, 1, 2, 2))),
                      dilation=0), "non-positive dilation"),
    (lambda: F.conv1d(Tensor(np.ones((1, 1, 1, 4))), Tensor(np.ones((1, 1, 2)))), "3-D"),
    (lambda: F.conv_transpose2d(Tensor(np.ones((1, 1, 4, 4))), Tensor(np.ones((1, 1, 2, 2))),
                                stride=2, output_padding=2), "output padding must be smaller"),
    (lambda: F.conv_transpose2d(Tensor(np.ones((1, 1, 2, 2))), Tensor(np.ones((1, 1, 2, 2))),
                                padding=2), "too small"),
    (lambda: F.conv_transpose2d(Tensor(np.ones((1, 2, 4, 4))), Tensor(np.ones((1, 1, 2, 2)))),
     "2 channels"),
    (lambda: F.max_pool2d(Tensor(np.ones((1, 1, 6, 6))), 2, padding=2, dilation=2), "half"),
    (lambda: F.max_pool2d(Tensor(np.ones((1, 1, 2, 2))), 3), "larger"),
    (lambda: F.avg_pool2d(Tensor(np.ones((4, 4))), 2), "4-D"),
    (lambda: F.max_pool2d(Tensor(np.ones((1, 1, 4, 4))), 2, padding=2), "half"),
    (lambda: F.dropout(Tensor(np.ones(3)), 1.5), "p must be"),
    (lambda: nn.Dropout(-0.1), "p must be"),
])
def test_clear_errors(call, message):
    with pytest.raises(ValueError, match=message) as info:
        call()
    assert "shape" in str(info.value) or "must" in str(info.value)


def test_dropout_scales_kept_elements_and_seeds_reproduce():
    x = Tensor(np.ones((200, 50)), requires_grad=True)
    tl.manual_seed(0)
    y = F.dropout(x, 0.3)
    assert set(np.unique(y.data)) == {0.0, 1 / 0.7}
    assert abs((y.data == 0).mean() - 0.3) < 0.02
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)  # dy/dx is the mask
    tl.manual_seed(0)
    np.testing.assert_array_equal(F.dropout(x, 0.3).data, y.data)
    assert F.dropout(x, 0.3, training=False) is x and F.dropout(x, 0.0) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).data, 0)
    assert F.dropout(Tensor(np.ones(3, np.float32)), 0.5).dtype == np.float32


def test_train_eval_reaches_children_and_turns_dropout_off():
    model = nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.Dropout(0.9)))
    x = Tensor(np.ones((8, 4), np.float32))
    assert model.eval() is model and not model[1][0].training
    np.testing.assert_array_equal(model(x).data, model[0](x).data)
    model.train()
    assert model[1][0].training and (model(x).data == 0).any()


def test_predict_runs_in_eval_mode_and_restores_the_mode():
    from tinygrad_lite.train import predict
    model = nn.Sequential(nn.Dropout(0.99), nn.Linear(3, 2, rng=0))
    images = np.ones((50, 3), np.float32)
    with tl.no_grad():
        expect = model[1](Tensor(images)).data.argmax(axis=1)
    np.testing.assert_array_equal(predict(model, images), expect)
    assert model.training and model[0].training


def test_captured_step_draws_a_new_dropout_mask_each_replay():
    """Replays call the same mask kernel as the eager run: the same numbers for one seed."""
    def step(x):
        return F.dropout(x, 0.5).sum()

    x = np.arange(1.0, 41.0)
    tl.manual_seed(3)
    eager = [step(Tensor(x)).item() for _ in range(4)]
    tl.manual_seed(3)
    fast = tl.capture(step)
    replayed = [fast(x).item() for _ in range(4)]
    assert replayed == eager and len(set(eager)) == 4


def test_conv2d_module_init_shapes_and_names():
    tl.manual_seed(0)
    m = nn.Conv2d(3, 8, 5)
    assert {k: v.shape for k, v in m.state_dict().items()} == {
        "weight": (8, 3, 5, 5), "bias": (8,)}
    bound = 1 / np.sqrt(3 * 25)
    assert np.abs(m.weight.data).max() <= bound and np.abs(m.weight.data).max() > 0.9 * bound
    assert np.abs(m.bias.data).max() <= bound and m.weight.dtype == np.float32
    tl.manual_seed(0)
    np.testing.assert_array_equal(nn.Conv2d(3, 8, 5).weight.data, m.weight.data)
    assert nn.Conv2d(3, 8, (3, 2), bias=False).bias is None
    assert "kernel_size=(5, 5)" in repr(m)


def test_modules_without_parameters():
    x = Tensor(np.arange(24.0).reshape(2, 3, 2, 2))
    assert nn.Flatten()(x).shape == (2, 12) and nn.Flatten(0)(x).shape == (24,)
    assert nn.Identity(5, any=1)(x) is x
    np.testing.assert_allclose(nn.Softmax(dim=1)(x).data.sum(axis=1), 1)
    np.testing.assert_allclose(nn.LogSoftmax(1)(x).data, x.log_softmax(1).data)
    assert nn.MaxPool2d(2)(x).shape == (2, 3, 1, 1) and nn.AvgPool2d(2, 1)(x).shape == (2, 3, 1, 1)
    assert nn.Sequential(nn.Flatten(), nn.Dropout()).parameters() == []


# ----------------------------------------------------------------------------------------------
# PyTorch as the oracle (skipped when torch is not installed).


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def both(torch, arrays):
    return ([leaf(a) for a in arrays],
            [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays])


def assert_same(torch, ours, theirs, out_ours, out_theirs, seed=0):
    """Values, then gradients for a random upstream gradient, to 1e-10."""
    np.testing.assert_allclose(out_ours.data, out_theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    up = np.random.default_rng(seed).normal(size=out_ours.shape)
    (out_ours * Tensor(up)).sum().backward()
    (out_theirs * torch.tensor(up)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-10, atol=1e-12)


@settings(max_examples=25)
@given(conv_cases())
def test_conv2d_matches_torch(torch, case):
    xs, ws, stride, padding, bias, seed = case
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=xs), rng.normal(size=ws)]
    arrays += [rng.normal(size=ws[:1])] if bias else []
    ours, theirs = both(torch, arrays)
    assert_same(torch, ours, theirs, F.conv2d(*ours, stride=stride, padding=padding),
                torch.nn.functional.conv2d(*theirs, stride=stride, padding=padding), seed)


@settings(max_examples=25)
@given(pool_cases(), st.sampled_from(["max", "avg"]), st.booleans())
def test_pools_match_torch(torch, case, kind, ties):
    xs, k, stride, padding, seed = case
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, xs).astype(float) if ties else rng.normal(size=xs)  # ties: first max
    (ours,), (theirs,) = both(torch, [x])
    a = getattr(F, f"{kind}_pool2d")(ours, k, stride, padding)
    b = getattr(torch.nn.functional, f"{kind}_pool2d")(theirs, k, stride, padding)
    assert_same(torch, [ours], [theirs], a, b, seed)


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # PyTorch's note on even kernels
@pytest.mark.parametrize("kernel", [(3, 3), (2, 4), (1, 2)])
def test_named_padding_and_one_example_match_torch(torch, kernel):
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(2, 5, 6)), rng.normal(size=(3, 2) + kernel), rng.normal(size=3)]
    for padding in ("same", "valid"):
        ours, theirs = both(torch, arrays)
        a = F.conv2d(*ours, padding=padding)
        assert_same(torch, ours, theirs, a, torch.nn.functional.conv2d(*theirs, padding=padding))
        assert padding == "valid" or a.shape == (3, 5, 6)
    for pool in ("max_pool2d", "avg_pool2d"):
        (ours,), (theirs,) = both(torch, arrays[:1])
        assert_same(torch, [ours], [theirs], getattr(F, pool)(ours, kernel, 1),
                    getattr(torch.nn.functional, pool)(theirs, kernel, 1))


def test_conv_net_loads_a_torch_state_dict_and_matches_values_and_gradients(torch):
    tnn = torch.nn
    torch.manual_seed(0)
    twin = tnn.Sequential(tnn.Conv2d(1, 4, 5), tnn.ReLU(), tnn.MaxPool2d(2),
                          tnn.Conv2d(4, 6, 3, stride=2, padding=1), tnn.Sigmoid(),
                          tnn.AvgPool2d(2), tnn.Flatten(), tnn.Linear(6, 10), tnn.LogSoftmax(1)
                          ).double()
    model = nn.Sequential(nn.Conv2d(1, 4, 5), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.Sigmoid(),
                          nn.AvgPool2d(2), nn.Flatten(), nn.Linear(6, 10, dtype=np.float64),
                          nn.LogSoftmax(1))
    for m in model:
        if isinstance(m, nn.Conv2d):
            m.weight.data, m.bias.data = m.weight.data.astype(float), m.bias.data.astype(float)
    theirs = twin.state_dict()
    assert {k: v.shape for k, v in model.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.items()}
    model.load_state_dict(theirs)
    x = np.random.default_rng(1).normal(size=(3, 1, 14, 14))
    labels = np.array([1, 7, 3])
    loss = nn.NLLLoss()(model(Tensor(x)), labels)
    t_loss = tnn.NLLLoss()(twin(torch.tensor(x)), torch.tensor(labels))
    np.testing.assert_allclose(loss.item(), t_loss.item(), rtol=1e-10)
    loss.backward()
    t_loss.backward()
    for (name, p), q in zip(model.named_parameters(), twin.parameters()):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-10, atol=1e-13, err_msg=name)


def test_conv2d_state_dict_moves_both_ways_in_float32(torch):
    source = nn.Conv2d(2, 3, 3)
    twin = torch.nn.Conv2d(2, 3, 3, padding=1)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in source.state_dict().items()})
    m = nn.Conv2d(2, 3, 3, padding=1)
    m.load_state_dict(twin.state_dict())
    np.testing.assert_array_equal(m.weight.data, source.weight.data)
    x = np.random.default_rng(0).normal(size=(2, 2, 5, 5)).astype(np.float32)
    out = m(Tensor(x))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, twin(torch.tensor(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_loss_modules_match_torch(torch, reduction):
    rng = np.random.default_rng(0)
    logits, y, labels = rng.normal(size=(5, 4)), rng.normal(size=(5, 4)), rng.integers(0, 4, 5)
    for ours_cls, theirs_cls, target in [
            (nn.MSELoss, torch.nn.MSELoss, y), (nn.CrossEntropyLoss, torch.nn.CrossEntropyLoss,
                                                labels), (nn.NLLLoss, torch.nn.NLLLoss, labels)]:
        (a,), (b,) = both(torch, [logits])
        assert_same(torch, [a], [b], ours_cls(reduction=reduction)(a, target),
                    theirs_cls(reduction=reduction)(b, torch.tensor(target)))
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")(Tensor(y), y)


def test_dropout_matches_torch_statistics(torch):
    """Not the same random numbers, but the same rule: kept values scaled by 1/(1-p)."""
    x = np.ones((100, 100))
    theirs = torch.nn.functional.dropout(torch.tensor(x), 0.25).numpy()
    ours = F.dropout(Tensor(x), 0.25).data
    assert set(np.unique(ours)) == set(np.unique(theirs))


def test_captured_conv_net_training_is_bit_identical_to_eager():
    """Conv, pools and dropout are pure kernels: a captured step replays the eager loop exactly
    (dropout's masks drawn from the same seeded generator in the same order)."""
    fast = captured_matches_eager(lambda: nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1, rng=0), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(3, 4, 2, stride=2, rng=1), nn.AvgPool2d(2, 1), nn.Flatten(), nn.Dropout(0.3),
        nn.Linear(4, 3, rng=2)))
    assert "dropout_mask" in fast.source and "Conv_backward" in fast.source


def test_captured_step_of_the_whole_family_is_bit_identical_to_eager():
    fast = captured_matches_eager(lambda: nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, rng=0), nn.ReLU(), nn.MaxPool2d(3, 2, 1, dilation=2),
        nn.ConvTranspose2d(4, 4, 2, stride=2, groups=2, rng=1),
        nn.Conv2d(4, 4, 3, stride=2, padding=1, dilation=2, groups=2, rng=2),
        nn.AvgPool2d(2, 1, ceil_mode=True), nn.Flatten(), nn.Linear(4, 3, rng=3)))
    assert "ConvTranspose_backward" in fast.source and "MaxPool_backward" in fast.source


def captured_matches_eager(make_model):
    """Train two copies of a model four steps each, eager and captured: same losses, same
    weights, bit for bit; return the captured step."""
    from tinygrad_lite import optim

    def make():
        model = make_model()
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

        def step(x, labels):
            loss = F.cross_entropy(model(x), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss
        return model, step

    rng = np.random.default_rng(0)
    X, L = rng.normal(size=(24, 1, 8, 8)).astype(np.float32), rng.integers(0, 3, 24)
    (eager_model, eager_step), (fast_model, fast_step) = make(), make()
    fast = tl.capture(fast_step)
    losses = []
    for run in ("eager", "fast"):
        tl.manual_seed(7)
        for k in range(0, 24, 6):
            if run == "eager":
                losses.append(eager_step(Tensor(X[k:k + 6]), Tensor(L[k:k + 6])).item())
            else:
                assert fast(X[k:k + 6], L[k:k + 6]).item() == losses[k // 6]
    for p, q in zip(eager_model.parameters(), fast_model.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    return fast


@pytest.mark.filterwarnings("ignore:Implicit dimension choice")
@pytest.mark.parametrize("shape", [(5,), (2, 5), (2, 3, 4), (2, 3, 2, 2)])
def test_softmax_modules_match_torch_with_and_without_dim(torch, shape):
    x = np.random.default_rng(0).normal(size=shape)
    tnn = torch.nn
    for ours, theirs in [(nn.Softmax(), tnn.Softmax()), (nn.LogSoftmax(), tnn.LogSoftmax()),
                         (nn.Softmax(-1), tnn.Softmax(-1)), (nn.LogSoftmax(0), tnn.LogSoftmax(0))]:
        (a,), (b,) = both(torch, [x])
        assert_same(torch, [a], [b], ours(a), theirs(b))


@pytest.mark.parametrize("op", ["conv2d", "max_pool2d", "avg_pool2d"])
def test_float32_keeps_its_dtype_and_matches_torch(torch, op):
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(2, 3, 7, 6)).astype(np.float32)]
    arrays += [rng.normal(size=(4, 3, 3, 2)).astype(np.float32)] if op == "conv2d" else []
    ours = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    args = dict(stride=2, padding=1) if op == "conv2d" else dict(kernel_size=3, stride=2,
                                                                    padding=1)
    a, b = getattr(F, op)(*ours, **args), getattr(torch.nn.functional, op)(*theirs, **args)
    assert a.dtype == np.float32
    np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-5, atol=1e-5)
    a.sum().backward()
    b.sum().backward()
    for x, y in zip(ours, theirs):
        assert x.grad.dtype == np.float32
        np.testing.assert_allclose(x.grad, y.grad.numpy(), rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------------------------
# The family: 1-D and 3-D, groups, dilation, the transposed convolution, pool options.


@st.composite
def family_cases(draw):
    """A random convolution (1 or 2 spatial dims, maybe transposed) with groups and dilation,
    and an input large enough for it."""
    nd, transposed = draw(st.sampled_from([1, 2])), draw(st.booleans())
    groups = draw(st.integers(1, 3))
    c, o = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(nd))
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    if transposed:
        extra = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
        least = [max(1, (2 * p - sp + s) // s + 1) for p, sp, s in zip(padding, span, stride)]
        size = tuple(draw(st.integers(lo, lo + 3)) for lo in least)  # an output of >= 1
        geometry = dict(stride=stride, padding=padding, output_padding=extra, groups=groups,
                        dilation=dilation)
        w_shape = (c, o // groups, *kernel)
    else:
        size = tuple(draw(st.integers(max(1, sp - 2 * p), sp + 4))
                     for sp, p in zip(span, padding))
        geometry = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        w_shape = (o, c // groups, *kernel)
    n, bias, seed = draw(st.integers(1, 2)), draw(st.booleans()), draw(st.integers(0, 99))
    name = f"conv{'_transpose' if transposed else ''}{nd}d"
    return name, (n, c, *size), w_shape, (w_shape[1] * groups if transposed else o), bias, \
        geometry, seed


@settings(max_examples=30)
@given(family_cases())
def test_conv_family_matches_torch(torch, case):
    name, xs, ws, out_channels, bias, geometry, seed = case
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=xs), rng.normal(size=ws)]
    arrays += [rng.normal(size=out_channels)] if bias else []
    ours, theirs = both(torch, arrays)
    b = getattr(torch.nn.functional, name)(*theirs, **geometry)
    a = getattr(F, name)(*ours, **geometry)
    assert a.shape == tuple(b.shape)
    assert_same(torch, ours, theirs, a, b, seed)


@settings(max_examples=10)
@given(family_cases())
def test_conv_family_gradcheck(case):
    name, xs, ws, out_channels, bias, geometry, seed = case
    rng = np.random.default_rng(seed)
    ins = [leaf(rng.normal(size=xs)), leaf(rng.normal(size=ws))]
    ins += [leaf(rng.normal(size=out_channels))] if bias else []
    assert gradcheck(lambda *t: getattr(F, name)(*t, **geometry), ins)


def test_conv3d_and_conv_transpose3d_match_torch(torch):
    rng = np.random.default_rng(0)
    ours, theirs = both(torch, [rng.normal(size=(2, 4, 4, 5, 3)), rng.normal(size=(2, 2, 2, 3, 1))])
    geometry = dict(stride=(1, 2, 1), padding=(1, 0, 1), dilation=(2, 1, 1), groups=2)
    assert_same(torch, ours, theirs, F.conv3d(*ours, **geometry),
                torch.nn.functional.conv3d(*theirs, **geometry))
    ours, theirs = both(torch, [rng.normal(size=(1, 2, 2, 3, 2)), rng.normal(size=(2, 3, 2, 2, 2))])
    assert_same(torch, ours, theirs, F.conv_transpose3d(*ours, stride=2, output_padding=1),
                torch.nn.functional.conv_transpose3d(*theirs, stride=2, output_padding=1))


def test_conv_transpose_is_the_adjoint_of_conv():
    """<conv(x, w), y> = <x, conv_transpose(y, w)>: the transposed convolution's defining fact."""
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(2, 4, 7, 6)), rng.normal(size=(6, 2, 3, 2))
    geometry = dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)
    y = F.conv2d(Tensor(x), Tensor(w), **geometry)
    z = rng.normal(size=y.shape)
    back = F.conv_transpose2d(Tensor(z), Tensor(w), output_padding=(0, 0), **geometry)
    assert back.shape == (2, 4, 7, 6)
    np.testing.assert_allclose((y.data * z).sum(), (x * back.data).sum(), rtol=1e-12)


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2)), stride=1.5), TypeError,
     "stride must be an int"),
    (lambda: F.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2)), groups=1.0), TypeError,
     "groups must be an int"),
    (lambda: F.conv1d(np.ones((1, 1, 4)), np.ones((1, 1, 2)), padding=(1, 1)), ValueError,
     "tuple of 1 ints"),
    (lambda: F.conv_transpose2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2)), padding="same"),
     TypeError, "padding must be an int"),
    (lambda: F.avg_pool2d(np.ones((1, 1, 4, 4)), 2, count_include_pad=False),
     NotImplementedError, "count_include_pad=False"),
    (lambda: F.max_pool2d(np.ones((1, 1, 4, 4)), 2, stride=0), RuntimeError,
     "non-positive stride"),
    (lambda: F.max_pool2d(np.ones((1, 1, 4, 4), bool), 2), ValueError, "float or integer"),
    (lambda: nn.Conv2d(4, 6, 3, groups=4), ValueError, "divisible by groups"),
    (lambda: nn.Conv2d(4, 6, 3, padding_mode="reflect"), ValueError, "padding_mode"),
])
def test_family_errors_name_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_max_pool_gradient_never_goes_into_the_padding(torch):
    x = np.full((1, 1, 3, 3), -np.inf)
    (ours,), (theirs,) = both(torch, [x])
    F.max_pool2d(ours, 3, 1, 1).sum().backward()
    torch.nn.functional.max_pool2d(theirs, 3, 1, 1).sum().backward()
    assert ours.grad.sum() == 9  # every window's gradient lands on a real entry
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())
    y = np.random.default_rng(0).normal(size=(2, 2, 5, 4))
    y[:, :, :2] = -np.inf  # windows of -inf beside finite ones, with dilation
    (ours,), (theirs,) = both(torch, [y])
    F.max_pool2d(ours, 3, 1, 1, dilation=(1, 2)).sum().backward()
    torch.nn.functional.max_pool2d(theirs, 3, 1, 1, dilation=(1, 2)).sum().backward()
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())


def test_max_pool_of_integers_with_padding_and_its_indices_match_torch(torch):
    x = np.random.default_rng(0).integers(-50, 50, (2, 3, 6, 5))
    a = F.max_pool2d(Tensor(x), 3, 1, 1, dilation=(2, 1))
    b = torch.nn.functional.max_pool2d(torch.tensor(x), 3, 1, 1, dilation=(2, 1))
    assert a.dtype == x.dtype
    np.testing.assert_array_equal(a.data, b.numpy())
    for args in [(3, 2, 1, 1), (2, 1, 1, 2), ((2, 3), (1, 2), (1, 0), (2, 1))]:
        a, i = F.max_pool2d(Tensor(x.astype(float)), *args, return_indices=True)
        b, j = torch.nn.functional.max_pool2d(torch.tensor(x.astype(float)), *args,
                                              return_indices=True)
        np.testing.assert_array_equal(a.data, b.numpy())
        np.testing.assert_array_equal(i.data, j.numpy())  # ties included: the first maximum
    a, i = F.max_pool1d(Tensor(x[0, 0].astype(float)), 3, 2, 1, return_indices=True)
    b, j = torch.nn.functional.max_pool1d(torch.tensor(x[0, 0].astype(float)), 3, 2, 1,
                                          return_indices=True)
    np.testing.assert_array_equal(i.data, j.numpy())


def test_float16_avg_pool_sums_in_float32(torch):
    x = np.full((1, 1, 8, 8), 10000, np.float16)
    out = F.avg_pool2d(Tensor(x), 8)
    assert out.dtype == np.float16 and out.item() == 10000
    assert out.item() == torch.nn.functional.avg_pool2d(torch.tensor(x), 8).item()


def _copy_modules(torch, ours, theirs, direction):
    if direction == "from torch":
        ours.load_state_dict({k: v.double() for k, v in theirs.state_dict().items()})
    else:
        theirs.load_state_dict({k: torch.from_numpy(np.asarray(v, np.float64))
                                for k, v in ours.state_dict().items()})


@pytest.mark.parametrize("direction", ["from torch", "to torch"])
@pytest.mark.parametrize("make, shape", [
    (lambda m: m.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2), (2, 4, 9)),
    (lambda m: m.Conv2d(4, 6, (3, 2), padding="same", dilation=(1, 2), groups=2), (2, 4, 6, 5)),
    (lambda m: m.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2,
                                 dilation=1, bias=False), (2, 4, 3, 4)),
    (lambda m: m.MaxPool2d(3, 2, 1, dilation=2), (1, 2, 7, 7)),
    (lambda m: m.MaxPool1d(2), (1, 2, 7)),
    (lambda m: m.AvgPool1d(3, 2, 1), (1, 2, 7)),
])
def test_family_modules_move_weights_both_ways_with_torch(torch, make, shape, direction):
    tl.manual_seed(0)
    ours, theirs = make(nn), make(torch.nn).double()
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    _copy_modules(torch, ours, theirs, direction)
    x = np.random.default_rng(1).normal(size=shape)
    np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)


def test_conv_modules_init_like_torch():
    """kaiming-uniform (a = √5): U(-1/√fan_in, 1/√fan_in), fan_in = weight.shape[1] · |kernel|;
    for the transposed convolution weight.shape[1] is out_channels / groups."""
    tl.manual_seed(0)
    for m, shape, fan_in in [(nn.Conv1d(4, 6, 3, groups=2), (6, 2, 3), 6),
                             (nn.Conv2d(4, 6, 3, groups=2), (6, 2, 3, 3), 18),
                             (nn.ConvTranspose2d(4, 6, 3, groups=2), (4, 3, 3, 3), 27)]:
        assert m.weight.shape == shape and m.bias.shape == (6,)
        bound = 1 / np.sqrt(fan_in)
        assert 0.8 * bound < np.abs(m.weight.data).max() <= bound
        assert np.abs(m.bias.data).max() <= bound


def test_conv_transpose_module_reaches_an_output_size(torch):
    tl.manual_seed(0)
    m = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    x = np.random.default_rng(0).normal(size=(1, 2, 4, 4)).astype(np.float32)
    assert m(Tensor(x)).shape == (1, 3, 7, 7)
    assert m(Tensor(x), output_size=(1, 3, 8, 8)).shape == (1, 3, 8, 8)
    twin = torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in m.state_dict().items()})
    np.testing.assert_allclose(m(Tensor(x), output_size=(8, 8)).data,
                               twin(torch.tensor(x), output_size=(8, 8)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_gradcheck_would_catch_a_wrong_transposed_conv_gradient(monkeypatch):
    from tinygrad_lite.ops import conv
    right = conv.ConvTranspose.backward
    monkeypatch.setattr(conv.ConvTranspose, "backward", staticmethod(
        lambda *a, **k: tuple(g * 1.01 for g in right(*a, **k))))
    x, w = leaf(np.ones((1, 1, 2, 2))), leaf(np.ones((1, 1, 2, 2)))
    assert not gradcheck(lambda x, w: F.conv_transpose2d(x, w, stride=2), [x, w],
                         raise_exception=False)


@settings(max_examples=25)
@given(pool_cases(), st.sampled_from(["max", "avg"]), st.integers(1, 2))
def test_ceil_mode_pools_match_torch(torch, case, kind, dilation):
    """ceil_mode keeps a last, partial window; it never takes a gradient into what it hangs
    past, and the average divides by the part inside the padded input."""
    xs, k, stride, padding, seed = case
    kw = {"dilation": dilation} if kind == "max" else {}
    kernel = (k, k) if isinstance(k, int) else k
    pads = (padding, padding) if isinstance(padding, int) else padding
    span = [dilation * (a - 1) + 1 if kind == "max" else a for a in kernel]
    assume(all(p <= s // 2 and s <= n + 2 * p for p, s, n in zip(pads, span, xs[2:])))
    # no window whose dilated taps all fall in the padding (-inf here; PyTorch 2.13 corrupts
    # its heap on those, e.g. a 1x3 input, kernel 2, stride (1, 2), padding (1, 0), dilation 2)
    reach = F.max_pool2d(Tensor(np.ones(xs)), k, stride, padding, ceil_mode=True, **kw)
    assume(np.isfinite(reach.data).all())
    (ours,), (theirs,) = both(torch, [np.random.default_rng(seed).normal(size=xs)])
    a = getattr(F, f"{kind}_pool2d")(ours, k, stride, padding, ceil_mode=True, **kw)
    b = getattr(torch.nn.functional, f"{kind}_pool2d")(theirs, k, stride, padding,
                                                       ceil_mode=True, **kw)
    assert a.shape == tuple(b.shape)
    assert_same(torch, [ours], [theirs], a, b, seed)


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # PyTorch's note on even kernels
@pytest.mark.parametrize("kernel, dilation", [((2, 3), (3, 1)), ((3, 2), 2), ((4, 1), (1, 2))])
def test_same_padding_with_dilation_matches_torch(torch, kernel, dilation):
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(2, 2, 7, 6)), rng.normal(size=(3, 2) + kernel)]
    ours, theirs = both(torch, arrays)
    a = F.conv2d(*ours, padding="same", dilation=dilation)
    assert a.shape == (2, 3, 7, 6)
    assert_same(torch, ours, theirs, a,
                torch.nn.functional.conv2d(*theirs, padding="same", dilation=dilation))


def test_integer_avg_pool_matches_torch(torch):
    x = np.arange(-12, 13).reshape(1, 1, 5, 5)
    np.testing.assert_array_equal(F.avg_pool2d(Tensor(x), 2, 1, 1).data,
                                  torch.nn.functional.avg_pool2d(torch.tensor(x), 2, 1, 1))


@pytest.mark.parametrize("name, xs, ws", [("conv1d", (2, 7), (4, 1, 3)),
                                          ("conv_transpose2d", (2, 3, 4), (2, 3, 2, 2)),
                                          ("conv_transpose1d", (2, 5), (2, 1, 3))])
def test_one_example_without_a_batch_axis_matches_torch(torch, name, xs, ws):
    rng = np.random.default_rng(0)
    ours, theirs = both(torch, [rng.normal(size=xs), rng.normal(size=ws)])
    groups = 2 if name == "conv1d" else 1
    a = getattr(F, name)(*ours, stride=2, groups=groups)
    b = getattr(torch.nn.functional, name)(*theirs, stride=2, groups=groups)
    assert a.shape == tuple(b.shape)
    assert_same(torch, ours, theirs, a, b)


# ----------------------------------------------------------------------------------------------
# Tiling max pools (stride = kernel, no padding or dilation: the conv nets' 2x2 pool) take a
# path of their own, without windows or a fold: the same values and gradients, bit for bit.

@st.composite
def tiling_cases(draw):
    nd = draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    sizes = tuple(draw(st.integers(k, 2 * k + 1)) for k in kernel)  # some cut a last tile short
    fill = draw(st.sampled_from(["ties", "normal", "nan", "-inf"]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return (draw(small), draw(small), *sizes), kernel, fill, dtype, draw(st.integers(0, 99))


def tiling_input(shape, fill, dtype, seed):
    """Small integers (many ties), normal values, or ties with NaN or -inf sprinkled in (whole
    windows of -inf, windows with two NaN)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape) if fill == "normal" else rng.integers(0, 3, shape).astype(float)
    if fill in ("nan", "-inf"):
        x[rng.random(shape) < 0.3] = np.nan if fill == "nan" else -np.inf
    return x.astype(dtype)


def same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@settings(max_examples=60)
@given(tiling_cases())
def test_tiling_max_pool_matches_the_window_path_bit_for_bit(case):
    from tinygrad_lite.ops import MaxPool, conv
    shape, kernel, fill, dtype, seed = case
    x = tiling_input(shape, fill, dtype, seed)
    geometry = dict(kernel=kernel, stride=kernel, padding=(0,) * len(kernel))
    out = MaxPool.forward(x, **geometry)
    g = np.random.default_rng(seed + 1).normal(size=out.shape).astype(dtype)
    g[..., 0] = -g[..., 0] ** 2  # negative: the zeros of the other taps are -0.0
    dx = MaxPool.backward(g, out, x, **geometry)[0]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(conv, "_tiling", lambda *args: False)
        slow = MaxPool.forward(x, **geometry)
        slow_dx = MaxPool.backward(g, slow, x, **geometry)[0]
    assert out.dtype == slow.dtype and np.array_equal(out, slow, equal_nan=True)
    assert same_bits(dx, slow_dx)


def test_the_conv_nets_pool_takes_the_tiling_path():
    """No window view, no hits array, no fold: the window path's helpers are not called."""
    from tinygrad_lite.ops import conv

    def refuse(*args, **kwargs):
        raise AssertionError("the window path was taken")
    x = leaf(np.random.default_rng(0).integers(0, 3, (2, 3, 24, 24)).astype(float))
    with pytest.MonkeyPatch.context() as patch:
        for name in ("_windows", "_first_maxima", "_fold"):
            patch.setattr(conv, name, refuse)
        F.max_pool2d(x, 2).sum().backward()
    assert x.grad.reshape(2, 3, 12, 2, 12, 2).sum(axis=(3, 5)).min() == 1  # one 1 per window


def test_tiling_max_pool_of_integers_and_a_kernel_of_ones():
    x = np.random.default_rng(0).integers(-5, 5, (2, 3, 5, 7))
    np.testing.assert_array_equal(F.max_pool2d(Tensor(x), 2).data,
                                  x[:, :, :4, :6].reshape(2, 3, 2, 2, 3, 2).max(axis=(3, 5)))
    y = F.max_pool2d(Tensor(x), 1).data
    np.testing.assert_array_equal(y, x)
    assert not np.shares_memory(y, x)


@settings(max_examples=30)
@given(tiling_cases().filter(lambda case: len(case[1]) < 3 and case[2] != "nan"))
def test_tiling_max_pools_match_torch(torch, case):
    """Ties go to the first maximum in row-major order, as PyTorch sends them; -inf windows to
    their first entry."""
    shape, kernel, fill, _, seed = case
    name = f"max_pool{len(kernel)}d"
    (ours,), (theirs,) = both(torch, [tiling_input(shape, fill, np.float64, seed)])
    assert_same(torch, [ours], [theirs], getattr(F, name)(ours, kernel),
                getattr(torch.nn.functional, name)(theirs, kernel), seed)
