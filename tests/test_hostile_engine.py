"""Bad inputs and traps for the engine's public API, functional, nn, optim and gradcheck: each
must give the right answer or one typed error naming the argument, never a silent wrong result."""
import numpy as np
import pytest

import tinygrad_lite.functional as F
from tinygrad_lite import Function, GradcheckError, Tensor, gradcheck, nn, numerical_grad, optim
from tinygrad_lite.train import fit


# --- comparisons --------------------------------------------------------------------------------

def test_comparisons_are_elementwise_broadcast_and_give_bool_tensors_without_grad():
    a = Tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    b = np.array([[1.0], [3.0]])
    cases = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
             "gt": np.greater, "ge": np.greater_equal}
    ops = {"eq": a == b, "ne": a != b, "lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}
    for name, want in cases.items():
        for out in (ops[name], getattr(a, name)(Tensor(b))):
            assert isinstance(out, Tensor) and out.dtype == bool and not out.requires_grad
            np.testing.assert_array_equal(out.data, want(a.data, b))
    # reflected: ndarray on the left defers to the Tensor
    np.testing.assert_array_equal((b < a).data, b < a.data)
    np.testing.assert_array_equal((2.0 == a).data, [[False, True, False]])


def test_accuracy_with_numpy_labels_is_right():
    pred = Tensor(np.array([3, 1, 4, 1, 5]))
    labels = np.array([3, 1, 4, 1, 0])
    assert float(np.mean(pred == labels)) == pytest.approx(0.8)
    assert float(np.mean(labels == pred)) == pytest.approx(0.8)
    assert int(np.sum(pred == labels)) == 4 and (pred == labels).sum().item() == 4
    assert f"{np.mean(pred == labels):.0%}" == "80%"


def test_comparisons_keep_identity_hashing_and_reject_nonsense():
    a, b = Tensor([1.0]), Tensor([1.0])
    assert len({a, b}) == 2 and {a: 1, b: 2}[a] == 1     # dict/set bookkeeping by identity
    assert (a == None) is False and (a != "x") is True    # noqa: E711
    with pytest.raises(TypeError):
        a < "x"                                           # noqa: B015
    with pytest.raises(TypeError, match="compare"):
        a.eq(object())
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        Tensor([1.0, 2.0]) == Tensor([1.0, 2.0, 3.0])    # noqa: B015
    with pytest.raises(ValueError, match="ambiguous"):
        bool(Tensor([1.0, 2.0]) == 1.0)
    assert bool((Tensor([1.0, 2.0]) > 0).all()) and not bool((Tensor([1.0]) > 1).any())
    assert (Tensor(0.1) == 0.1).item() and (Tensor([0.1]) == [0.1]).item()  # float32 vs literal


def test_engine_bookkeeping_survives_elementwise_equality():
    x = Tensor(np.ones(3), requires_grad=True)
    y = x * 2
    (y * y + y).sum().backward()       # the same tensor used twice: dict keyed by identity
    np.testing.assert_allclose(x.grad, 2 * (2 * 2) + 2)
    lin = nn.Linear(2, 2, rng=0)
    net = nn.Sequential(lin, nn.ReLU(), lin)              # a shared layer
    assert len(net.parameters()) == 2
    opt = optim.SGD(net.parameters(), lr=0.1)
    assert len(opt.params) == 2


# --- gradcheck ----------------------------------------------------------------------------------

class WrongSquare(Function):
    """x² with a wrong backward (x instead of 2x)."""
    forward = staticmethod(lambda x: x * x)
    backward = staticmethod(lambda g, out, x: (g * x,))


class NaNGrad(Function):
    """x² whose backward is NaN."""
    forward = staticmethod(lambda x: x * x)
    backward = staticmethod(lambda g, out, x: (g * np.nan,))


def x64(shape=(2, 3), seed=0):
    return Tensor(np.random.default_rng(seed).normal(size=shape), requires_grad=True)


def test_gradcheck_fails_on_nan_anywhere_saying_where():
    with pytest.raises(GradcheckError, match=r"analytic.*input 0, element \(0, 0\).*nan"):
        gradcheck(lambda x: NaNGrad.apply(x).sum(), [x64()])
    assert gradcheck(lambda x: NaNGrad.apply(x).sum(), [x64()], raise_exception=False) is False
    with pytest.raises(GradcheckError, match="output is nan"):
        gradcheck(lambda x: (x * np.nan).sum(), [x64()])
    x = Tensor(np.array([1.0, 0.0, 2.0]), requires_grad=True)   # sqrt(x) at 0: inf both ways
    with pytest.raises(GradcheckError, match=r"(analytic|not finite).*element \(1,\)"):
        gradcheck(lambda x: x.sqrt().sum(), [x])
    x = Tensor(np.array([1.0, 1e-7]), requires_grad=True)     # x - eps < 0: numeric NaN
    with pytest.raises(GradcheckError, match=r"not finite.*input 0, element \(1,\)"):
        numerical_grad(lambda x: x.log().sum(), [x])


@pytest.mark.parametrize("kw, name", [({"eps": 0}, "eps"), ({"eps": -1e-6}, "eps"),
                                      ({"eps": float("nan")}, "eps"),
                                      ({"atol": float("nan")}, "atol"),
                                      ({"rtol": float("inf")}, "rtol"), ({"atol": -1}, "atol")])
def test_gradcheck_validates_eps_and_tolerances(kw, name):
    with pytest.raises(ValueError, match=name):
        gradcheck(lambda x: WrongSquare.apply(x).sum(), [x64()], **kw)
    if "eps" in kw:
        with pytest.raises(ValueError, match=name):
            numerical_grad(lambda x: x.sum(), [x64()], **kw)


def test_non_contiguous_inputs_are_perturbed_in_place_and_restored():
    x = Tensor(np.random.default_rng(1).normal(size=(3, 4)).T, requires_grad=True)
    assert not x.data.flags.c_contiguous
    before = x.data.copy()
    assert gradcheck(lambda x: (x * x * np.arange(3.0)).sum(), [x])
    (g,) = numerical_grad(lambda x: (x * x).sum(), [x])
    np.testing.assert_allclose(g, 2 * x.data, rtol=1e-6)
    np.testing.assert_array_equal(x.data, before)


def test_inputs_restored_when_fn_raises():
    x = x64()
    before = x.data.copy()
    calls = []

    def fn(x):
        calls.append(1)
        if len(calls) > 1:
            raise KeyError("boom")
        return x.sum()

    with pytest.raises(KeyError):
        numerical_grad(fn, [x])
    np.testing.assert_array_equal(x.data, before)


def test_numerical_grad_checks_grad_output_shape_and_inputs():
    with pytest.raises(ValueError, match=r"grad_output has shape \(2,\).*\(2, 3\)"):
        numerical_grad(lambda x: x * 2, [x64()], grad_output=np.ones(2))
    with pytest.raises(TypeError, match="input 0"):
        numerical_grad(lambda x: x, [np.ones(2)])


# --- the digit network's projection check --------------------------------------------------------

def _digits(hidden, seed=0):
    from tinygrad_lite.models import DigitNet
    rng = np.random.default_rng(seed)
    X = rng.random((5, 784))
    return DigitNet([784, hidden, 10], dtype=np.float64, seed=seed), X, F.one_hot(
        rng.integers(0, 10, 5), 10, np.float64)


def test_projection_check_passes_gradients_below_the_differences_precision():
    from tinygrad_lite.models import explain
    model, X, Y = _digits(20)
    X *= 1e-12   # dC/dW of the first layer is ~1e-13: only rounding noise in the differences
    checks = explain.check_gradients(model, X, Y, mode="projection", directions=3)
    assert all(c.passed for c in checks)


def test_projection_check_flags_a_small_planted_error_in_a_large_network(monkeypatch):
    from tinygrad_lite.models import explain
    from tinygrad_lite import ops as tensor
    model, X, Y = _digits(1000)
    tol = explain.TOLERANCES["float64"][1]
    checks = explain.check_gradients(model, X, Y, mode="projection", directions=2)
    assert all(c.passed for c in checks)
    right = tensor.Affine.backward

    def off(g, out, x, w, b, needs):           # dW wrong by one part in a thousand
        gx, gw, gb = right(g, out, x, w, b, needs)
        return gx, None if gw is None else gw * 1.001, gb

    monkeypatch.setattr(tensor.Affine, "backward", staticmethod(off))
    checks = explain.check_gradients(model, X, Y, mode="projection", directions=2)
    assert {c.name for c in checks if c.numeric_rel > tol} == {"0.weight", "2.weight"}


# --- labels ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("labels, bad", [([0, -1], "-1 at position 1"), ([10], "10 at position 0"),
                                         ([1.5], "1.5 at position 0"),
                                         ([[1, 2], [3, 11]], r"11 at position \(1, 1\)")])
