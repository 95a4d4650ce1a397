"""The handwritten transformer block's backward against central finite differences (float64),
and against PyTorch's autograd of the same block when torch is installed."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_lite.models import transformer_backprop as tb
from tinygrad_lite.models.transformer_backprop import TransformerBlockHandwritten

NAMES = ["ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
         "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
         "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"]


def _case(batch, steps, n_head, head_size, seed, approximate="none"):
    """A block with weights large enough that attention is far from uniform and GELU bends,
    an input x, and R: the cost is C = Σ out ⊙ R, so dC/dout = R."""
    rng = np.random.default_rng(seed)
    block = TransformerBlockHandwritten(n_head * head_size, n_head, seed=seed,
                                        approximate=approximate)
    for name, w in block.params.items():
        w[...] = rng.normal(1.0 if name.endswith("ln_1.weight") or name.endswith("ln_2.weight")
                            else 0.0, 0.6, w.shape)
    x = rng.normal(0, 1, (batch, steps, n_head * head_size))
    return block, x, rng.normal(0, 1, x.shape)


def finite_difference_error(block, x, r, dx, grads, eps=1e-6):
    """The largest |g - (C(w + ε) - C(w - ε)) / 2ε| / max(1, |numeric|) over every entry of x
    and of every parameter, C = Σ block(x) ⊙ R."""
    def cost():
        return float((block.forward(x)[0] * r).sum())

    worst = 0.0
    for array, grad in [(x, dx)] + [(block.params[n], grads[n]) for n in NAMES]:
        for i in np.ndindex(array.shape):
            saved = array[i]
            array[i] = saved + eps
            up = cost()
            array[i] = saved - eps
            down = cost()
            array[i] = saved
            numeric = (up - down) / (2 * eps)
            worst = max(worst, abs(grad[i] - numeric) / max(1.0, abs(numeric)))
    return worst


def _backprop(block, x, r):
    out, cache = block.forward(x)
    return block.backward(cache, r)


@settings(max_examples=12)
@given(batch=st.integers(1, 2), steps=st.integers(1, 4), n_head=st.integers(1, 2),
       head_size=st.integers(1, 3), seed=st.integers(0, 2**16),
       approximate=st.sampled_from(["none", "tanh"]))
def test_block_backward_equals_finite_differences(batch, steps, n_head, head_size, seed,
                                                  approximate):
    block, x, r = _case(batch, steps, n_head, head_size, seed, approximate)
    dx, grads = _backprop(block, x, r)
    assert list(grads) == NAMES and dx.shape == x.shape
    assert all(grads[n].shape == block.params[n].shape for n in NAMES)
    assert finite_difference_error(block, x, r, dx, grads) < 1e-6


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_prime_equals_finite_differences(approximate):
    z = np.linspace(-6, 6, 241)
    numeric = (tb.gelu(z + 1e-6, approximate) - tb.gelu(z - 1e-6, approximate)) / 2e-6
    np.testing.assert_allclose(tb.gelu_prime(z, approximate), numeric, atol=1e-8)


def test_gelu_values_exact_and_tanh():
    z = np.array([-3.0, -1.0, 0.0, 0.5, 2.0])
    exact = [v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in z]
    np.testing.assert_allclose(tb.gelu(z), exact, rtol=1e-15)
    assert np.max(np.abs(tb.gelu(z, "tanh") - exact)) < 1e-3   # close, not equal
    assert np.max(np.abs(tb.gelu(z, "tanh") - exact)) > 1e-5
    with pytest.raises(ValueError, match="approximate"):
        tb.gelu(z, "erf")


def _wrong_softmax_backward(da, a):
    return a * da  # forgets that every s_j moves every a_i (the - a aᵀ part of the Jacobian)


def _wrong_layer_norm_backward(dy, cache, gamma, right=tb.layer_norm_backward):
    _, dgamma, dbeta = right(dy, cache, gamma)
    return dy * gamma * cache[1], dgamma, dbeta  # dx treats μ and σ as constants


@pytest.mark.parametrize("name,wrong", [("softmax_backward", _wrong_softmax_backward),
                                        ("layer_norm_backward", _wrong_layer_norm_backward)])
def test_the_check_catches_a_wrong_backward(monkeypatch, name, wrong):
    block, x, r = _case(2, 3, 2, 2, 5)
    monkeypatch.setattr(tb, name, wrong)
    dx, grads = _backprop(block, x, r)
    assert finite_difference_error(block, x, r, dx, grads) > 1e-2


def test_the_check_catches_one_slightly_wrong_entry():
    block, x, r = _case(1, 3, 1, 2, 6)
    dx, grads = _backprop(block, x, r)
    grads["attn.c_attn.weight"][2, 1] += 1e-4
    assert finite_difference_error(block, x, r, dx, grads) > 5e-5


def test_attention_is_causal():
    """Changing position 2 changes no output before it."""
    block, x, _ = _case(1, 5, 2, 3, 7)
    out, _ = block.forward(x)
    x2 = x.copy()
    x2[0, 2] += 1.0
    out2, _ = block.forward(x2)
    np.testing.assert_array_equal(out[0, :2], out2[0, :2])
    assert np.abs(out[0, 2:] - out2[0, 2:]).min() > 0


def test_nanogpt_init_names_shapes_and_dtype():
    block = TransformerBlockHandwritten(64, 4, seed=0, dtype=np.float32, n_layer=4)
    shapes = {n: w.shape for n, w in block.state_dict().items()}
    assert list(shapes) == NAMES
    assert shapes["attn.c_attn.weight"] == (192, 64) and shapes["mlp.c_fc.weight"] == (256, 64)
    assert shapes["mlp.c_proj.weight"] == (64, 256)
    assert all(w.dtype == np.float32 for w in block.params.values())
    assert block.params["attn.c_attn.weight"].std() == pytest.approx(0.02, rel=0.05)
    assert block.params["mlp.c_proj.weight"].std() == pytest.approx(0.02 / math.sqrt(8),
                                                                     rel=0.05)
    assert (block.params["ln_1.weight"] == 1).all() and (block.params["mlp.c_fc.bias"] == 0).all()
    out, cache = block.forward(np.ones((2, 3, 64), np.float32))
    dx, grads = block.backward(cache, np.ones_like(out))
    assert out.dtype == dx.dtype == np.float32
    with pytest.raises(ValueError, match="multiple of n_head"):
        TransformerBlockHandwritten(10, 4)


def _torch_block(torch, P, x, n_head, approximate):
    """nanoGPT's Block written with torch functions, on the tensors P."""
    F = torch.nn.functional
    B, T, C = x.shape

    def attn(h):
        q, k, v = F.linear(h, P["attn.c_attn.weight"], P["attn.c_attn.bias"]).split(C, dim=2)
        q, k, v = (t.view(B, T, n_head, C // n_head).transpose(1, 2) for t in (q, k, v))
        s = q @ k.transpose(-2, -1) / math.sqrt(C // n_head)
        s = s.masked_fill(~torch.tril(torch.ones(T, T, dtype=torch.bool)), float("-inf"))
        y = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, T, C)
        return F.linear(y, P["attn.c_proj.weight"], P["attn.c_proj.bias"])

    def mlp(h):
        h = F.gelu(F.linear(h, P["mlp.c_fc.weight"], P["mlp.c_fc.bias"]), approximate=approximate)
        return F.linear(h, P["mlp.c_proj.weight"], P["mlp.c_proj.bias"])

    x = x + attn(F.layer_norm(x, (C,), P["ln_1.weight"], P["ln_1.bias"], 1e-5))
    return x + mlp(F.layer_norm(x, (C,), P["ln_2.weight"], P["ln_2.bias"], 1e-5))


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_block_matches_torch_autograd(approximate):
    torch = pytest.importorskip("torch", reason="torch is not installed: parity test skipped")
    block, x, r = _case(3, 7, 4, 4, 11, approximate)
    out, cache = block.forward(x)
    dx, grads = block.backward(cache, r)
    P = {n: torch.tensor(w, requires_grad=True) for n, w in block.params.items()}
    tx = torch.tensor(x, requires_grad=True)
    tout = _torch_block(torch, P, tx, 4, approximate)
    (tout * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    for n in NAMES:
        np.testing.assert_allclose(grads[n], P[n].grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=n)
