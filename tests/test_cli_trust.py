"""The command line against a hostile user and a busy machine: files that appear while it
runs, folders it cannot write, companion files, arguments that cannot go together, tampered
checkpoints and networks too large for memory. Each failure is one line naming the user's path
or flag, with exit status 2 for arguments and 1 for the rest."""
import io
import os
import time
import zipfile

import numpy as np
import pytest

from helpers import data, in_tmp_folder, one_line, run, train  # noqa: F401 (fixtures)
import tinygrad_lite as tl
import tinygrad_lite.train
from tinygrad_lite.cli import main
from tinygrad_lite.cli.commands import COMMANDS
from tinygrad_lite.cli.memory import batch_for, parse_size
from tinygrad_lite.files import OutputExists, check_output, write_file
from tinygrad_lite.models import DigitNet
from tinygrad_lite.models.chapter6 import ConvNet
from tinygrad_lite.models.zoo import activation_bytes, build, save_checkpoint

MINE = b"a file of the user's"




def appearing(monkeypatch, *paths):
    """Make `paths` appear while training runs (after every check at the start)."""
    real = tinygrad_lite.train.fit

    def fit(*args, **kwargs):
        history = real(*args, **kwargs)
        for path in paths:
            with open(path, "wb") as f:
                f.write(MINE)
        return history
    monkeypatch.setattr(tinygrad_lite.train, "fit", fit)


def leftovers(folder):
    return [p for p in os.listdir(folder) if ".tmp-" in p]


# --- files: decided when written, checked before work starts ------------------------------------

def test_a_checkpoint_that_appears_while_training_is_kept(capsys, data, monkeypatch, tmp_path):
    appearing(monkeypatch, "digitnet.npz")
    code, out, err = train(capsys, data)
    assert code == 1 and "Epoch 0" in out
    line = one_line(err)
    assert "digitnet.npz exists" in line and "appeared" in line and ".tmp-" not in line
    assert open("digitnet.npz", "rb").read() == MINE and not leftovers(tmp_path)


def test_force_replaces_a_checkpoint_that_appears_while_training(capsys, data, monkeypatch):
    appearing(monkeypatch, "digitnet.npz")
    code, out, err = train(capsys, data, "--force")
    assert code == 0, err
    assert open("digitnet.npz", "rb").read() != MINE


def test_a_plot_that_appears_while_training_is_kept(capsys, data, monkeypatch, tmp_path):
    pytest.importorskip("matplotlib")
    appearing(monkeypatch, "p-misclassified.png")
    code, out, err = train(capsys, data, "--no-save", "--plot", "p.png")
    assert code == 1 and "p-misclassified.png exists" in one_line(err)
    assert open("p-misclassified.png", "rb").read() == MINE and not leftovers(tmp_path)


@pytest.mark.parametrize("argv, flag", [
    (["train", "--epochs", "1", "--hidden", "3", "--save", "{bad}/a.npz"], "--save"),
    (["train", "--epochs", "1", "--hidden", "3", "--no-save", "--plot", "{bad}/p.png"], "--plot"),
    (["graph", "--hidden", "3", "--out", "{bad}/g.png"], "--out"),
    (["graph", "--hidden", "3", "--out", "{bad}/g.dot"], "--out"),
])
@pytest.mark.parametrize("bad", ["/proc/self", "a-file.txt"])
def test_an_unwritable_folder_fails_at_once_naming_the_path(capsys, data, argv, flag, bad):
    """/proc/self takes no new files even for root; a path under a regular file has no folder."""
    open("a-file.txt", "w").close()
    argv = [a.format(bad=bad) for a in argv]
    start = time.monotonic()
    code, out, err = run(capsys, *argv, "--data-dir", data)
    line = one_line(err)
    assert code == 1 and line.count(flag) >= 1 and f"{bad}/" in line, line
    assert "Epoch" not in out and time.monotonic() - start < 5


def test_an_error_while_writing_names_the_users_path(capsys, data, monkeypatch):
    def refused(src, dst):
        raise PermissionError(13, "Permission denied", src, dst)
    monkeypatch.setattr(os, "replace", refused)
    code, out, err = train(capsys, data, "--force")
    line = one_line(err)
    assert code == 1 and "cannot write" in line and "digitnet.npz" in line
    assert ".tmp-" not in line


def test_check_output_can_fail(tmp_path):
    check_output(tmp_path / "new.npz")                  # fine: a new file in a writable folder
    (tmp_path / "old.npz").write_bytes(MINE)
    check_output(tmp_path / "old.npz", replace=True)
    with pytest.raises(Exception, match="exists"):
        check_output(tmp_path / "old.npz")
    with pytest.raises(Exception, match="does not take new files"):
        check_output("/proc/self/new.npz")