def test_one_hot_rejects_labels_outside_the_classes(labels, bad):
    with pytest.raises(ValueError, match=bad):
        F.one_hot(labels, 10)


def test_one_hot_and_cross_entropy_accept_good_labels():
    np.testing.assert_array_equal(F.one_hot([2.0, 0], 3), [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(ValueError, match="num_classes"):
        F.one_hot([0], 0)
    with pytest.raises(ValueError, match=r"-1 at position 0"):
        F.cross_entropy(Tensor(np.zeros((2, 3))), Tensor(np.array([-1, 0])))


def test_fit_rejects_negative_and_out_of_range_labels_before_training():
    model = nn.Sequential(nn.Linear(4, 10, rng=0), nn.Sigmoid())
    opt = optim.SGD(model.parameters(), lr=0.1)
    before = model.state_dict()
    x = np.zeros((3, 4), np.float32)
    for labels, bad in (([0, -1, 2], "-1 at position 1"), ([0, 10, 2], "10 at position 1")):
        with pytest.raises(ValueError, match=bad):
            fit(model, x, np.array(labels), opt, epochs=1, batch_size=2, log=None)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        fit(model, x, np.eye(3, dtype=np.int64), opt, epochs=1, batch_size=2, log=None)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


# --- load_state_dict ------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [np.array(["a", "b"]), np.zeros(3, complex), [1.0, [2.0]],
                                 None, np.zeros(5)])
