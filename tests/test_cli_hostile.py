"""The command line, tried as a hostile or careless user would: every failure is one line on
standard error with exit status 1 or 2, checked before any training, and nothing of the user's
is lost."""
import gzip
import os
import stat
import subprocess
import sys
import time

import numpy as np
import pytest

from helpers import (data, idx_bytes, in_tmp_folder, one_line, run, train,  # noqa: F401
                     write_fake_mnist)
from tinygrad_lite.cli import main
from tinygrad_lite.models import DigitNet
from tinygrad_lite.models.zoo import load_checkpoint, save_checkpoint
from tinygrad_lite.viz import RenderError, render




@pytest.mark.parametrize("argv, message", [
    (["train", "--seed", "-1"], "--seed"),
    (["graph", "--seed", "-5"], "--seed"),
    (["train", "--lr", "nan"], "--lr"),
    (["train", "--lr", "1e309"], "--lr"),
    (["train", "--epochs", "1e3"], "--epochs"),
    (["train", "--hidden", "0"], "--hidden"),
    (["train", "--threads", "0"], "--threads"),
    (["train", "--cost", "hinge"], "--cost"),
    (["train", "--model", "resnet"], "unknown model 'resnet'; choose from mlp"),
    (["train", "--dropout", "1"], "--dropout"),
    (["train", "--dropout", "-0.1"], "--dropout"),
])
def test_bad_values_are_usage_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in one_line(capsys.readouterr().err)


def test_every_help_option_states_its_default(capsys):
    from tinygrad_lite.cli import build_parser
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    for name, sub in commands.items():
        for action in sub._actions:
            if action.dest == "help" or action.nargs == 0:
                continue                       # flags: off unless given
            text = sub._get_formatter()._get_help_string(action)
            said = "(default: " in text if action.default is not None else "unset" in text
            assert said, f"{name} {action.dest}: {text!r}"
        with pytest.raises(SystemExit):
            main([name, "--help"])
        assert "(default: " in capsys.readouterr().out


def test_outputs_are_checked_before_training(capsys, data, tmp_path):
    cases = [
        (["--save", str(tmp_path)], "directory"),
        (["--save", str(tmp_path / "missing" / "m.npz")], "does not exist"),
        (["--plot", "p.txt"], ".png"),
        (["--plot", str(tmp_path / "missing" / "p.png")], "does not exist"),
    ]
    fifo = tmp_path / "fifo.npz"
    os.mkfifo(fifo)
    cases.append((["--save", str(fifo), "--force"], "FIFO"))
    for extra, message in cases:
        start = time.monotonic()
        code, out, err = train(capsys, data, *extra)
        assert code == 1 and message in one_line(err), (extra, err)
        assert "Epoch" not in out and time.monotonic() - start < 5
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_an_existing_checkpoint_is_never_silently_replaced(capsys, data, tmp_path):
    (tmp_path / "digitnet.npz").write_bytes(b"a model trained for 30 epochs")
    code, out, err = train(capsys, data, "--epochs", "0")
    assert code == 1 and "--force" in one_line(err) and "Epoch" not in out
    assert (tmp_path / "digitnet.npz").read_bytes() == b"a model trained for 30 epochs"
    code, out, err = train(capsys, data, "--force")
    assert code == 0 and "saved digitnet.npz" in out
    assert load_checkpoint("digitnet.npz", DigitNet)[0].sizes == (784, 3, 10)


def test_batch_larger_than_the_data(capsys, data):
    code, out, err = train(capsys, data, "--batch-size", "100000")
    assert code == 1 and "--batch-size 100000" in one_line(err) and "Epoch" not in out


def test_huge_layers_are_one_line(capsys, data):
    code, out, err = train(capsys, data, "--hidden", str(10**12))
    assert code == 1 and "out of memory" in one_line(err) and "784" in err


def test_images_that_do_not_fit_the_network(capsys, tmp_path):
    folder = tmp_path / "small"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 20), ("t10k", 10)):
        images = rng.integers(0, 256, (n, 2, 2), dtype=np.uint8)
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
        (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(
            idx_bytes((np.arange(n) % 10).astype(np.uint8)))
    for argv in (["train", "--epochs", "1"], ["explain"], ["gradcheck"]):
        code, out, err = run(capsys, *argv, "--data-dir", str(folder))
        assert code == 1 and "4 pixels" in one_line(err), argv


def test_explain_and_evaluate_refuse_a_network_that_is_not_for_digits(capsys, data):
    save_checkpoint(DigitNet((784, 4, 3), seed=0), "three.npz")
    for argv in (["explain", "--checkpoint", "three.npz"], ["evaluate", "three.npz"]):
        code, out, err = run(capsys, *argv, "--data-dir", data)
        assert code == 1 and "784-4-3 is not a 784-...-10" in one_line(err)


def test_a_diverging_run_is_one_line_without_numpy_warnings(capsys, data):
    code, out, err = train(capsys, data, "--lr", "1e300", "--no-save")
    assert code == 1 and "cost became nan" in one_line(err) and "Warning" not in err


def test_interrupt_exits_130_and_writes_no_checkpoint(capsys, data, monkeypatch, tmp_path):
    import tinygrad_lite.train

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(tinygrad_lite.train, "fit", interrupted)
    code, out, err = train(capsys, data)
    assert code == 130 and "interrupted" in one_line(err)
    assert not any(p.name.startswith(("digitnet", ".digitnet")) for p in tmp_path.iterdir())


def test_train_piped_into_head_still_saves_its_checkpoint(data, tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "tinygrad_lite", "train", "--data-dir", data,
                             "--epochs", "40", "--hidden", "3", "--save", "piped.npz"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()       # like head -1: read one line, then stop reading
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert "Traceback" not in err
    assert load_checkpoint(str(tmp_path / "piped.npz"), DigitNet)[0].sizes == (784, 3, 10)


def test_a_terminal_that_cannot_show_greek_letters(data, tmp_path):
    env = dict(os.environ, PYTHONIOENCODING="ascii", LANG="C", LC_ALL="C")
    proc = subprocess.run([sys.executable, "-m", "tinygrad_lite", "explain", "--data-dir", data,
                           "--hidden", "3"], cwd=tmp_path, env=env, capture_output=True)
    assert proc.returncode == 0, proc.stderr
    assert b"\\u03b4" in proc.stdout and b"Traceback" not in proc.stderr   # δ, escaped


@pytest.fixture
def fake_dot(tmp_path, monkeypatch):
    """Put a `dot` program that misbehaves first on PATH."""
    folder = tmp_path / "bin"
    folder.mkdir()

    def make(body):
        script = folder / "dot"
        script.write_text("#!/bin/sh\n" + body + "\n")
        script.chmod(0o755)
        monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return make


def test_a_failing_graphviz_is_one_line_and_keeps_the_dot_text(capsys, data, fake_dot):
    fake_dot("echo 'dot: syntax error' >&2; exit 3")
    code, out, err = run(capsys, "graph", "--data-dir", data, "--hidden", "3", "--batch-size",
                         "2", "--out", "g.svg")
    assert code == 1 and "status 3" in one_line(err) and "g.dot" in err
    assert open("g.dot").read().startswith("digraph") and not os.path.exists("g.svg")


def test_a_hanging_graphviz_is_stopped(fake_dot, tmp_path):
    fake_dot("sleep 30")
    start = time.monotonic()
    with pytest.raises(RenderError, match="more than 0.5 s"):
        render("digraph { a -> b }\n", str(tmp_path / "g.png"), timeout=0.5)
    assert time.monotonic() - start < 10 and (tmp_path / "g.dot").exists()

