"""gradcheck must pass correct gradients, flag wrong ones, and refuse float32."""
import numpy as np
import pytest

from tinygrad_lite import Function, GradcheckError, Tensor, gradcheck, numerical_grad


class WrongSquare(Function):
    """x²  with a deliberately wrong backward (x instead of 2x)."""
    forward = staticmethod(lambda x: x * x)
    backward = staticmethod(lambda g, out, x: (g * x,))


def x64(shape=(2, 3), seed=0):
    return Tensor(np.random.default_rng(seed).normal(size=shape), requires_grad=True)


def test_passes_correct_gradient_including_non_scalar_output():
    assert gradcheck(lambda x: (x * x).sum(), [x64()])
    assert gradcheck(lambda x: x.sigmoid() * 3, [x64()])   # full Jacobian


def test_flags_a_wrong_gradient_naming_input_element_and_values():
    with pytest.raises(GradcheckError, match=r"input 0, element \(0, 0\).*analytic.*numeric"):
        gradcheck(lambda x: WrongSquare.apply(x).sum(), [x64()])
    assert gradcheck(lambda x: WrongSquare.apply(x).sum(), [x64()],
                     raise_exception=False) is False


def test_refuses_float32_saying_why():
    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    with pytest.raises(TypeError, match="float64.*rounding"):
        gradcheck(lambda x: x.sum(), [x])


def test_numerical_grad_matches_known_derivative():
    x = x64((4,))
    (g,) = numerical_grad(lambda x: (x**3).sum(), [x])
    np.testing.assert_allclose(g, 3 * x.data**2, rtol=1e-7)


def test_leaves_existing_grads_alone():
    x = x64()
    x.grad = np.full(x.shape, 7.0)
    gradcheck(lambda x: (x * 2).sum(), [x])
    np.testing.assert_array_equal(x.grad, 7.0)
