"""MNIST: an IDX file reader, the bundled dataset, and an opt-in checksum-verified download.
Tiny Shakespeare: the bundled text, its character vocabulary, its split and random batches.

Where `load_mnist` looks, first match wins: the `data_dir` argument, the TINYGRAD_LITE_DATA
environment variable, then the copy bundled with the package (so training works offline). The
bundled and downloaded files are checked against the SHA-256 of the original decompressed files.
"""
from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import math
import os
import socket
import stat
import struct
import threading
import time
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterable

import numpy as np

from .files import kind, size_text, write_file

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


MAX_IDX_BYTES = 1 << 30  # what read_idx accepts by default: 1 GiB, 20 times MNIST's largest file
_BOMB_RATIO = 100        # a gzipped file may expand this much (beyond 64 MiB, not more)
_CHUNK = 1 << 24


def _read_idx(stream: BinaryIO, name: str, sha256: str | None, max_bytes: int,
              gz_size: int | None = None, raw_size: int | None = None) -> np.ndarray:
    """Header first; the declared size is checked before the data is read, in chunks."""
    def read(n: int) -> bytes:
        try:
            return stream.read(n)
        except (EOFError, OSError, zlib.error) as e:
            if gz_size is None:
                raise DataError(f"cannot read {name}: {getattr(e, 'strerror', None) or e}") \
                    from None
            raise DataError(f"{name}: corrupt or truncated gzip data ({e})") from None

    head = read(4)
    if len(head) < 4 or head[:2] != b"\x00\x00":
        magic = head.hex() or "nothing"
        raise DataError(f"{name}: not an IDX file: expected magic 0x0000TTNN (two zero bytes, "
                        f"a type byte, a dimension count), found 0x{magic}")
    type_byte, ndim = head[2], head[3]
    if type_byte not in _IDX_TYPES:
        raise DataError(f"{name}: unknown IDX type byte 0x{type_byte:02x}; expected one of "
                        + ", ".join(f"0x{t:02x}" for t in _IDX_TYPES))
    sizes = read(4 * ndim)
    header = 4 + 4 * ndim
    if len(sizes) < 4 * ndim:
        raise DataError(f"{name}: truncated header: {ndim} dimensions need {header} bytes, "
                        f"the file has {4 + len(sizes)}")
    dims = struct.unpack(f">{ndim}I", sizes)
    dtype = np.dtype(_IDX_TYPES[type_byte])
    nbytes = math.prod(dims) * dtype.itemsize
    if nbytes > max_bytes:
        raise DataError(f"{name}: the header declares dimensions {dims} of {dtype.name}, "
                        f"{nbytes:,} bytes, more than the {size_text(max_bytes)} limit for "
                        "IDX data (read_idx's max_bytes)")
    if gz_size is not None and nbytes > max(64 << 20, _BOMB_RATIO * gz_size):
        raise DataError(f"{name}: the header declares {nbytes:,} bytes, more than "
                        f"{_BOMB_RATIO} times the {gz_size:,}-byte gzip file: refusing a likely "
                        "decompression bomb")
    expected = header + nbytes
    if raw_size is not None and raw_size != expected:
        problem = "truncated" if raw_size < expected else "extra bytes"
        raise DataError(f"{name}: dimensions {dims} of {dtype.name} need {expected} bytes, the "
                        f"file has {raw_size} ({problem})")
    flat = _read_body(read, name, nbytes, header,
                      f"dimensions {dims} of {dtype.name} need {expected} bytes")
    if sha256 is not None:
        digest = hashlib.sha256(head + sizes)
        digest.update(memoryview(flat))
        if digest.hexdigest() != sha256:
            raise DataError(f"{name}: its SHA-256 differs from the expected one (decompressed "
                            f"data {digest.hexdigest()}, expected {sha256})")
    return flat.view(dtype).reshape(dims)