def test_load_state_dict_is_all_or_nothing(bad):
    net = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Linear(3, 2, rng=1))
    before = {k: v.copy() for k, v in net.state_dict().items()}
    arrays = [p.data for p in net.parameters()]
    sd = {k: v + 1 for k, v in before.items()}
    sd["1.bias"] = bad                         # the last value is bad
    with pytest.raises(RuntimeError, match="1.bias"):
        net.load_state_dict(sd)
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    sd["1.bias"] = np.ones(2)
    net.load_state_dict(sd)                    # in place: the same arrays, the new values
    assert all(p.data is a for p, a in zip(net.parameters(), arrays))
    np.testing.assert_array_equal(net[0].weight.data, before["0.weight"] + 1)
    with pytest.raises(TypeError, match="dict"):
        net.load_state_dict([("0.weight", 1)])


# --- constructors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("args, kw, error, words", [
    ((10**6, 10**6), {}, MemoryError, r"Linear\(1000000, 1000000\)"),
    ((2.5, 3), {}, TypeError, "in_features"),
    ((3, -1), {}, ValueError, "out_features"),
    ((3, 3), {"dtype": "nope"}, TypeError, "dtype"),
    ((3, 3), {"rng": -1}, ValueError, "rng"),
])
def test_linear_rejects_bad_sizes_in_one_line(args, kw, error, words):
    with pytest.raises(error, match=words):
        nn.Linear(*args, **kw)


@pytest.mark.parametrize("make, words", [
    (lambda ps: optim.SGD(ps, lr=float("nan")), "lr"),
    (lambda ps: optim.SGD(ps, lr=float("inf")), "lr"),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=float("inf")), "momentum"),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=-0.5), "momentum"),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, dampening=float("nan")), "dampening"),
    (lambda ps: optim.Adam(ps, eps=float("nan")), "eps"),
    (lambda ps: optim.Adam(ps, betas=(0.9,)), "betas"),
    (lambda ps: optim.SGD(ps + ps, lr=0.1), "twice"),
    (lambda ps: optim.SGD(ps[0], lr=0.1), "single Tensor"),
    (lambda ps: optim.SGD([ps[0] * 2], lr=0.1), "leaf"),
])
def test_optimizers_reject_bad_arguments(make, words):
    ps = nn.Linear(2, 2, rng=0).parameters()
    with pytest.raises((ValueError, TypeError), match=words):
        make(ps)


