"""Checkpoints: round trips, atomic writes, and refusal of anything but plain arrays."""
import os
import pickle
import zipfile

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.models import DigitNet


def test_round_trip_with_metadata(tmp_path):
    model = DigitNet((784, 5, 10), seed=0)
    path = tmp_path / "m.npz"
    tl.save(model.state_dict(), path, metadata={"sizes": [784, 5, 10], "cost": "quadratic"})
    sd, meta = tl.load(path, with_metadata=True)
    assert meta == {"sizes": [784, 5, 10], "cost": "quadratic"}
    other = DigitNet((784, 5, 10), seed=1)
    other.load_state_dict(sd)
    for a, b in zip(model.parameters(), other.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    assert list(tl.load(path)) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert os.listdir(tmp_path) == ["m.npz"]           # no temporary file left behind


def test_module_save_and_load(tmp_path):
    a, b = DigitNet((4, 3, 2), seed=0), DigitNet((4, 3, 2), seed=1)
    a.save(tmp_path / "a.npz")
    b.load(tmp_path / "a.npz")
    np.testing.assert_array_equal(a[0].weight.data, b[0].weight.data)


class Boom:
    def __reduce__(self):
        return (os.mkdir, ("/tmp/tinygrad_lite_pwned",))


def test_pickled_payload_is_refused_and_not_executed(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, weight=np.array([Boom()], dtype=object))
    with pytest.raises(tl.CheckpointError, match="evil.npz"):
        tl.load(path)
    raw = tmp_path / "raw.npz"
    raw.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(tl.CheckpointError, match="not a checkpoint"):
        tl.load(raw)
    assert not os.path.exists("/tmp/tinygrad_lite_pwned")


def test_truncated_missing_and_foreign_files(tmp_path):
    good = tmp_path / "good.npz"
    tl.save({"w": np.ones((50, 50))}, good)
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[:300])
    for bad in (cut, tmp_path / "missing.npz"):
        with pytest.raises(tl.CheckpointError, match=bad.name):
            tl.load(bad)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(tl.CheckpointError, match="not a checkpoint"):
        tl.load(text)
    zipped = tmp_path / "other.npz"
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("readme.txt", "not an array")
    with pytest.raises(tl.CheckpointError):
        tl.load(zipped)


def test_save_refuses_non_numeric(tmp_path):
    with pytest.raises(TypeError, match="numeric"):
        tl.save({"w": np.array(["a"])}, tmp_path / "x.npz")
