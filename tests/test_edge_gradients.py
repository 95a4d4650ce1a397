"""Gradients where an op's formula divides by zero, takes the log of zero or meets a tie or a
bound: each equal to PyTorch's. The expected values are PyTorch's (2.13, float64), written out
here so the table runs without torch; with torch installed, each row is also checked live."""
import numpy as np
import pytest

import tinygrad_lite as tl

from autograd_ops import Ours, torch_namespace

INF, NAN = float("inf"), float("nan")

# (id, f(L, *inputs) whose sum is differentiated, inputs, PyTorch's gradient of each input)
TABLE = [
    ("pow_0_at_0", lambda L, x: x ** 0, [[0.0, 2.0]], [[0.0, 0.0]]),
    ("pow_1_at_0", lambda L, x: x ** 1, [[0.0]], [[1.0]]),
    ("pow_2_at_0", lambda L, x: x ** 2, [[0.0]], [[0.0]]),
    ("pow_3_at_0", lambda L, x: x ** 3, [[0.0]], [[0.0]]),
    ("pow_half_at_0", lambda L, x: x ** 0.5, [[0.0]], [[INF]]),
    ("pow_minus_1_at_0", lambda L, x: x ** -1, [[0.0]], [[-INF]]),
    ("sqrt_at_0", lambda L, x: x.sqrt(), [[0.0]], [[INF]]),
    ("rsqrt_at_0", lambda L, x: x.rsqrt(), [[0.0]], [[-INF]]),
    ("log_at_0", lambda L, x: x.log(), [[0.0]], [[INF]]),
    ("log2_at_0", lambda L, x: x.log2(), [[0.0]], [[INF]]),
    ("div_by_0", lambda L, a, b: a / b, [[1.0, -1.0], [0.0, 0.0]], [[INF, INF], [-INF, INF]]),
    ("pow_tensor_base_0", lambda L, a, b: L.pow(a, b), [[0.0] * 5, [0.0, 1.0, 2.0, 0.5, -1.0]],
     [[0.0, 1.0, 0.0, INF, -INF], [0.0, 0.0, 0.0, 0.0, -INF]]),
    ("pow_tensor_negative_base", lambda L, a, b: L.pow(a, b), [[-2.0, -2.0], [2.0, 0.5]],
     [[-4.0, NAN], [NAN, NAN]]),
    ("number_to_tensor_at_0", lambda L, b: 0 ** b, [[0.0, 1.0, -1.0]], [[0.0, 0.0, -INF]]),
    ("abs_at_0", lambda L, x: x.abs(), [[0.0]], [[0.0]]),
    ("relu_at_0", lambda L, x: x.relu(), [[0.0]], [[0.0]]),
    ("sign_floor_ceil_trunc", lambda L, x: x.sign() + x.floor() + x.ceil() + x.trunc(),
     [[0.0, 1.0, -2.0]], [[0.0, 0.0, 0.0]]),
    ("clamp_at_bounds", lambda L, x: x.clamp(-1.0, 1.0), [[-1.0, 1.0, 2.0]], [[1.0, 1.0, 0.0]]),
    ("clamp_min_at_bound", lambda L, x: x.clamp(min=0.0), [[0.0]], [[1.0]]),
    ("max_tie", lambda L, x: x.max(), [[1.0, 1.0, 0.0]], [[0.5, 0.5, 0.0]]),
    ("min_tie", lambda L, x: x.min(), [[1.0, 1.0, 2.0]], [[0.5, 0.5, 0.0]]),
    ("max_dim_tie", lambda L, x: x.max(dim=0).values, [[1.0, 1.0, 0.0]], [[1.0, 0.0, 0.0]]),
    ("amax_tie", lambda L, x: L.amax(x, 0), [[1.0, 1.0, 0.0]], [[0.5, 0.5, 0.0]]),
    ("maximum_tie", lambda L, a, b: L.maximum(a, b), [[0.0, 1.0], [0.0, 2.0]],
     [[0.5, 0.0], [0.5, 1.0]]),
    ("minimum_tie", lambda L, a, b: L.minimum(a, b), [[0.0, 1.0], [0.0, 2.0]],
     [[0.5, 1.0], [0.5, 0.0]]),
    ("norm_at_zero", lambda L, x: L.vector_norm(x), [[0.0, 0.0]], [[0.0, 0.0]]),
    ("norm_1_at_zero", lambda L, x: L.vector_norm(x, 1), [[0.0, 0.0]], [[0.0, 0.0]]),
    ("norm_3_at_zero", lambda L, x: L.vector_norm(x, 3), [[0.0, 0.0]], [[0.0, 0.0]]),
    ("norm_inf_tie", lambda L, x: L.vector_norm(x, INF), [[1.0, -1.0, 0.5]], [[0.5, -0.5, 0.0]]),
    ("norm_method_at_zero", lambda L, x: x.norm(), [[0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0]]),
    ("leaky_relu_at_0", lambda L, x: L.F.leaky_relu(x, 0.1), [[0.0]], [[0.1]]),
    ("elu_at_0", lambda L, x: L.F.elu(x, 2.0), [[0.0]], [[2.0]]),
    ("celu_at_0", lambda L, x: L.F.celu(x, 2.0), [[0.0]], [[1.0]]),
    ("relu6_at_bounds", lambda L, x: L.F.relu6(x), [[0.0, 6.0]], [[0.0, 0.0]]),
    ("hardtanh_at_bounds", lambda L, x: L.F.hardtanh(x), [[-1.0, 1.0]], [[0.0, 0.0]]),
    ("hardswish_at_kinks", lambda L, x: L.F.hardswish(x), [[-3.0, 3.0]], [[0.0, 1.0]]),
    ("softplus_at_threshold", lambda L, x: L.F.softplus(x, 2.0, 20.0), [[10.0, 10.5]],
     [[0.9999999979388464, 1.0]]),
    ("smooth_at_0", lambda L, x: L.F.softsign(x) + L.F.silu(x) + L.F.mish(x) + L.F.gelu(x)
     + L.F.gelu(x, approximate="tanh") + L.F.logsigmoid(x), [[0.0]], [[3.6]]),
    ("bce_with_logits_at_0", lambda L, x: L.F.binary_cross_entropy_with_logits(
        x, L.const([1.0, 0.0, 0.25])), [[0.0, 0.0, 0.0]],
     [[-0.16666666666666666, 0.16666666666666666, 0.08333333333333333]]),
    ("log_softmax_minus_inf", lambda L, x: L.F.log_softmax(x, dim=0), [[-INF, 0.0]],
     [[1.0, -1.0]]),
    ("cumprod_with_zeros", lambda L, x: x.cumprod(0), [[2.0, 0.0, 3.0, 0.0, 4.0]],
     [[1.0, 8.0, 0.0, 0.0, 0.0]]),
    ("cumprod_one_zero", lambda L, x: x.cumprod(0), [[2.0, 0.0, 3.0]], [[1.0, 8.0, 0.0]]),
    ("max_pool2d_tie", lambda L, x: L.F.max_pool2d(x.reshape(1, 1, 2, 2), 2),
     [[1.0, 1.0, 1.0, 0.0]], [[1.0, 0.0, 0.0, 0.0]]),
]
IDS = [row[0] for row in TABLE]


