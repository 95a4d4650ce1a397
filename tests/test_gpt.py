"""The GPT on the engine (models/gpt.py): nanoGPT's names, shapes and init; its block's gradients
equal the handwritten block backprop's; and with torch installed, the same weights give the
same logits, loss and gradients as benchmarks/gpt_torch.py's model, in both directions."""
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_lite import Tensor
from tinygrad_lite.models.gpt import GPT, Block, GPTConfig
from tinygrad_lite.models.language import TextRecipe, lr_at, make_optimizer, split_loss
from tinygrad_lite.models.transformer_backprop import TransformerBlockHandwritten

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpt_torch.py"
TINY = dict(block_size=8, vocab_size=11, n_layer=2, n_head=2, n_embd=8)


def _gpt_torch():
    if "gpt_torch" in sys.modules:
        return sys.modules["gpt_torch"]
    spec = importlib.util.spec_from_file_location("gpt_torch", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpt_torch"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _batch(seed, batch=3, steps=8, vocab=11):
    rng = np.random.default_rng(seed)
    return rng.integers(0, vocab, (batch, steps)), rng.integers(0, vocab, (batch, steps))


def test_names_shapes_tied_head_and_parameter_count():
    model = GPT(GPTConfig(**TINY), seed=0)
    state = model.state_dict()
    names = list(state)
    assert names[:3] == ["transformer.wte.weight", "transformer.wpe.weight",
                         "transformer.h.0.ln_1.weight"]
    assert names[-1] == "lm_head.weight" and "transformer.h.1.attn.c_attn.weight" in names
    assert state["transformer.h.0.attn.c_attn.weight"].shape == (24, 8)
    assert state["transformer.h.0.mlp.c_fc.weight"].shape == (32, 8)
    assert model.lm_head.weight is model.transformer.wte.weight
    count = sum(p.numel() for p in model.parameters())
    assert count == GPT.num_parameters(**TINY)
    assert GPT.state_size(**TINY) == sum(a.size for a in state.values())


def test_init_is_nanogpts():
    model = GPT(n_layer=4, seed=0)
    state = model.state_dict()
    assert abs(state["transformer.wte.weight"].std() - 0.02) < 0.002
    assert abs(state["transformer.h.0.attn.c_proj.weight"].std() - 0.02 / math.sqrt(8)) < 0.001
    assert np.all(state["transformer.h.0.ln_1.weight"] == 1)
    assert np.all(state["transformer.h.0.mlp.c_fc.bias"] == 0)
    assert state["transformer.wte.weight"].dtype == np.float32


def test_initial_loss_is_about_log_vocab_and_last_position_only_without_targets():
    model = GPT(GPTConfig(**TINY), seed=0)
    x, y = _batch(0)
    logits, loss = model(x, y)
    assert logits.shape == (3, 8, 11) and abs(loss.item() - math.log(11)) < 0.1
    last, none = model(x)
    assert none is None and last.shape == (3, 1, 11)
    np.testing.assert_allclose(last.numpy()[:, 0], logits.numpy()[:, -1], rtol=1e-5, atol=1e-6)


def test_bad_configs_and_long_sequences_are_refused():
    with pytest.raises(ValueError, match="multiple of n_head"):
        GPTConfig(n_embd=10, n_head=4)
    with pytest.raises(ValueError, match="n_layer"):
        GPTConfig(n_layer=0)
    with pytest.raises(ValueError, match="longer than block_size"):
        GPT(GPTConfig(**TINY), seed=0)(np.zeros((1, 9), np.int64))


def test_generate_is_seeded_and_checks_its_arguments():
    model = GPT(GPTConfig(**TINY), seed=0)
    a = model.generate(np.array([[1, 2]]), 12, temperature=0.8, top_k=3, rng=5)
    b = model.generate(np.array([[1, 2]]), 12, temperature=0.8, top_k=3, rng=5)
    assert a.shape == (1, 14) and np.array_equal(a, b) and model.training
    greedy = model.generate(np.array([[1, 2]]), 3, top_k=1, rng=0)
    logits, _ = model(np.array([[1, 2]]))
    assert greedy[0, 2] == logits.numpy()[0, -1].argmax()
    for bad in (dict(max_new_tokens=-1), dict(temperature=0.0), dict(top_k=0)):
        with pytest.raises(ValueError):
            model.generate(np.array([[1]]), **{"max_new_tokens": 1, **bad})


def test_optimizer_groups_and_schedule_are_nanogpts():
    model = GPT(GPTConfig(**TINY), seed=0)
    opt = make_optimizer(model, TextRecipe())
    decayed, plain = opt.param_groups
    assert decayed["weight_decay"] == 0.1 and plain["weight_decay"] == 0.0
    assert all(p.ndim == 2 for p in decayed["params"]) and all(p.ndim == 1 for p in plain["params"])
    r = TextRecipe()
    assert lr_at(0, r) == pytest.approx(1e-3 / 101) and lr_at(100, r) == pytest.approx(1e-3)
    assert lr_at(2000, r) == pytest.approx(1e-4) and lr_at(5000, r) == 1e-4
    assert split_loss(model, np.arange(30) % 11, 8) > 0


# --- one block: the engine's gradients against the handwritten backprop ------------------------

@settings(max_examples=10)
@given(batch=st.integers(1, 2), steps=st.integers(1, 5), n_head=st.integers(1, 3),
       head_size=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_block_gradients_equal_handwritten_backprop(batch, steps, n_head, head_size, seed):
    rng = np.random.default_rng(seed)
    C = n_head * head_size
    hand = TransformerBlockHandwritten(C, n_head, seed=seed)
    for name, w in hand.params.items():  # far from the init, so attention and GELU bend
        w[...] = rng.normal(1.0 if name.startswith("ln_") and name.endswith("weight") else 0.0,
                            0.6, w.shape)
    x, r = rng.normal(0, 1, (batch, steps, C)), rng.normal(0, 1, (batch, steps, C))
    out, cache = hand.forward(x)
    dx, grads = hand.backward(cache, r)
    block = Block(GPTConfig(n_embd=C, n_head=n_head), np.float64, rng)
    block.load_state_dict(hand.state_dict())
    tx = Tensor(x, requires_grad=True)
    tout = block(tx)
    (tout * Tensor(r)).sum().backward()
    np.testing.assert_allclose(tout.numpy(), out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tx.grad, dx, rtol=1e-10, atol=1e-12)
    params = dict(block.named_parameters())
    for name, g in grads.items():
        np.testing.assert_allclose(params[name].grad, g, rtol=1e-10, atol=1e-12, err_msg=name)


def test_the_block_comparison_can_fail():
    rng = np.random.default_rng(0)
    hand = TransformerBlockHandwritten(4, 2, seed=0)
    block = Block(GPTConfig(n_embd=4, n_head=2), np.float64, rng)
    state = hand.state_dict()
    block.load_state_dict({**state, "mlp.c_fc.bias": state["mlp.c_fc.bias"] + 1e-6})
    x = rng.normal(0, 1, (1, 3, 4))
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(block(Tensor(x)).numpy(), hand.forward(x)[0], rtol=1e-10,
                                   atol=1e-12)


# --- against PyTorch's nanoGPT (benchmarks/gpt_torch.py) ---------------------------------------

def _torch_pair(seed, dtype):
    torch = pytest.importorskip("torch", reason="torch is not installed: parity test skipped")
    gt = _gpt_torch()
    torch.manual_seed(seed)
    theirs = gt.build_gpt(gt.GPTConfig(**TINY)).to(getattr(torch, dtype))
    ours = GPT(GPTConfig(**TINY), dtype=dtype, seed=seed)
    return torch, theirs, ours


def _compare(torch, theirs, ours, seed, tol):
    x, y = _batch(seed)
    logits, loss = ours(x, y)
    loss.backward()
    t_logits, t_loss = theirs(torch.from_numpy(x), torch.from_numpy(y))
    t_loss.backward()
    np.testing.assert_allclose(logits.numpy(), t_logits.detach().numpy(), rtol=tol, atol=tol)
    assert abs(loss.item() - t_loss.item()) < tol
    ours_p, theirs_p = dict(ours.named_parameters()), dict(theirs.named_parameters())
    for name, p in theirs_p.items():  # the tied weight once, under nanoGPT's name for it
        np.testing.assert_allclose(ours_p[name].grad, p.grad.numpy(), rtol=tol, atol=tol,
                                   err_msg=name)


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-8), ("float32", 1e-5)])
def test_torch_weights_into_ours(dtype, tol):
    torch, theirs, ours = _torch_pair(1, dtype)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    _compare(torch, theirs, ours, 2, tol)


def test_our_weights_into_torch_via_npz(tmp_path):
    torch, theirs, ours = _torch_pair(3, "float64")
    path = tmp_path / "ours.npz"
    np.savez(path, **ours.state_dict())
    with np.load(path) as f:
        theirs.load_state_dict({k: torch.from_numpy(f[k]) for k in f.files})
    _compare(torch, theirs, ours, 4, 1e-8)
    torch_path = tmp_path / "theirs.npz"
    _gpt_torch().export_npz(theirs, str(torch_path))
    with np.load(torch_path) as f:
        assert sorted(f.files) == sorted(ours.state_dict())