def test_functional_accepts_numpy_arrays():
    assert F.sigmoid(np.zeros(2)).data.tolist() == [0.5, 0.5]
    assert F.mse_loss(np.zeros(2), [1.0, 1.0]).item() == 1.0
    assert F.cross_entropy(np.zeros((2, 2)), [0, 1]).item() == pytest.approx(np.log(2))


def test_a_layer_given_the_wrong_width_says_so():
    net = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Linear(4, 5, rng=0))
    with pytest.raises(ValueError, match=r"\(1, 3\) needs 4 features.*\(5, 4\)"):
        net(np.ones((1, 2)))


def test_gradcheck_takes_a_single_tensor_as_pytorch_does():
    assert gradcheck(lambda x: (x * x).sum(), x64())
    assert optim.Adam(nn.Linear(2, 2, rng=0).parameters(), betas=np.array([0.8, 0.9]))


def test_digit_gradient_check_fails_a_network_with_nan_weights():
    from tinygrad_lite.models import explain
    model, X, Y = _digits(3)
    model.linears()[0].weight.data[0, 0] = np.nan
    for mode in ("full", "projection"):
        checks = explain.check_gradients(model, X[:1], Y[:1], mode=mode, directions=2)
        assert not any(c.passed for c in checks)


def test_a_list_operand_is_never_truncated_to_an_integer_tensor():
    np.testing.assert_allclose((Tensor([1, 2]) + [0.5, 0.5]).data, [1.5, 2.5])
    assert (Tensor([1, 2]) == [1.0, 2.5]).data.tolist() == [True, False]
    assert (Tensor([0.5], requires_grad=True) * [2]).dtype == np.float32


def test_misused_api_gives_one_typed_line():
    x = Tensor(np.ones((2, 3)))
    for call, error, words in [
            (lambda: gradcheck(3, [x64()]), TypeError, "fn must be a function"),
            (lambda: gradcheck(lambda a: a.sum(), None), TypeError, "inputs must be a list"),
            (lambda: numerical_grad(lambda a: None, [x64()]), TypeError, "must return"),
            (lambda: optim.SGD(None, lr=0.1), TypeError, "iterable of Tensors"),
            (lambda: list(Tensor(1.0)), TypeError, "0-d"),
            (lambda: x.transpose(0, 5), IndexError, r"0, 5 out of range for shape \(2, 3\)")]:
        with pytest.raises(error, match=words):
            call()
    assert [r.shape for r in x] == [(3,), (3,)]


def test_numerical_grad_leaves_integer_and_bool_inputs_alone():
    mask = Tensor(np.array([True, False]))
    x = Tensor(np.array([1.0, 2.0]))
    gx, gm = numerical_grad(lambda x, m: (x * m).sum(), [x, mask])
    np.testing.assert_allclose(gx, [1.0, 0.0], atol=1e-9)
    np.testing.assert_array_equal(gm, 0)


def test_inputs_sharing_memory_are_refused():
    a = np.random.default_rng(0).normal(size=(2, 2))
    x, y = Tensor(a, requires_grad=True), Tensor(a.T, requires_grad=True)
    with pytest.raises(ValueError, match="inputs 0 and 1 share memory"):
        gradcheck(lambda x, y: (x * y).sum(), [x, y])
    assert gradcheck(lambda x, y: (x * y).sum(), [x, x])    # the same tensor twice is fine


def test_an_eps_lost_to_rounding_is_reported_not_turned_into_a_zero_gradient():
    x = Tensor(np.array([1.0, 1000.0], np.float32))
    with pytest.raises(GradcheckError, match=r"lost to rounding at input 0, element \(1,\)"):
        numerical_grad(lambda x: (x * x).sum(), [x], eps=1e-5)
