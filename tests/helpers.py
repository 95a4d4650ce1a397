"""Small MNIST-shaped IDX files for tests."""
import gzip
import struct
from pathlib import Path

import numpy as np
import pytest


def idx_bytes(array: np.ndarray, type_byte: int = 0x08) -> bytes:
    header = bytes([0, 0, type_byte, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_fake_mnist(folder: Path, n_train: int = 60, n_test: int = 20, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
        (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(idx_bytes(labels))  # raw, not gz
    return folder


# --- the command line's tests: run main in a temporary folder on a small fake MNIST ----------

@pytest.fixture(autouse=True)
def in_tmp_folder(tmp_path, monkeypatch):
    """Imported by a test module, runs each of its tests in its own temporary folder."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def data(tmp_path):
    """A folder with a small fake MNIST (60 training, 20 test images)."""
    return str(write_fake_mnist(tmp_path / "mnist"))


def run(capsys, *argv):
    """(exit status, stdout, stderr) of `tinygrad-lite *argv`."""
    from tinygrad_lite.cli import main
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def train(capsys, data, *extra):
    return run(capsys, "train", "--data-dir", data, "--epochs", "1", "--hidden", "3", *extra)
