"""Checkpoints: a state_dict (name -> array) in numpy's .npz format, read with pickling disabled."""
from __future__ import annotations

import json
import math
import os
import stat
import zipfile
import zlib
from typing import Any

import numpy as np

from .files import OutputExists, kind, size_text, write_file
from .tensor import Tensor

_META = "__metadata__"
MAX_BYTES = 2 << 30     # what load() accepts by default: 2 GiB of arrays
_BOMB_RATIO = 100       # a compressed entry may expand this much (beyond 64 MiB, not more)
_CHUNK = 1 << 24


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable, truncated, or not a plain .npz of arrays."""


class CheckpointExists(CheckpointError, FileExistsError):
    """save(replace=False) found a file at the path when linking the checkpoint in."""


def _check_header(shape: Any, fortran: Any, dtype: Any, where: str) -> None:
    """CheckpointError unless an .npy header declares a plain array: a tuple of non-negative
    ints (not bools) as shape, a bool order, a numeric dtype without objects."""
    if (not isinstance(shape, tuple) or
            not all(type(n) is int and n >= 0 for n in shape)):
        raise CheckpointError(f"{where} has a malformed .npy header: shape {shape!r} is not a "
                              "tuple of non-negative integers")
    if type(fortran) is not bool:
        raise CheckpointError(f"{where} has a malformed .npy header: fortran_order "
                              f"{fortran!r} is not True or False")
    if not isinstance(dtype, np.dtype):
        raise CheckpointError(f"{where} has a malformed .npy header: descr {dtype!r}")


def save(state_dict: dict[str, Any], path: str | os.PathLike,
         metadata: dict[str, Any] | None = None, replace: bool = True) -> None:
    """Write arrays (and optional JSON-able metadata) to `path` atomically.

    A temporary file in the same folder is written, fsynced and renamed over `path`, so an
    interrupted save (an exception, SIGTERM, a crash) never leaves a half-written checkpoint.
    If `path` is a symbolic link, the file it points to is replaced and the link kept; a
    directory, device, FIFO or socket at `path` raises CheckpointError. The file gets the usual
    permissions (0666 minus the umask). replace=False: a file at `path` when the checkpoint is
    linked in (even one that appeared while training ran) is left as it is, and
    files.OutputExists (a CheckpointError) is raised."""
    arrays = {}
    for name, value in state_dict.items():
        arr = np.asarray(value.data if isinstance(value, Tensor) else value)
        if not isinstance(name, str) or name == _META or arr.dtype.kind not in "fiub":
            raise TypeError(f"save: {name!r} must be a numeric array, got dtype {arr.dtype}")
        arrays[name] = arr
    if metadata is not None:
        try:
            arrays[_META] = np.array(json.dumps(metadata))
        except (TypeError, ValueError) as e:
            raise TypeError(f"save: metadata must be JSON-serialisable: {e}") from None

    def write(f: Any) -> None:
        with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
            for name, arr in arrays.items():
                with z.open(name + ".npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, arr, allow_pickle=False)

    try:
        write_file(path, write, replace=replace, error=CheckpointError)
    except OutputExists as e:
        raise CheckpointExists(str(e)) from None
    except OSError as e:  # writing the arrays: disk full, an I/O error
        raise CheckpointError(f"cannot write checkpoint {os.fspath(path)}: "
                              f"{e.strerror or e}") from None


def _read_entry(z: zipfile.ZipFile, info: zipfile.ZipInfo, path: str, max_bytes: int
                ) -> np.ndarray:
    """One .npy member: header checked (dtype, declared size) before anything is allocated."""
    name = info.filename[:-4]
    with z.open(info) as member:
        try:
            version = np.lib.format.read_magic(member)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}[version]
            shape, fortran, dtype = read_header(member)
        except Exception as e:  # numpy parses the header as a Python literal: any error is ours
            raise CheckpointError(f"{path}: entry {name!r} has a malformed .npy header "
                                  f"({type(e).__name__}: {e})") from None
        _check_header(shape, fortran, dtype, f"{path}: entry {name!r}")
        if dtype.hasobject or dtype.kind not in ("fiubU" if name == _META else "fiub"):
            raise CheckpointError(f"{path}: entry {name!r} is not a numeric array "
                                  f"(dtype {dtype})")
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes > max_bytes:
            raise CheckpointError(f"{path}: entry {name!r} declares shape {shape} of {dtype}, "
                                  f"{nbytes:,} bytes, more than the {size_text(max_bytes)} limit "
                                  "for checkpoints (load's max_bytes)")
        stored = info.file_size - member.tell()
        if nbytes != stored:
            raise CheckpointError(f"{path}: entry {name!r} declares shape {shape} of {dtype} "
                                  f"({nbytes:,} bytes) but holds {stored:,} bytes")
        flat = np.empty(nbytes, np.uint8)
        view, got = memoryview(flat), 0
        while got < nbytes:
            n = member.readinto(view[got:got + _CHUNK])
            if not n:
                raise CheckpointError(f"{path}: entry {name!r} is truncated")
            got += n
    return flat.view(dtype).reshape(shape, order="F" if fortran else "C")


def _read_entries(z: zipfile.ZipFile, path: str, file_size: int, max_bytes: int
                  ) -> dict[str, np.ndarray]:
    """Every entry of an open checkpoint, each checked before it is read (see load)."""
    entries = z.infolist()
    total = sum(entry.file_size for entry in entries)
    if total > max_bytes:
        raise CheckpointError(f"{path}: its entries declare {total:,} bytes in all, more than "
                              f"the {size_text(max_bytes)} limit for checkpoints (load's "
                              "max_bytes)")
    arrays: dict[str, np.ndarray] = {}
    for entry in entries:
        name = entry.filename[:-4]
        if not entry.filename.endswith(".npy") or name in arrays:
            raise CheckpointError(f"{path}: entry {entry.filename!r} is not an .npy array or "
                                  "appears twice")
        if entry.compress_size > file_size:
            raise CheckpointError(f"{path}: entry {name!r} claims {entry.compress_size:,} "
                                  f"bytes, the file has {file_size:,} (truncated)")
        if entry.file_size > max(64 << 20, _BOMB_RATIO * entry.compress_size):
            raise CheckpointError(
                f"{path}: entry {name!r} declares {entry.file_size:,} bytes compressed into "
                f"{entry.compress_size:,}, more than {_BOMB_RATIO} times: refusing a likely "
                "decompression bomb")
        arrays[name] = _read_entry(z, entry, path, max_bytes)
    return arrays


def load(path: str | os.PathLike, with_metadata: bool = False,
         max_bytes: int = MAX_BYTES) -> Any:
    """Read a checkpoint written by save(): name -> array (and the metadata dict if asked).

    No pickled object is ever loaded: a file that is not a zip of plain numeric arrays raises
    CheckpointError naming the file, and nothing in it is executed. Each entry's declared size
    is checked before it is read: more than `max_bytes` in all (default 2 GiB), or a compressed
    entry expanding more than 100-fold past 64 MiB, is refused."""
    path = os.fspath(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise CheckpointError(f"{path} is a {kind(info.st_mode)}, not a checkpoint file")
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise CheckpointError(f"cannot read checkpoint {path}: {e.strerror or e}") from None
    if magic != b"PK\x03\x04":
        raise CheckpointError(f"{path} is not a checkpoint: expected an .npz (zip) file")
    try:
        with zipfile.ZipFile(path) as z:
            arrays = _read_entries(z, path, info.st_size, max_bytes)
    except CheckpointError:
        raise
    except MemoryError:
        raise CheckpointError(f"{path}: not enough memory for its arrays") from None
    except (ValueError, OSError, EOFError, KeyError, RuntimeError, NotImplementedError,
            zipfile.BadZipFile, zlib.error) as e:
        raise CheckpointError(f"{path} is not a valid checkpoint: {e}") from None
    meta = arrays.pop(_META, None)
    if not with_metadata:
        return arrays
    if meta is None:
        return arrays, {}
    try:
        if meta.shape != () or meta.dtype.kind != "U":
            raise ValueError("not a string")
        decoded = json.loads(str(meta[()]))
    except (ValueError, RecursionError) as e:
        raise CheckpointError(f"{path}: metadata is not valid JSON: {e}") from None
    if not isinstance(decoded, dict):
        raise CheckpointError(f"{path}: metadata is not a JSON object, got "
                              f"{type(decoded).__name__}")
    return arrays, decoded