def _read_body(read: Callable[[int], bytes], name: str, nbytes: int, header: int,
               need: str) -> np.ndarray:
    """The IDX data after its header, read in chunks: exactly nbytes (`need` says so)."""
    try:
        flat = np.empty(nbytes, np.uint8)
    except MemoryError:
        raise DataError(f"{name}: not enough memory for its {nbytes:,} bytes of data") from None
    view, got = memoryview(flat), 0
    while got < nbytes:
        chunk = read(min(_CHUNK, nbytes - got))
        if not chunk:
            raise DataError(f"{name}: {need}, the file has {header + got} (truncated)")
        view[got:got + len(chunk)] = chunk
        got += len(chunk)
    if read(1):
        raise DataError(f"{name}: {need}, the file has more (extra bytes)")
    return flat


def parse_idx(raw: bytes, name: str = "<bytes>", max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """An array from IDX bytes: 2 zero bytes, a type byte, the number of dimensions, one
    big-endian uint32 per dimension, then the data. Every field is checked against the length."""
    return _read_idx(io.BytesIO(raw), name, None, max_bytes, raw_size=len(raw))


def read_idx(path: str | os.PathLike, sha256: str | None = None,
             max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """Read an IDX file (raw or gzipped); with sha256, also check the decompressed bytes.

    The header's declared size is checked before anything is decompressed or allocated: more
    than `max_bytes` (default 1 GiB), or a gzip file expanding more than 100-fold past 64 MiB,
    is refused; gzip data is read incrementally."""
    path = Path(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise DataError(f"{path} is a {kind(info.st_mode)}, not an IDX file")
        f = open(path, "rb")
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror or e}") from None
    with f:
        try:
            gzipped = f.peek(2)[:2] == b"\x1f\x8b"
        except OSError as e:
            raise DataError(f"cannot read {path}: {e.strerror or e}") from None
        if not gzipped:
            return _read_idx(f, str(path), sha256, max_bytes, raw_size=info.st_size)
        with gzip.GzipFile(fileobj=f, mode="rb") as stream:
            return _read_idx(stream, str(path), sha256, max_bytes, gz_size=info.st_size)


def _existing(folder: Path, name: str) -> Path | None:
    """The file load_mnist reads for `name`: `<name>.gz` first, else `<name>`, else None."""
    return next((p for p in (folder / f"{name}.gz", folder / name) if os.path.lexists(p)), None)


def _find(folder: Path, name: str) -> Path:
    found = _existing(folder, name)
    if found is None:
        raise DataError(f"{folder}: no {name}.gz or {name} (the four MNIST IDX files are "
                        "expected: " + ", ".join(MNIST_FILES) + ")")
    return found


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
    if raw.ndim != 3 or raw.dtype != np.uint8 or raw.size == 0:
        raise DataError(f"{path}: expected unsigned-byte images of shape (N, rows, cols), at "
                        f"least one of at least one pixel, got {raw.dtype} of shape {raw.shape}")
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
    into that folder or the cache folder (see `download_mnist`). `verify` checks SHA-256 sums:
    by default for the bundled and downloaded copies; a user's folder may hold other IDX data."""
    origin = ""
    if data_dir is None and os.environ.get("TINYGRAD_LITE_DATA"):
        data_dir, origin = os.environ["TINYGRAD_LITE_DATA"], " (from TINYGRAD_LITE_DATA)"
    if download:
        folder = download_mnist(data_dir)
    elif data_dir is not None:
        folder = Path(data_dir)
        if not folder.is_dir():
            problem = "is not a folder" if folder.exists() else "does not exist"
            raise DataError(f"data folder {folder}{origin} {problem}")
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


def expand_mnist(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nielsen's expanded training set: the images, then the same images shifted by one pixel
    up, down, left and right (the pixels shifted in are blank), with their labels: 5N images.
    Images are rows of a square picture, (N, side * side)."""
    images, labels = np.asarray(images), np.asarray(labels)
    n, pixels = images.shape if images.ndim == 2 else (0, -1)
    side = math.isqrt(max(pixels, 0))
    if images.ndim != 2 or side * side != pixels or pixels == 0:
        raise ValueError(f"expand_mnist: images must be (N, side * side) rows of square "
                         f"pictures, got shape {images.shape}")
    if labels.shape != (n,):
        raise ValueError(f"expand_mnist: need one label per image, shape ({n},), got shape "
                         f"{labels.shape}")
    square = images.reshape(n, side, side)
    out = np.zeros((5, n, side, side), images.dtype)
    out[0] = square
    out[1, :, :-1] = square[:, 1:]        # up: row r shows row r + 1
    out[2, :, 1:] = square[:, :-1]        # down
    out[3, :, :, :-1] = square[:, :, 1:]  # left
    out[4, :, :, 1:] = square[:, :, :-1]  # right
    return out.reshape(5 * n, pixels), np.tile(labels, 5)


def cache_dir() -> Path:
    """$XDG_CACHE_HOME/tinygrad_lite/mnist, or ~/.cache/tinygrad_lite/mnist."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the XDG rule: a relative value is ignored
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:
            raise DataError("no cache folder: set HOME or XDG_CACHE_HOME, or give a data "
                            "folder") from None
    return Path(base) / "tinygrad_lite" / "mnist"


def _mirrors() -> list[str]:
    configured = os.environ.get("TINYGRAD_LITE_MNIST_MIRRORS", "")
    return configured.replace(",", " ").split() or list(DEFAULT_MIRRORS)


class _Deadline:
    """Shuts down every HTTP(S) socket opened for the download once `seconds` have passed, so
    neither a silent nor a trickling server holds the download past it."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.end = seconds, time.monotonic() + seconds
        self.expired, self.sockets, self.lock = False, [], threading.RLock()
        self.timer = threading.Timer(seconds, self.expire)
        self.timer.daemon = True
        self.timer.start()

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def watch(self, sock: socket.socket) -> socket.socket:
        with self.lock:
            self.sockets.append(sock)
            if self.expired:
                self.expire()
        return sock

    def expire(self) -> None:
        with self.lock:
            self.expired = True
            for sock in self.sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def opener(self) -> urllib.request.OpenerDirector:
        deadline = self

        class Watched:
            def do_open(self, http_class, req, **kwargs):  # type: ignore[no-untyped-def]
                class Connection(http_class):  # type: ignore[misc, valid-type]
                    def connect(self) -> None:  # the TCP socket, then (HTTPS) the TLS one
                        create = self._create_connection
                        self._create_connection = lambda *a, **k: deadline.watch(create(*a, **k))
                        super().connect()
                        deadline.watch(self.sock)
                return super().do_open(Connection, req, **kwargs)  # type: ignore[misc]

        class HTTP(Watched, urllib.request.HTTPHandler):
            pass

        class HTTPS(Watched, urllib.request.HTTPSHandler):
            pass

        return urllib.request.build_opener(HTTP, HTTPS)


def _fetch(opener: urllib.request.OpenerDirector, url: str, out: BinaryIO, timeout: float,
           max_bytes: int) -> None:
    with opener.open(url, timeout=timeout) as response:
        expected = response.headers.get("Content-Length")
        if expected is not None and expected.isdigit() and int(expected) > max_bytes:
            raise DataError(f"the server announces {int(expected):,} bytes, more than the "
                            f"{size_text(max_bytes)} limit (download_mnist's max_bytes)")
        size = 0
        while chunk := response.read(1 << 16):
            size += len(chunk)
            if size > max_bytes:
                raise DataError(f"more than the {size_text(max_bytes)} limit (download_mnist's "
                                "max_bytes)")
            out.write(chunk)
    if expected is not None and expected.isdigit() and size != int(expected):
        raise DataError(f"connection closed after {size} of {expected} bytes")


def download_mnist(dest: str | os.PathLike | None = None, mirrors: Iterable[str] | None = None,
                   files: dict[str, str] | None = None, timeout: float = 30.0,
                   deadline: float = 600.0, max_bytes: int = 64 << 20) -> Path:
    """Fetch `<mirror><name>.gz` for each missing file into `dest` (default: cache_dir()).

    A file already there (`<name>.gz`, else `<name>`) is checked against its SHA-256 and kept;
    one that differs raises DataError naming it, and is never removed or replaced. Each download
    goes to a temporary file in `dest`, is checked (size, then the SHA-256 of its decompressed
    content), and only then linked into place where no file exists; a failed, interrupted
    (SIGTERM included) or corrupt download leaves nothing behind and the next mirror is tried.
    `timeout` bounds each wait on a socket, `deadline` the whole download (seconds), `max_bytes`
    each response. Mirrors come from the argument, else TINYGRAD_LITE_MNIST_MIRRORS (space- or
    comma-separated URL prefixes), else defaults. New files get mode 0666 minus the umask.
    """
    for arg, value in (("timeout", timeout), ("deadline", deadline), ("max_bytes", max_bytes)):
        if not value > 0:
            raise ValueError(f"download_mnist: {arg} must be positive, got {value!r}")
    folder = Path(dest) if dest is not None else cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot create data folder {folder}: {e.strerror or e}") from None
    files = MNIST_FILES if files is None else files
    mirrors = list(mirrors) if mirrors is not None else _mirrors()
    clock = _Deadline(deadline)
    try:
        for name, digest in files.items():
            _download_one(folder, name, digest, mirrors, clock, timeout, max_bytes)
    finally:
        clock.timer.cancel()
    return folder


def _download_one(folder: Path, name: str, digest: str, mirrors: list[str], clock: _Deadline,
                  timeout: float, max_bytes: int) -> None:
    def keep_or_refuse(path: Path) -> None:
        try:
            read_idx(path, digest)
        except DataError as e:
            reason = str(e).removeprefix(f"{path}: ")
            raise DataError(f"{path} is not MNIST's {name}: its SHA-256 check failed ({reason}); "
                            "it was not downloaded here and is left as it is: move it away or "
                            "choose another folder") from None

    existing = _existing(folder, name)
    if existing is not None:
        return keep_or_refuse(existing)
    target, failures, opener = folder / f"{name}.gz", [], clock.opener()
    for mirror in mirrors:
        url = mirror.rstrip("/") + f"/{name}.gz"
        if clock.remaining() <= 0:
            break
        wait = min(timeout, clock.remaining())
        try:
            write_file(target, lambda out: _fetch(opener, url, out, wait, max_bytes),  # noqa: B023
                       replace=False, error=DataError, check=lambda tmp: read_idx(tmp, digest))
            return
        except FileExistsError:  # someone else put a file there meanwhile
            return keep_or_refuse(target)
        except (OSError, DataError, ValueError, http.client.HTTPException) as e:
            if clock.remaining() <= 0:
                raise DataError(f"downloading {url} did not finish within the {clock.seconds:g} s "
                                "deadline (download_mnist's deadline)") from None
            failures.append(f"{url}: {e}")
    if clock.remaining() <= 0:
        raise DataError(f"the download of {name}.gz did not finish within the {clock.seconds:g} s "
                        "deadline (download_mnist's deadline)")
    raise DataError(f"could not download {name}.gz: " + "; ".join(failures))


# ---------------------------------------------------------------------------------------------
# Tiny Shakespeare: characters in, characters out

SHAKESPEARE_FILE = Path(__file__).parent / "datasets" / "tinyshakespeare" / "input.txt.gz"
SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
MAX_TEXT_BYTES = 64 << 20  # what load_shakespeare reads at most, decompressed: 60 times the text


@dataclass
class Text:
    """A text and its character vocabulary: `chars` sorted, `stoi` char -> id, `itos` id -> char;
    `train` the first 90% of the encoded text and `val` the rest (int64 ids)."""
    text: str
    chars: list[str]
    stoi: dict[str, int]
    itos: dict[int, str]
    train: np.ndarray
    val: np.ndarray
    source: str = ""

    @property
    def vocab_size(self) -> int:
        """The number of distinct characters."""
        return len(self.chars)

    def encode(self, s: str) -> np.ndarray:
        """Character ids, int64 (s of length T gives shape (T,)); a character outside the
        vocabulary is a ValueError naming it and its position."""
        codes = np.frombuffer(s.encode("utf-32-le"), dtype="<u4")
        vocab = np.array([ord(c) for c in self.chars], dtype="<u4")  # sorted, as chars is
        ids = np.minimum(np.searchsorted(vocab, codes), len(vocab) - 1)
        bad = np.flatnonzero(vocab[ids] != codes)
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"character {s[i]!r} at position {i} is not in the vocabulary "
                             f"of {len(self.chars)} characters")
        return ids.astype(np.int64)

    def decode(self, ids: list[int] | np.ndarray) -> str:
        """The string of the ids (each in [0, vocab_size))."""
        ids = np.asarray(ids, dtype=np.int64).ravel()
        bad = np.flatnonzero((ids < 0) | (ids >= len(self.chars)))
        if bad.size:
            raise ValueError(f"id {int(ids[bad[0]])} at position {int(bad[0])} is not in "
                             f"[0, {len(self.chars)})")
        return "".join(self.chars[i] for i in ids.tolist())


def _read_text_bytes(path: Path) -> bytes:
    """The bytes of a text file, gunzipped when it starts with gzip's magic; at most
    MAX_TEXT_BYTES; every failure a DataError naming the file."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise DataError(f"{path} is a {kind(info.st_mode)}, not a text file")
        with open(path, "rb") as f:
            gzipped = f.peek(2)[:2] == b"\x1f\x8b"
            stream = gzip.GzipFile(fileobj=f, mode="rb") if gzipped else f
            raw = stream.read(MAX_TEXT_BYTES + 1)
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise DataError(f"{path}: corrupt or truncated gzip data ({e})") from None
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror or e}") from None
    if len(raw) > MAX_TEXT_BYTES:
        raise DataError(f"{path}: more than {size_text(MAX_TEXT_BYTES)} of text (decompressed)")
    return raw


def load_shakespeare(path: str | os.PathLike | None = None, verify: bool = True) -> Text:
    """Tiny Shakespeare (1,115,394 characters, 65 distinct), bundled; or the text at `path`
    (plain or gzipped UTF-8). With `verify` the decompressed bytes must have tiny Shakespeare's
    SHA-256; `verify=False` accepts any text, whose vocabulary is its own characters.
    The split is nanoGPT's: train = ids[:int(0.9 n)], val = the rest."""
    path = SHAKESPEARE_FILE if path is None else Path(path)
    raw = _read_text_bytes(path)
    if verify:
        digest = hashlib.sha256(raw).hexdigest()
        if digest != SHAKESPEARE_SHA256:
            raise DataError(f"{path}: its SHA-256 differs from tiny Shakespeare's (decompressed "
                            f"data {digest}, {len(raw):,} bytes; expected {SHAKESPEARE_SHA256}, "
                            "1,115,394 bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e})") from None
    if len(text) < 2:
        raise DataError(f"{path}: a text of at least two characters is needed, got {len(text)}")
    chars = sorted(set(text))
    data = Text(text, chars, {c: i for i, c in enumerate(chars)}, dict(enumerate(chars)),
                np.empty(0, np.int64), np.empty(0, np.int64), source=str(path))
    ids = data.encode(text)
    cut = int(0.9 * len(ids))
    data.train, data.val = ids[:cut], ids[cut:]
    return data


def get_batch(data: np.ndarray, block_size: int, batch_size: int,
              rng: np.random.Generator | int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """nanoGPT's random batch: starts i uniform in [0, len(data) - block_size), x[b] =
    data[i:i + block_size], y[b] = data[i + 1:i + 1 + block_size] (the next character);
    both (batch_size, block_size) int64."""
    data = np.asarray(data)
    if data.ndim != 1:
        raise ValueError(f"get_batch: data must be 1-D ids, got shape {data.shape}")
    if block_size < 1 or batch_size < 1:
        raise ValueError(f"get_batch: block_size and batch_size must be positive, got "
                         f"{block_size}, {batch_size}")
    if len(data) <= block_size:
        raise ValueError(f"get_batch: {len(data)} ids cannot give a block of {block_size} and "
                         "its next character")
    rng = np.random.default_rng(rng)
    starts = rng.integers(0, len(data) - block_size, size=batch_size)
    index = starts[:, None] + np.arange(block_size)
    return data[index].astype(np.int64), data[index + 1].astype(np.int64)