def test_write_file_never_replaces_a_file_that_appears(tmp_path):
    path = tmp_path / "a.bin"

    def write(f):
        path.write_bytes(MINE)       # someone else's file, between the check and the link
        f.write(b"ours")
    with pytest.raises(OutputExists, match="a.bin exists"):
        write_file(path, write, replace=False, error=ValueError)
    assert path.read_bytes() == MINE and not leftovers(tmp_path)


# --- plots: every file named and protected ------------------------------------------------------

@pytest.mark.parametrize("companion", ["p-misclassified.png", "p-weights.png"])
def test_existing_plot_companions_are_refused_before_training(capsys, data, companion):
    open(companion, "wb").write(MINE)
    code, out, err = train(capsys, data, "--no-save", "--plot", "p.png")
    assert code == 1 and f"{companion} exists" in one_line(err) and "Epoch" not in out
    assert open(companion, "rb").read() == MINE


def test_train_names_every_file_it_writes(capsys, data):
    pytest.importorskip("matplotlib")
    code, out, err = train(capsys, data, "--plot", "p.png", "--save", "m.npz")
    assert code == 0, err
    assert "writes: m.npz (--save); p.png, p-misclassified.png, p-weights.png (--plot)" in out
    assert all(os.path.exists(p) for p in ("m.npz", "p.png", "p-misclassified.png",
                                           "p-weights.png"))
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    said = " ".join(capsys.readouterr().out.split())
    assert "PATH-misclassified" in said and "PATH-weights" in said


def test_a_graph_is_not_written_over_an_existing_file(capsys, data):
    open("g.dot", "wb").write(MINE)
    code, out, err = run(capsys, "graph", "--data-dir", data, "--hidden", "3", "--out", "g.dot")
    assert code == 1 and "g.dot exists" in one_line(err) and open("g.dot", "rb").read() == MINE
    code, out, err = run(capsys, "graph", "--data-dir", data, "--hidden", "3", "--out", "g.dot",
                         "--force")
    assert code == 0 and open("g.dot").read().startswith("digraph")


# --- arguments that cannot work together: exit status 2 -----------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["train", "--optimizer", "adam", "--momentum", "0.9"], "--momentum"),
    (["train", "--model", "conv", "--cost", "cross-entropy"], "--cost log-likelihood"),
    (["train", "--model", "shallow", "--cost", "cross-entropy"], "--cost log-likelihood"),
    (["train", "--model", "conv-fc2", "--limit", "100"], "--no-expand-data"),
    (["train", "--dropout", "0.5"], "--dropout"),
    (["train", "--model", "conv", "--hidden", "5"], "--hidden"),
    (["train", "--lr-decay", "2"], "--lr-decay"),
    (["train", "--save", "x.png", "--plot", "x.png"], "x.png"),
    (["train", "--save", "p-weights.png", "--plot", "p.png"], "p-weights.png"),
    (["train", "--no-save", "--force"], "--force"),
    (["train", "--limit", "5", "--batch-size", "10"], "--limit 5"),
    (["graph", "--force"], "--force"),
    (["graph", "--engine", "matplotlib"], "--engine"),
    (["graph", "--out", "g.txt"], "--out"),
    (["gradcheck", "--order", "2", "--mode", "full"], "--mode"),
    (["gradcheck", "--order", "2", "--dtype", "float32"], "--dtype"),
    (["explain", "--checkpoint", "m.npz", "--hidden", "5"], "--hidden"),
])
def test_conflicting_arguments_exit_2_before_any_work(capsys, data, argv, message):
    code, out, err = run(capsys, *argv, "--data-dir", data)
    assert code == 2 and message in one_line(err), err
    assert "Epoch" not in out and not os.path.exists("digitnet.npz")


def test_the_cost_that_fits_trains(capsys, data):
    """The checker's other side: the combinations it steers to are accepted."""
    code, out, err = train(capsys, data, "--cost", "cross-entropy", "--no-save")
    assert code == 0, err


# --- tampered checkpoints: CheckpointError naming the file --------------------------------------

def npy(header: str, body: bytes = b"\0" * 16) -> bytes:
    h = header.encode("latin1")
    h += b" " * (64 - (10 + len(h) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(h).to_bytes(2, "little") + h + body


HEADERS = {
    "boolean shape": "{'descr': '<f4', 'fortran_order': False, 'shape': (True,), }",
    "negative dim": "{'descr': '<f4', 'fortran_order': False, 'shape': (-4,), }",
    "huge dims": f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({2**62}, {2**62}), }}",
    "huge product": f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({2**62}, 0, {2**62}),}}",
    "list shape": "{'descr': '<f4', 'fortran_order': False, 'shape': [4], }",
    "float dim": "{'descr': '<f4', 'fortran_order': False, 'shape': (4.0,), }",
    "bad dtype string": "{'descr': '<q9', 'fortran_order': False, 'shape': (4,), }",
    "object dtype": "{'descr': '|O', 'fortran_order': False, 'shape': (4,), }",
    "record dtype": "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4,), }",
    "fortran order not a bool": "{'descr': '<f4', 'fortran_order': 'yes', 'shape': (4,), }",
    "truncated data": "{'descr': '<f4', 'fortran_order': False, 'shape': (64,), }",
    "not a literal": "{'descr': '<f4', 'fortran_order': False, 'shape': (2**3,), }",
}


