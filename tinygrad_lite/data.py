"""MNIST: an IDX file reader, the bundled dataset, and an opt-in checksum-verified download.

Where `load_mnist` looks, first match wins: the `data_dir` argument, the TINYGRAD_LITE_DATA
environment variable, then the copy bundled with the package (so training works offline). The
bundled and downloaded files are checked against the SHA-256 of the original decompressed files.
"""
from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import struct
import tempfile
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

BUNDLED_DIR = Path(__file__).parent / "datasets" / "mnist"

# name -> SHA-256 of the decompressed file (the originals by LeCun, Cortes and Burges)
MNIST_FILES = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
DEFAULT_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                   "https://storage.googleapis.com/cvdf-datasets/mnist/")

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DataError(ValueError):
    """A data file is missing, corrupt, truncated, or not what was expected."""


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror or e}") from None
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as e:
        raise DataError(f"{path}: corrupt or truncated gzip data ({e})") from None


def parse_idx(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """An array from IDX bytes: 2 zero bytes, a type byte, the number of dimensions, one
    big-endian uint32 per dimension, then the data. Every field is checked against the length."""
    if len(raw) < 4 or raw[:2] != b"\x00\x00":
        magic = raw[:4].hex() or "nothing"
        raise DataError(f"{name}: not an IDX file: expected magic 0x0000TTNN (two zero bytes, "
                        f"a type byte, a dimension count), found 0x{magic}")
    type_byte, ndim = raw[2], raw[3]
    if type_byte not in _IDX_TYPES:
        raise DataError(f"{name}: unknown IDX type byte 0x{type_byte:02x}; expected one of "
                        + ", ".join(f"0x{t:02x}" for t in _IDX_TYPES))
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{name}: truncated header: {ndim} dimensions need {header} bytes, "
                        f"the file has {len(raw)}")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_TYPES[type_byte])
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        problem = "truncated" if len(raw) < expected else "extra bytes"
        raise DataError(f"{name}: dimensions {dims} of {dtype.name} need {expected} bytes, the "
                        f"file has {len(raw)} ({problem})")
    return np.frombuffer(raw, dtype, offset=header).reshape(dims)


def read_idx(path: str | os.PathLike, sha256: str | None = None) -> np.ndarray:
    """Read an IDX file (raw or gzipped); with sha256, also check the decompressed bytes."""
    path = Path(path)
    raw = _read_bytes(path)
    if sha256 is not None and hashlib.sha256(raw).hexdigest() != sha256:
        raise DataError(f"{path}: SHA-256 of the decompressed data is "
                        f"{hashlib.sha256(raw).hexdigest()}, expected {sha256}")
    return parse_idx(raw, str(path))


def _find(folder: Path, name: str) -> Path:
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    raise DataError(f"{folder}: no {name}.gz or {name} (the four MNIST IDX files are expected: "
                    + ", ".join(MNIST_FILES) + ")")


@dataclass
class MNIST:
    """Images (N, 784) float32 in [0, 1] (0 white, 1 black) and labels (N,) int64."""
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    val_images: np.ndarray | None = None
    val_labels: np.ndarray | None = None
    source: str = ""


def _images(path: Path, sha: str | None) -> np.ndarray:
    raw = read_idx(path, sha)
    if raw.ndim != 3 or raw.dtype != np.uint8:
        raise DataError(f"{path}: expected unsigned-byte images of shape (N, rows, cols), got "
                        f"{raw.dtype} of shape {raw.shape}")
    images = raw.reshape(len(raw), -1).astype(np.float32)
    images *= np.float32(1 / 255)
    return images


def _labels(path: Path, sha: str | None, n: int) -> np.ndarray:
    raw = read_idx(path, sha)
    if raw.shape != (n,) or raw.dtype != np.uint8 or (raw.size and raw.max() > 9):
        raise DataError(f"{path}: expected {n} unsigned-byte labels 0-9 (one per image), got "
                        f"{raw.dtype} of shape {raw.shape}")
    return raw.astype(np.int64)


