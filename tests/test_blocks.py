"""Elementwise formulas in cache-sized blocks (ops/blocks.py): the same bits as in one piece,
Sigmoid on large arrays, and a captured step that keeps Sigmoid's blocked kernel."""
import numpy as np
import pytest

import tinygrad_lite.functional as F
from tinygrad_lite import Tensor, autograd, capture, nn, optim
from tinygrad_lite.ops import Sigmoid
from tinygrad_lite.ops.blocks import BLOCK, LARGE, blockwise, in_blocks
from tinygrad_lite.train import training_step


def same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def large(dtype, extra=7, seed=0):
    """More than LARGE bytes, and not a whole number of blocks."""
    n = LARGE // np.dtype(dtype).itemsize + BLOCK // 2 + extra
    return (np.random.default_rng(seed).normal(size=n) * 30).astype(dtype)


def test_in_blocks_takes_large_contiguous_float_arrays_of_one_shape():
    x = large(np.float32)
    assert in_blocks(x) and in_blocks(x, x + 1)
    assert not in_blocks(x[:100])                        # small: one piece is faster
    assert not in_blocks(x[::2])                         # not contiguous
    assert not in_blocks(x, x[:-1])                      # broadcasting or other shapes
    assert not in_blocks(x.astype(np.int64))             # integers: a formula may change dtype
    assert not in_blocks(Tensor(x))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blockwise_gives_the_bits_of_the_formula_in_one_piece(dtype):
    x, y = large(dtype), large(dtype, seed=1)
    out = blockwise(lambda x, y, out: np.multiply(x + y, np.tanh(y), out=out), x, y)
    assert same_bits(out, (x + y) * np.tanh(y))
    small = x[:10]
    assert same_bits(blockwise(lambda x, out: np.add(x, 1, out=out), small), small + 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_in_blocks_matches_the_formula_bit_for_bit(dtype):
    x = large(dtype).reshape(-1, 1)
    x[::1000] = -1000  # e^-x overflows to inf: σ is then exactly 0
    with np.errstate(over="ignore"):
        s = 1 / (1 + np.exp(-x))
    assert same_bits(Sigmoid.forward(x), s) and (s == 0).any()
    g = large(dtype, seed=2).reshape(-1, 1)
    assert same_bits(Sigmoid.backward(g, s, x)[0], g * s * (1 - s))


def test_sigmoid_of_a_large_tensor_differentiates_twice():
    """create_graph: the backward rule runs on Tensors, in one piece, as ops."""
    x = Tensor(large(np.float64)[:LARGE // 8 + 1] / 30, requires_grad=True)
    (g,) = autograd.grad(x.sigmoid().sum(), [x], create_graph=True)
    g.sum().backward()
    s = 1 / (1 + np.exp(-x.data))
    np.testing.assert_allclose(g.data, s * (1 - s), rtol=1e-12)
    np.testing.assert_allclose(x.grad, s * (1 - s) * (1 - 2 * s), rtol=1e-9, atol=1e-15)


def test_a_captured_step_with_large_activations_is_bit_identical_to_eager():
    """Sigmoid on more than LARGE bytes is not lowered to numpy calls: the replay runs the op's
    blocked kernel, as the eager step does."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(480, 8)).astype(np.float32)
    Y = F.one_hot(rng.integers(0, 3, 480), 3, np.float32)
    models = [nn.Sequential(nn.Linear(8, 2048, rng=0), nn.Sigmoid(), nn.Linear(2048, 3, rng=1))
              for _ in range(2)]
    steps = [training_step(m, optim.SGD(m.parameters(), lr=0.5), "log-likelihood")
             for m in models]
    fast = capture(steps[1])
    for k in range(0, 480, 160):  # 160 x 2048 floats: 1.3 MB
        x, y = X[k:k + 160], Y[k:k + 160]
        assert same_bits(steps[0](Tensor(x), Tensor(y)).numpy(), fast(x, y).numpy())
    for p, q in zip(models[0].parameters(), models[1].parameters()):
        assert same_bits(p.data, q.data) and same_bits(p.grad, q.grad)
    assert "Sigmoid_forward" in fast.source and "Sigmoid_backward" in fast.source


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_in_blocks_gives_the_bits_of_the_whole_array(approximate, dtype):
    """GELU's blocked kernels against the same rules run on the whole array at once (blocks
    of the size of the array), forward and backward."""
    from tinygrad_lite.ops import GELU
    import tinygrad_lite.ops.blocks as blocks
    x, g = large(dtype) / 10, large(dtype, seed=3)
    x[:5] = [0.0, -0.0, 1e-30, np.inf, -np.inf]
    with np.errstate(all="ignore"):
        y = GELU.forward(x, approximate)
        dx = GELU.backward(g, y, x, approximate)[0]
        saved = blocks.BLOCK
        blocks.BLOCK = x.size  # one block: the whole array
        try:
            assert same_bits(GELU.forward(x, approximate), y)
            assert same_bits(GELU.backward(g, y, x, approximate)[0], dx)
        finally:
            blocks.BLOCK = saved
        small = x[:1000]  # one piece, the unblocked path: the same bits
        assert same_bits(GELU.forward(small, approximate), y[:1000])