@pytest.mark.parametrize("case", sorted(HEADERS))
def test_a_tampered_header_is_a_checkpoint_error_naming_the_file(capsys, case, tmp_path, data):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("0.weight.npy", npy(HEADERS[case]))
    path = tmp_path / "tampered.npz"
    path.write_bytes(buf.getvalue())
    with pytest.raises(tl.CheckpointError, match="tampered.npz"):
        tl.load(path)
    code, out, err = run(capsys, "evaluate", str(path), "--data-dir", data)
    assert code == 1 and "tampered.npz" in one_line(err)


# --- memory: the batch from a budget ------------------------------------------------------------

def wide_conv(path):
    """A valid 6 MiB checkpoint: 10,000 channels, one hidden unit."""
    save_checkpoint(ConvNet(conv=[10000], hidden=[1], activation="relu", seed=0), path,
                    cost="log-likelihood")


def test_a_network_too_large_for_the_budget_is_refused(capsys, data, monkeypatch):
    wide_conv("wide.npz")
    assert os.path.getsize("wide.npz") < 8 << 20
    code, out, err = run(capsys, "evaluate", "wide.npz", "--data-dir", data,
                         "--memory-budget", "16MiB")
    line = one_line(err)
    assert code == 1 and "wide.npz" in line and "per image" in line and "16 MiB" in line
    monkeypatch.setenv("TINYGRAD_LITE_MEMORY", "20MiB")
    code, out, err = run(capsys, "evaluate", "wide.npz", "--data-dir", data)
    assert code == 1 and "TINYGRAD_LITE_MEMORY" in one_line(err)


def test_evaluation_batches_fit_the_budget(capsys, data, monkeypatch):
    wide_conv("wide.npz")
    seen = []
    real = tinygrad_lite.train.outputs

    def outputs(model, images, batch_size=1000, threads=None):
        seen.append(batch_size)
        return real(model, images, batch_size, threads)
    monkeypatch.setattr(tinygrad_lite.train, "outputs", outputs)
    code, out, err = run(capsys, "evaluate", "wide.npz", "--data-dir", data,
                         "--memory-budget", "200MiB")
    assert code == 0, err
    per_image = activation_bytes(build("conv"))  # the wide net's is far larger
    assert seen and 1 <= seen[0] < 200 * 2**20 // per_image and seen[0] < 10


def test_activation_bytes_grows_with_the_architecture():
    small, wide = ConvNet(conv=[20], hidden=[100]), ConvNet(conv=[2000], hidden=[1])
    assert activation_bytes(wide) > 50 * activation_bytes(small)
    assert activation_bytes(DigitNet((784, 3000, 10))) > activation_bytes(DigitNet())
    assert batch_for(activation_bytes(small), 2 << 30, "x") == 1000
    assert batch_for(2**20, 3 * 2**20, "x") == 3


@pytest.mark.parametrize("text", ["12XB", "-1GiB", "0", "100", "GiB", "1e3MiB"])
def test_a_bad_memory_budget_exits_2(capsys, data, text, monkeypatch):
    with pytest.raises(SystemExit) as info:
        main(["evaluate", "--memory-budget", text])
    assert info.value.code == 2 and "--memory-budget" in one_line(capsys.readouterr().err)
    monkeypatch.setenv("TINYGRAD_LITE_MEMORY", text)
    wide_conv("wide.npz")
    code, out, err = run(capsys, "evaluate", "wide.npz", "--data-dir", data)
    assert code == 2 and "TINYGRAD_LITE_MEMORY" in one_line(err)


def test_memory_sizes_parse():
    assert parse_size("2GiB") == 2 << 30 and parse_size("512 MiB") == 512 << 20
    assert parse_size("1.5GB") == 1_500_000_000 and parse_size("1048576") == 2**20


# --- what is one line and what is a bug ----------------------------------------------------------

def test_a_bug_keeps_its_traceback(data, monkeypatch):
    def broken(args):
        raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")
    monkeypatch.setitem(COMMANDS, "evaluate", broken)
    with pytest.raises(TypeError):
        main(["evaluate", "--data-dir", data])


def test_a_library_error_is_one_line(capsys, tmp_path):
    code, out, err = run(capsys, "evaluate", "--data-dir", str(tmp_path / "nowhere"),
                         str(tmp_path / "missing.npz"))
    assert code == 1 and "missing.npz" in one_line(err)