def load_mnist(data_dir: str | os.PathLike | None = None, validation_size: int = 0,
               download: bool = False, verify: bool | None = None) -> MNIST:
    """The 60,000 training and 10,000 test images; the last `validation_size` training images
    become a validation set (Nielsen held out 10,000). `download=True` fetches missing files
    into the cache folder (see `download_mnist`). `verify` checks SHA-256 sums: by default for
    the bundled and downloaded copies; a user's folder may hold other IDX data."""
    if data_dir is None and os.environ.get("TINYGRAD_LITE_DATA"):
        data_dir = os.environ["TINYGRAD_LITE_DATA"]
    if download:
        folder = download_mnist(data_dir)
    elif data_dir is not None:
        folder = Path(data_dir)
        if not folder.is_dir():
            raise DataError(f"data folder {folder} does not exist")
    else:
        folder = BUNDLED_DIR
    verify = verify if verify is not None else (download or data_dir is None)
    sha = {name: (digest if verify else None) for name, digest in MNIST_FILES.items()}
    x_train = _images(_find(folder, "train-images-idx3-ubyte"), sha["train-images-idx3-ubyte"])
    y_train = _labels(_find(folder, "train-labels-idx1-ubyte"), sha["train-labels-idx1-ubyte"],
                      len(x_train))
    x_test = _images(_find(folder, "t10k-images-idx3-ubyte"), sha["t10k-images-idx3-ubyte"])
    y_test = _labels(_find(folder, "t10k-labels-idx1-ubyte"), sha["t10k-labels-idx1-ubyte"],
                     len(x_test))
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataError(f"{folder}: training images are {x_train.shape[1:]} pixels, test images "
                        f"{x_test.shape[1:]}")
    if not 0 <= validation_size < len(x_train):
        raise ValueError(f"validation_size must be in [0, {len(x_train)}), got {validation_size}")
    data = MNIST(x_train, y_train, x_test, y_test, source=str(folder))
    if validation_size:
        cut = len(x_train) - validation_size
        data.val_images, data.val_labels = x_train[cut:], y_train[cut:]
        data.train_images, data.train_labels = x_train[:cut], y_train[:cut]
    return data


def cache_dir() -> Path:
    """$XDG_CACHE_HOME/tinygrad_lite/mnist, or ~/.cache/tinygrad_lite/mnist."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tinygrad_lite" / "mnist"


def _mirrors() -> list[str]:
    configured = os.environ.get("TINYGRAD_LITE_MNIST_MIRRORS", "")
    return configured.replace(",", " ").split() or list(DEFAULT_MIRRORS)


def _fetch(url: str, tmp: Path, timeout: float) -> None:
    with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
        expected = response.headers.get("Content-Length")
        size = 0
        while chunk := response.read(1 << 16):
            out.write(chunk)
            size += len(chunk)
    if expected is not None and size != int(expected):
        raise DataError(f"connection closed after {size} of {expected} bytes")


def download_mnist(dest: str | os.PathLike | None = None, mirrors: Iterable[str] | None = None,
                   files: dict[str, str] | None = None, timeout: float = 30.0) -> Path:
    """Fetch `<mirror><name>.gz` for each missing file into `dest` (default: cache_dir()).

    Each download goes to a temporary file in `dest`, is checked against the SHA-256 of its
    decompressed content, and only then renamed into place; a failed, interrupted or corrupt
    download leaves nothing behind and the next mirror is tried. Mirrors come from the argument,
    else TINYGRAD_LITE_MNIST_MIRRORS (space- or comma-separated URL prefixes), else defaults.
    """
    folder = Path(dest) if dest is not None else cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    files = MNIST_FILES if files is None else files
    mirrors = list(mirrors) if mirrors is not None else _mirrors()
    for name, digest in files.items():
        target = folder / f"{name}.gz"
        if target.is_file():
            try:
                read_idx(target, digest)
                continue
            except DataError:
                target.unlink()  # a corrupt leftover: fetch it again
        failures = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + f"/{name}.gz"
            fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{name}-", suffix=".part")
            os.close(fd)
            tmp = Path(tmp_name)
            try:
                _fetch(url, tmp, timeout)
                read_idx(tmp, digest)
                os.replace(tmp, target)
                break
            except (OSError, DataError, ValueError, http.client.HTTPException) as e:
                failures.append(f"{url}: {e}")
            finally:
                tmp.unlink(missing_ok=True)
        else:
            raise DataError(f"could not download {name}.gz:\n  " + "\n  ".join(failures))
    return folder
