"""The language-model commands: `train --model gpt|char-rnn` (a tiny run), `sample`, and
`evaluate` of a language model; and every bad input as one line with exit status 1 or 2."""
import numpy as np
import pytest

from helpers import in_tmp_folder, run  # noqa: F401 (fixture)
from tinygrad_lite.cli import main
from tinygrad_lite.models import DigitNet
from tinygrad_lite.models.zoo import load_checkpoint, save_checkpoint

TINY = ["--max-iters", "4", "--n-layer", "1", "--n-embd", "16", "--n-head", "2",
        "--block-size", "8", "--batch-size", "2", "--eval-interval", "2", "--eval-iters", "1"]


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture(scope="module")
def gpt_checkpoint(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("lm") / "tiny.npz")
    assert main(["train", "--model", "gpt", *TINY, "--save", path]) == 0
    return path


def test_train_logs_saves_and_evaluate_reads_the_whole_validation_split(capsys, tmp_path):
    path = str(tmp_path / "g.npz")
    code, out, err = run(capsys, "train", "--model", "gpt", *TINY, "--save", path)
    assert code == 0, err
    assert "step 0: train loss 4." in out and "step 4: train loss" in out
    model, meta = load_checkpoint(path)
    assert meta["kind"] == "tinygrad_lite.language_model" and len(meta["vocab"]) == 65
    assert meta["recipe"]["max_iters"] == 4 and model.config()["n_embd"] == 16
    code, out, err = run(capsys, "evaluate", path)
    assert code == 0, err
    assert "validation loss" in out and "bits per character" in out
    assert "13,942 windows of 8 characters" in out  # (111,540 - 1) // 8


def test_default_save_is_the_model_name_and_force_is_respected(capsys):
    code, out, _ = run(capsys, "train", "--model", "char-rnn", "--hidden", "8", "--max-iters",
                       "2", "--block-size", "4", "--eval-iters", "1")
    assert code == 0 and "saved char-rnn.npz" in out
    code, _, err = run(capsys, "train", "--model", "char-rnn", "--hidden", "8", "--max-iters",
                       "2", "--block-size", "4", "--eval-iters", "1")
    assert code == 1 and "char-rnn.npz" in one_line(err)
    code, _, err = run(capsys, "train", "--model", "gpt", "--no-save", "--force")
    assert code == 2 and "--force" in one_line(err)


def test_sample_is_seeded_and_starts_with_the_prompt(capsys, gpt_checkpoint):
    argv = ["sample", gpt_checkpoint, "--start", "ROMEO:", "--tokens", "30", "--seed", "1"]
    code, out, _ = run(capsys, *argv)
    assert code == 0 and out.startswith("ROMEO:") and len(out.rstrip("\n")) >= 30
    assert run(capsys, *argv)[1] == out


@pytest.mark.parametrize("extra, message, status", [
    (["--start", "héllo"], "character 'é' at position 1", 1),
    (["--start", ""], "--start", 2),
    (["--tokens", "-1"], "--tokens", 2),
    (["--tokens", "100000000000000000"], "--tokens", 1),
    (["--top-k", "0"], "--top-k", 2),
    (["--top-k", "-3"], "--top-k", 2),
    (["--temperature", "0"], "--temperature", 2),
    (["--temperature", "-1"], "--temperature", 2),
    (["--temperature", "nan"], "--temperature", 2),
])
def test_bad_sample_input_is_one_line(capsys, gpt_checkpoint, extra, message, status):
    try:
        code = main(["sample", gpt_checkpoint, *extra])
    except SystemExit as e:  # refused by the argument parser
        code = e.code
    assert code == status
    assert message in one_line(capsys.readouterr().err)


def test_sample_refuses_an_mnist_checkpoint_and_a_missing_file(capsys):
    save_checkpoint(DigitNet([784, 3, 10], seed=0), "digits.npz")
    code, _, err = run(capsys, "sample", "digits.npz")
    assert code == 1 and "not a language model" in one_line(err)
    code, _, err = run(capsys, "sample", "missing.npz")
    assert code == 1 and "missing.npz" in one_line(err)


@pytest.mark.parametrize("argv, message", [
    (["train", "--model", "gpt", "--epochs", "2"], "--epochs applies to the MNIST models"),
    (["train", "--model", "gpt", "--hidden", "5"], "--hidden applies to mlp and char-rnn"),
    (["train", "--model", "char-rnn", "--n-layer", "2"], "--n-layer applies to --model gpt"),
    (["train", "--model", "mlp", "--max-iters", "5"], "--max-iters applies to the language"),
    (["train", "--model", "gpt", "--n-embd", "10", "--n-head", "4"], "multiple of n_head"),
    (["train", "--model", "char-rnn", "--block-size", "200000"], "--block-size 200000"),
])
def test_flags_that_do_not_fit_the_model_are_usage_errors(capsys, argv, message):
    code, _, err = run(capsys, *argv, "--no-save")
    assert code == 2 and message in one_line(err)


def test_evaluate_refuses_a_language_model_in_an_ensemble(capsys, gpt_checkpoint):
    code, _, err = run(capsys, "evaluate", gpt_checkpoint, gpt_checkpoint)
    assert code == 2 and "on its own" in one_line(err)


def test_the_python_api_trains_and_samples():
    from tinygrad_lite.data import load_shakespeare
    from tinygrad_lite.models.gpt import GPT
    from tinygrad_lite.models.language import TextRecipe, fit_text
    data = load_shakespeare()
    model = GPT(block_size=8, n_layer=1, n_head=2, n_embd=16, seed=0)
    r = TextRecipe(max_iters=3, eval_iters=1, block_size=8, batch_size=2)
    history = fit_text(model, data, 8, r, seed=0, log=lambda line: None)
    assert [h["step"] for h in history] == [0, 3] and np.isfinite(history[-1]["val"])
    out = model.generate(data.encode("KING")[None], 5, rng=0)
    assert data.decode(out[0]).startswith("KING") and out.shape == (1, 9)
