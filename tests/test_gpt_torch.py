"""benchmarks/gpt_torch.py: nanoGPT's names, init, optimizer groups and schedule, the split loss,
the .npz export (torch tests skipped when torch is not installed)."""
import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_lite.models.transformer_backprop import TransformerBlockHandwritten

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpt_torch.py"


def _load():
    spec = importlib.util.spec_from_file_location("gpt_torch", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpt_torch"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


gpt = _load()


def test_importing_runs_nothing_and_needs_no_torch():
    code = "\n".join([
        "import sys, importlib.util as u",
        "sys.modules['torch'] = None  # any import of torch fails",
        f"s = u.spec_from_file_location('g', {str(SCRIPT)!r})",
        "m = sys.modules['g'] = u.module_from_spec(s)",
        "s.loader.exec_module(m)",
        "print(m.learning_rate(100, m.Recipe()))"])
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "0.001", proc.stderr


def test_learning_rate_schedule_is_nanogpts():
    r = gpt.Recipe()
    assert gpt.learning_rate(0, r) == pytest.approx(1e-3 / 101)
    assert gpt.learning_rate(99, r) == pytest.approx(1e-3 * 100 / 101)
    assert gpt.learning_rate(100, r) == pytest.approx(1e-3)
    assert gpt.learning_rate(1050, r) == pytest.approx(5.5e-4)   # half way down the cosine
    assert gpt.learning_rate(2000, r) == pytest.approx(1e-4)
    assert gpt.learning_rate(5000, r) == 1e-4


def _names(n_layer):
    block = ["ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
             "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
             "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"]
    return (["transformer.wte.weight", "transformer.wpe.weight"]
            + [f"transformer.h.{i}.{n}" for i in range(n_layer) for n in block]
            + ["transformer.ln_f.weight", "transformer.ln_f.bias", "lm_head.weight"])


@pytest.fixture
def torch():
    return pytest.importorskip("torch", reason="torch is not installed: GPT tests skipped")


def test_names_tying_and_init_are_nanogpts(torch):
    torch.manual_seed(0)
    model = gpt.build_gpt(gpt.GPTConfig(block_size=32, vocab_size=65, n_layer=3, n_head=4,
                                        n_embd=128))
    state = model.state_dict()
    assert list(state) == _names(3)
    assert model.lm_head.weight is model.transformer.wte.weight
    assert state["transformer.h.0.attn.c_attn.weight"].shape == (384, 128)
    assert state["transformer.h.0.mlp.c_proj.weight"].shape == (128, 512)
    assert state["transformer.h.1.mlp.c_fc.weight"].std().item() == pytest.approx(0.02, rel=0.03)
    assert state["transformer.h.2.attn.c_proj.weight"].std().item() == pytest.approx(
        0.02 / math.sqrt(6), rel=0.03)
    assert (state["transformer.h.0.attn.c_attn.bias"] == 0).all()
    assert (state["transformer.ln_f.weight"] == 1).all()


def test_weight_decay_only_on_matrices(torch):
    model = gpt.build_gpt(gpt.GPTConfig(n_layer=2, n_embd=32, n_head=2))
    decay, no_decay = gpt.configure_optimizer(model, gpt.Recipe()).param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.dim() == 2 for p in decay["params"]) and len(decay["params"]) == 2 + 4 * 2
    assert all(p.dim() == 1 for p in no_decay["params"])
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))


def test_block_zero_equals_the_handwritten_block(torch):
    """Both references compute the same block: the torch model's first block, with its
    weights copied into the numpy block, gives the same output in float64."""
    torch.manual_seed(1)
    model = gpt.build_gpt(gpt.GPTConfig(block_size=8, n_layer=1, n_head=2, n_embd=8)).double()
    block = TransformerBlockHandwritten(8, 2)
    for name in block.params:
        block.params[name][...] = model.state_dict()[f"transformer.h.0.{name}"].numpy()
    x = np.random.default_rng(0).normal(0, 1, (2, 5, 8))
    with torch.no_grad():
        theirs = model.transformer.h[0](torch.tensor(x)).numpy()
    np.testing.assert_allclose(block.forward(x)[0], theirs, rtol=1e-12, atol=1e-12)


def test_split_loss_uses_every_non_overlapping_window(torch):
    torch.manual_seed(2)
    model = gpt.build_gpt(gpt.GPTConfig(block_size=4, vocab_size=5, n_layer=1, n_head=1,
                                        n_embd=4))
    ids = np.random.default_rng(0).integers(0, 5, 23)   # (23 - 1) // 4 = 5 windows
    with torch.no_grad():
        logits, _ = model(torch.from_numpy(ids[:20].reshape(5, 4)))
        logp = torch.log_softmax(logits, -1).numpy()
    expected = -np.mean(np.take_along_axis(logp, ids[1:21].reshape(5, 4, 1), -1))
    assert gpt.split_loss(model, ids, 4, batch=2) == pytest.approx(expected, rel=1e-6)


def test_export_npz_round_trip(torch, tmp_path):
    torch.manual_seed(3)
    config = gpt.GPTConfig(block_size=8, vocab_size=11, n_layer=2, n_head=2, n_embd=8)
    model = gpt.build_gpt(config)
    names = gpt.export_npz(model, tmp_path / "gpt.npz")
    saved = np.load(tmp_path / "gpt.npz")
    assert names == sorted(saved.files, key=names.index) == _names(2)
    np.testing.assert_array_equal(saved["lm_head.weight"], saved["transformer.wte.weight"])
    fresh = gpt.build_gpt(config)
    fresh.load_state_dict({n: torch.from_numpy(saved[n]) for n in saved.files})
    idx = torch.tensor([[1, 2, 3, 4]])
    assert torch.equal(fresh(idx)[0], model(idx)[0])


def test_a_few_steps_of_the_recipe_lower_the_loss(torch):
    config = gpt.GPTConfig(block_size=16, n_layer=1, n_head=2, n_embd=16)
    recipe = gpt.Recipe(max_iters=30, eval_interval=30, eval_iters=2, warmup_iters=5,
                        lr_decay_iters=30, learning_rate=1e-2, threads=1)
    lines, threads = [], torch.get_num_threads()
    try:
        result = gpt.train(config, recipe, log=lines.append)
    finally:
        torch.set_num_threads(threads)
    assert lines[0].startswith("step 0: train loss 4.1") and lines[1].startswith("step 30:")
    first, last = (float(line.split("val loss ")[1]) for line in lines)
    assert last < first - 0.5
    assert result["ms_per_iter"] > 0
