"""The fast paths of fused ops agree with their plain forms: GELU's tanh form computed in blocks,
attention's fused weights against softmax(q kᵀ · scale + mask)."""
import numpy as np

import tinygrad_lite.functional as F
from tinygrad_lite import Tensor
from tinygrad_lite.ops.activations import GELU


def test_gelu_tanh_in_blocks_matches_its_formula():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(300_000)  # float64, 2.4 MB: several blocks
    k = np.sqrt(2 / np.pi)
    th = np.tanh(k * (x + 0.044715 * x**3))
    np.testing.assert_allclose(GELU.forward(x, "tanh"), 0.5 * x * (1 + th), rtol=1e-13)
    slope = 0.5 * (1 + th) + 0.5 * x * (1 - th**2) * k * (1 + 3 * 0.044715 * x**2)
    g = rng.standard_normal(x.shape)
    np.testing.assert_allclose(GELU.backward(g, None, x, "tanh")[0], g * slope, rtol=1e-12,
                               atol=1e-14)


def test_fused_causal_attention_matches_the_masked_softmax():
    rng = np.random.default_rng(2)
    q, k, v = (Tensor(rng.standard_normal((2, 3, 5, 4)), requires_grad=True) for _ in range(3))
    mask = Tensor(np.tril(np.ones((5, 5), bool)))
    fused = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    plain = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    np.testing.assert_allclose(fused.numpy(), plain.numpy(), rtol=1e-12)
    (fused * plain.detach()).sum().backward()
    grads = [t.grad.copy() for t in (q, k, v)]
    for t in (q, k, v):
        t.grad = None
    (plain * plain.detach()).sum().backward()
    for a, t in zip(grads, (q, k, v)):
        np.testing.assert_allclose(a, t.grad, rtol=1e-10, atol=1e-12)
