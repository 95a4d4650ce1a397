"""The command line's models: train --model NAME with its recipe, --dropout, --expand-data,
progress on a terminal, evaluate rebuilding any model, and ensembles."""
import io
import re

import numpy as np
import pytest

from helpers import data, in_tmp_folder, run  # noqa: F401 (fixtures)
from tinygrad_lite.cli import Progress, main
from tinygrad_lite.models import DigitNet
from tinygrad_lite.models.zoo import MODELS, build, load_checkpoint, save_checkpoint


def one_line_error(capsys, *argv, match, status=1):
    code, _, err = run(capsys, *argv)
    assert code == status and len(err.strip().splitlines()) == 1, err
    assert re.search(match, err), err


def test_help_lists_every_model_and_its_recipe(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for name, entry in MODELS.items():
        assert re.search(rf"^  {re.escape(name)} +{re.escape(entry.about)}$", out, re.M)
        assert entry.recipe.describe() in out
    assert "quadratic cost, sgd lr 3, batch 10, 30 epochs" in out


def test_the_models_recipe_is_the_default_and_flags_override_it(capsys, data):
    code, out, _ = run(capsys, "train", "--model", "conv-pool", "--data-dir", data,
                       "--epochs", "1", "--dropout", "0.25", "--batch-size", "7")
    assert code == 0
    assert ("conv 20 (5x5, pool 2), FC 100 sigmoid, dropout 0.25, softmax, log-likelihood "
            "cost, adam lr 0.001 x0.8 per epoch, batch 7, 1 epoch, 60 training images") in out
    assert re.search(r"^Epoch 0: \d+ / 20", out, re.M) and "\r" not in out
    model, meta = load_checkpoint("digitnet.npz")
    assert model.conv == (20,) and model.dropout == 0.25 and meta["model"] == "conv-pool"
    assert meta["epochs"] == 1 and meta["lr"] == 1e-3


def test_expanded_data_trains_on_five_times_the_images(capsys, data):
    code, out, _ = run(capsys, "train", "--data-dir", data, "--epochs", "1", "--hidden", "3",
                       "--expand-data", "--no-save")
    assert code == 0 and "300 training images (expanded)" in out


@pytest.mark.parametrize("name", list(MODELS))
def test_evaluate_rebuilds_every_model_from_its_checkpoint(capsys, data, name):
    model = build(name, seed=0)
    save_checkpoint(model, "m.npz", model=name, cost=MODELS[name].recipe.cost)
    code, out, _ = run(capsys, "evaluate", "m.npz", "--data-dir", data)
    assert code == 0 and re.search(r"^\d+ / 20 \(", out, re.M), out


def test_an_ensemble_of_one_network_scores_as_the_network(capsys, data):
    save_checkpoint(build("conv-pool", seed=3), "a.npz", cost="log-likelihood")
    code, out, _ = run(capsys, "evaluate", "a.npz", "a.npz", "--data-dir", data)
    scores = re.findall(r"(\d+) / 20 \(", out)
    assert code == 0 and len(scores) == 3 and len(set(scores)) == 1, out
    assert "ensemble of 2 (averaged outputs)" in out


def test_ensemble_members_must_give_outputs_of_one_kind(capsys, data):
    save_checkpoint(build("conv-pool", seed=0), "conv.npz", cost="log-likelihood")
    save_checkpoint(build("conv-relu", seed=1), "relu.npz", cost="log-likelihood")
    save_checkpoint(DigitNet(seed=0), "mlp.npz", cost="quadratic")
    code, out, _ = run(capsys, "evaluate", "conv.npz", "relu.npz", "--data-dir", data)
    assert code == 0 and "ensemble of 2 (averaged outputs)" in out  # two architectures
    one_line_error(capsys, "evaluate", "conv.npz", "mlp.npz", "--data-dir", data,
                   match="mlp.npz .*784-30-10.* and conv.npz .* differ: the first gives "
                         "sigmoid outputs, the second softmax probabilities")
    one_line_error(capsys, "evaluate", "conv.npz", "gone.npz", "--data-dir", data,
                   match="gone.npz")
    one_line_error(capsys, "explain", "--checkpoint", "conv.npz", "--data-dir", data,
                   match="conv.npz: holds a ConvNet, not a DigitNet")


@pytest.mark.parametrize("argv, match", [
    (["--expand-data", "--limit", "10"], "--expand-data and --limit .* images$"),
    (["--model", "conv-dropout", "--limit", "10"], "conv-dropout expands by default: pass "
                                                   "--no-expand-data"),
    (["--dropout", "0.5"], "--dropout applies to the convolutional models"),
    (["--model", "conv", "--hidden", "30"], "--hidden applies to --model mlp"),
    (["--model", "conv", "--init", "standard"], "--init applies to --model mlp"),
    (["--model", "conv", "--lr-decay", "2"], "--lr-decay must be at most 1"),
])
def test_bad_combinations_are_one_line_usage_errors(capsys, data, argv, match):
    one_line_error(capsys, "train", "--data-dir", data, *argv, match=match, status=2)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_overwrites_one_line_and_clears_it():
    screen = Terminal()
    progress = Progress(screen, batch_size=10)
    progress(1, 4, 0.5)
    progress(2, 4, 0.6)  # too soon after the last update: not shown
    progress(4, 4, 2.0)
    progress.clear()
    shown = screen.getvalue()
    assert shown.count("\r  batch") == 2 and "batch 1/4  20 images/s  2s left" in shown
    assert "batch 4/4" in shown and shown.endswith("\r")


def test_progress_is_shown_on_a_terminal_only(capsys, data, monkeypatch):
    monkeypatch.setattr("sys.stderr", Terminal())
    code = main(["train", "--data-dir", data, "--epochs", "1", "--hidden", "3", "--no-save"])
    import sys
    assert code == 0 and "\r  batch 6/6" in sys.stderr.getvalue()
    assert "\r" not in capsys.readouterr().out
