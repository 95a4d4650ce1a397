"""Checkpoints: a state_dict (name -> array) in numpy's .npz format, read with pickling disabled."""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
from typing import Any

import numpy as np

from .tensor import Tensor

_META = "__metadata__"


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable, truncated, or not a plain .npz of arrays."""


def save(state_dict: dict[str, Any], path: str | os.PathLike,
         metadata: dict[str, Any] | None = None) -> None:
    """Write arrays (and optional JSON-able metadata) to `path` atomically: a temporary file in the
    same folder is renamed over `path`, so an interrupted save leaves nothing half-written."""
    arrays = {}
    for name, value in state_dict.items():
        arr = np.asarray(value.data if isinstance(value, Tensor) else value)
        if name == _META or arr.dtype.kind not in "fiub":
            raise TypeError(f"save: {name!r} must be a numeric array, got dtype {arr.dtype}")
        arrays[name] = arr
    if metadata is not None:
        arrays[_META] = np.array(json.dumps(metadata))
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def load(path: str | os.PathLike, with_metadata: bool = False) -> Any:
    """Read a checkpoint written by save(): name -> array (and the metadata dict if asked).

    No pickled object is ever loaded: a file that is not a zip of plain arrays raises
    CheckpointError naming the file, and nothing in it is executed."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise CheckpointError(f"cannot read checkpoint {path}: {e.strerror or e}") from None
    if magic != b"PK\x03\x04":
        raise CheckpointError(f"{path} is not a checkpoint: expected an .npz (zip) file")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as e:
        raise CheckpointError(f"{path} is not a valid checkpoint: {e}") from None
    meta = arrays.pop(_META, None)
    for name, arr in arrays.items():
        if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "fiub":
            raise CheckpointError(f"{path}: entry {name!r} is not a numeric array")
    if not with_metadata:
        return arrays
    try:
        return arrays, (json.loads(str(meta)) if meta is not None else {})
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path}: metadata is not valid JSON: {e}") from None
