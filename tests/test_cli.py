"""The command line: train, evaluate, and clear one-line errors for bad input."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from helpers import idx_bytes, write_fake_mnist
from tinygrad_lite.cli import main

FLOOR = 8000  # of 10,000 test digits: an untrained network gets about 1,000
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def in_tmp_folder(tmp_path, monkeypatch):
    """train writes digitnet.npz to the current folder by default: keep it out of the checkout."""
    monkeypatch.chdir(tmp_path)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version_and_help(tmp_path):
    out = subprocess.run([sys.executable, "-m", "tinygrad_lite", "--version"], cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout
    assert re.match(r"tinygrad-lite \d+\.\d+\.\d+", out)
    out = subprocess.run([sys.executable, "-m", "tinygrad_lite", "train", "--help"],
                         cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert "--batch-size" in out and "--lr" in out


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A short run on the real MNIST: 3 epochs over the first 5,000 training images."""
    path = tmp_path_factory.mktemp("ckpt") / "net.npz"
    from io import StringIO
    from contextlib import redirect_stdout
    buf = StringIO()
    with redirect_stdout(buf):
        code = main(["train", "--limit", "5000", "--epochs", "3", "--seed", "0",
                     "--save", str(path)])
    return code, buf.getvalue(), path


def test_short_training_run_learns(trained):
    code, out, path = trained
    assert code == 0
    epochs = re.findall(r"^Epoch (\d+): (\d+) / 10000  cost [\d.]+  [\d.]+s$", out, re.M)
    assert [int(e) for e, _ in epochs] == [0, 1, 2]
    assert int(epochs[-1][1]) >= FLOOR, out
    assert "seed 0" in out and "784-30-10" in out and path.exists()


def accuracy_of(capsys, path):
    code, out, _ = run(capsys, "evaluate", str(path))
    assert code == 0
    correct = int(re.search(r"^(\d+) / 10000 \(", out, re.M).group(1))
    return correct, out


def test_evaluate_prints_accuracy_and_confusion(trained, capsys):
    _, out_train, path = trained
    correct, out = accuracy_of(capsys, path)
    assert f"Epoch 2: {correct} / 10000" in out_train     # same network, same number
    rows = [ln for ln in out.splitlines() if re.match(r"^\s+\d( +\d+){10}$", ln)]
    assert len(rows) == 10 and sum(int(v) for r in rows for v in r.split()[1:]) == 10000


def test_accuracy_floor_fails_for_an_untrained_network(tmp_path, capsys):
    path = tmp_path / "untrained.npz"
    assert run(capsys, "train", "--epochs", "0", "--seed", "0", "--save", str(path))[0] == 0
    correct, _ = accuracy_of(capsys, path)
    assert correct < FLOOR


@pytest.mark.parametrize("argv,message", [
    (["train", "--epochs", "-1"], "--epochs"),
    (["train", "--sizes", "100,30,10"], "784"),
    (["train", "--sizes", "784,30,9"], "end at 10"),
    (["train", "--lr", "0"], "--lr"),
    (["train", "--batch-size", "0"], "--batch-size"),
    (["train", "--cost", "hinge"], "--cost"),
])
def test_bad_arguments_exit_nonzero_with_one_line(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code != 0 and message in err and "Traceback" not in err


def test_bad_files_are_one_line_errors(tmp_path, capsys):
    folder = write_fake_mnist(tmp_path / "data")
    raw = idx_bytes(np.zeros((60, 28, 28), np.uint8))
    (folder / "train-images-idx3-ubyte.gz").unlink()
    (folder / "train-images-idx3-ubyte").write_bytes(raw[:-100])   # truncated
    code, _, err = run(capsys, "train", "--data-dir", str(folder), "--epochs", "1")
    assert code == 1 and "train-images-idx3-ubyte" in err and "truncated" in err
    assert len(err.strip().splitlines()) == 1

    code, _, err = run(capsys, "evaluate", str(tmp_path / "missing.npz"))
    assert code == 1 and "missing.npz" in err

    evil = tmp_path / "evil.npz"
    np.savez(evil, **{"0.weight": np.array([object()], dtype=object)})
    code, _, err = run(capsys, "evaluate", str(evil))
    assert code == 1 and "evil.npz" in err and len(err.strip().splitlines()) == 1

    plain = tmp_path / "plain.npz"
    np.savez(plain, w=np.ones(3))
    code, _, err = run(capsys, "evaluate", str(plain))
    assert code == 1 and "architecture" in err

    code, _, err = run(capsys, "train", "--save", str(tmp_path / "no" / "such" / "x.npz"))
    assert code == 1 and "does not exist" in err


def test_small_folder_trains_from_data_dir(tmp_path, capsys):
    folder = write_fake_mnist(tmp_path / "data")
    code, out, _ = run(capsys, "train", "--data-dir", str(folder), "--epochs", "2",
                       "--hidden", "5", "--batch-size", "7", "--optimizer", "adam", "--lr",
                       "0.01", "--cost", "cross-entropy", "--init", "scaled")
    assert code == 0 and "Epoch 1: " in out and " / 20 " in out


def test_plot_without_matplotlib_still_trains(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.delitem(sys.modules, "tinygrad_lite.plot", raising=False)
    folder = write_fake_mnist(tmp_path / "data")
    code, out, err = run(capsys, "train", "--data-dir", str(folder), "--epochs", "1",
                         "--plot", str(tmp_path / "curves.png"))
    assert code == 0 and "pip install" in err and "Epoch 0" in out
    assert not os.path.exists(tmp_path / "curves.png")


def test_plot_writes_three_pictures(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    folder = write_fake_mnist(tmp_path / "data")
    code, out, _ = run(capsys, "train", "--data-dir", str(folder), "--epochs", "2",
                       "--plot", str(tmp_path / "curves.png"))
    assert code == 0
    for name in ("curves.png", "curves-misclassified.png", "curves-weights.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def test_default_checkpoint_and_no_save(tmp_path, capsys):
    folder = write_fake_mnist(tmp_path / "data")
    code, out, _ = run(capsys, "train", "--data-dir", str(folder), "--epochs", "1")
    assert code == 0 and "saved digitnet.npz" in out and os.path.exists("digitnet.npz")
    code, out, _ = run(capsys, "evaluate", "--data-dir", str(folder))
    assert code == 0 and " / 20 (" in out
    os.remove("digitnet.npz")
    assert run(capsys, "train", "--data-dir", str(folder), "--epochs", "1", "--no-save")[0] == 0
    assert not os.path.exists("digitnet.npz")