class L(Ours):
    minimum = staticmethod(tl.minimum)


def ours(f, inputs):
    xs = [tl.Tensor(np.array(x, np.float64), requires_grad=True) for x in inputs]
    with np.errstate(all="ignore"):
        f(L, *xs).sum().backward()
    return [x.grad for x in xs]


def same(got, expected):
    """Equal to the last few bits, inf to inf of the same sign, NaN to NaN."""
    for g, e in zip(got, expected):
        np.testing.assert_allclose(np.asarray(g), np.asarray(e, np.float64), rtol=1e-14,
                                   atol=0, equal_nan=True)


@pytest.mark.parametrize("name, f, inputs, expected", TABLE, ids=IDS)
def test_gradient_at_the_edge_equals_pytorchs_recorded_value(name, f, inputs, expected):
    same(ours(f, inputs), expected)


@pytest.mark.parametrize("name, f, inputs, expected", TABLE, ids=IDS)
def test_recorded_value_is_what_pytorch_gives_now(name, f, inputs, expected):
    torch = pytest.importorskip("torch", reason="torch is not installed: live check skipped")
    T = torch_namespace(torch)
    T.minimum = staticmethod(torch.minimum)
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in inputs]
    f(T, *ts).sum().backward()
    same([t.grad.numpy() for t in ts], expected)


def test_the_comparison_flags_a_wrong_edge_gradient():
    with pytest.raises(AssertionError):  # the old x ** 0 rule gave NaN at 0
        same([np.array([NAN])], [[0.0]])
    with pytest.raises(AssertionError):  # the sign of an infinite gradient counts
        same([np.array([-INF])], [[INF]])
    with pytest.raises(AssertionError):  # hardtanh's 0 at a bound is not clamp's 1
        same(ours(lambda L, x: x.clamp(-1.0, 1.0), [[1.0]]), [[0.0]])
