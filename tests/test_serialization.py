"""Checkpoints: round trips, atomic writes, and refusal of anything but plain arrays."""
import io
import os
import pickle
import signal
import stat
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.models import DigitNet
from tinygrad_lite.models.zoo import load_checkpoint, save_checkpoint


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


# --- saving: atomic, a regular file only, umask permissions, temporary files cleaned ----------

def _names(folder):
    return sorted(os.listdir(folder))


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600)])
def test_saved_file_permissions_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        tl.save({"w": np.ones(3)}, tmp_path / "m.npz")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "m.npz").st_mode) == mode


def test_save_through_a_symlink_replaces_its_target_and_keeps_the_link(tmp_path):
    real, link = tmp_path / "real.npz", tmp_path / "link.npz"
    tl.save({"w": np.zeros(2)}, real)
    link.symlink_to(real.name)
    tl.save({"w": np.ones(2)}, link)
    assert link.is_symlink() and os.readlink(link) == real.name
    np.testing.assert_array_equal(tl.load(real)["w"], np.ones(2))
    assert _names(tmp_path) == ["link.npz", "real.npz"]


def test_save_refuses_directories_fifos_and_devices(tmp_path):
    (tmp_path / "dir.npz").mkdir()
    os.mkfifo(tmp_path / "fifo.npz")
    (tmp_path / "null.npz").symlink_to(os.devnull)
    for name, kind in (("dir.npz", "directory"), ("fifo.npz", "FIFO"),
                       ("null.npz", "character device")):
        with pytest.raises(tl.CheckpointError, match=f"{name} is a {kind}"):
            tl.save({"w": np.ones(2)}, tmp_path / name)
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fifo.npz").st_mode)
    assert (tmp_path / "dir.npz").is_dir() and stat.S_ISCHR(os.stat(os.devnull).st_mode)
    assert _names(tmp_path) == ["dir.npz", "fifo.npz", "null.npz"]
    with pytest.raises(tl.CheckpointError, match="folder .*missing does not exist"):
        tl.save({"w": np.ones(2)}, tmp_path / "missing" / "m.npz")


def test_failed_save_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    tl.save({"w": np.zeros(2)}, path)

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(np.lib.format, "write_array", fail)
    with pytest.raises(tl.CheckpointError, match="cannot write checkpoint .*m.npz: No space"):
        tl.save({"w": np.ones(2)}, path)
    assert _names(tmp_path) == ["m.npz"]
    np.testing.assert_array_equal(tl.load(path)["w"], np.zeros(2))


SIGTERM_MID_SAVE = """
import os, signal, sys
import numpy as np
import tinygrad_lite as tl
real = np.lib.format.write_array
def write(*args, **kwargs):
    real(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGTERM)
np.lib.format.write_array = write
tl.save({"w": np.ones(3)}, sys.argv[1])
"""


def test_sigterm_during_save_removes_the_temporary_and_still_terminates(tmp_path):
    path = tmp_path / "m.npz"
    tl.save({"w": np.zeros(3)}, path)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-c", SIGTERM_MID_SAVE, str(path)], cwd=root,
                          capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGTERM, proc.stderr
    assert _names(tmp_path) == ["m.npz"]
    np.testing.assert_array_equal(tl.load(path)["w"], np.zeros(3))


class Stop(Exception):
    pass


def test_sigterm_handler_is_restored_and_called(tmp_path, monkeypatch):
    def handler(signum, frame):
        raise Stop
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        monkeypatch.setattr(np.lib.format, "write_array",
                            lambda *a, **k: signal.raise_signal(signal.SIGTERM))
        with pytest.raises(Stop):
            tl.save({"w": np.ones(2)}, tmp_path / "m.npz")
        assert signal.getsignal(signal.SIGTERM) is handler
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert _names(tmp_path) == []


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".m.npz.tmp-{dead.pid}-0123abcd"
    running = tmp_path / ".m.npz.tmp-1-0123abcd"          # pid 1 is alive
    mine = tmp_path / ".m.npz.tmp-notes"                 # not our pattern: a user's file
    other = tmp_path / f".x.npz.tmp-{dead.pid}-0123abcd"  # another name: left for its own save
    for p in (stale, running, mine, other):
        p.write_bytes(b"partial")
    tl.save({"w": np.ones(2)}, tmp_path / "m.npz")
    assert _names(tmp_path) == sorted(p.name for p in (running, mine, other)) + ["m.npz"]


# --- loading hostile checkpoints: a CheckpointError naming the file, nothing huge allocated ------

def npy_member(header: dict, payload: bytes = b"") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + payload


def zip_of(path, members: dict, method=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


@pytest.mark.parametrize("members,message", [
    ({"w.npy": npy_member({"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)},
                          bytes(16))},
     r"declares shape \(1000000, 1000000\) of float64, 8,000,000,000,000 bytes, more than the "
     "2 GiB limit"),
    ({"w.npy": npy_member({"descr": "<f8", "fortran_order": False, "shape": (100,)}, bytes(8))},
     r"declares shape \(100,\) of float64 \(800 bytes\) but holds 8 bytes"),
    ({"w.npy": b"\x93NUMPY\x01\x00\x10\x00{'descr': 'nonsense"}, "malformed .npy header"),
    ({"w.npy": b"\x93NUMPY\x09\x00rest"}, "malformed .npy header"),
    ({"w.npy": b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f8'}"}, "malformed .npy header"),
    ({"w.npy": npy_member({"descr": "|O", "fortran_order": False, "shape": (1,)}, bytes(8))},
     "not a numeric array"),
    ({"w.npy": npy_member({"descr": [("a", "<f8")], "fortran_order": False, "shape": (1,)},
                          bytes(8))}, "not a numeric array"),
    ({"w.npy": npy_member({"descr": "<U3", "fortran_order": False, "shape": ()}, bytes(12))},
     "not a numeric array"),
    ({"notes.txt": b"hello"}, "not an .npy array"),
])
def test_malformed_or_enormous_entries_are_refused(tmp_path, members, message):
    path = zip_of(tmp_path / "bad.npz", members)
    with pytest.raises(tl.CheckpointError, match=message) as err:
        tl.load(path)
    assert "bad.npz" in str(err.value)


def test_zip_bomb_is_refused_before_decompressing(tmp_path):
    path = tmp_path / "bomb.npz"
    header = {"descr": "|u1", "fortran_order": False, "shape": (100 << 20,)}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        with z.open("w.npy", "w", force_zip64=True) as m:
            m.write(npy_member(header))
            zeros = bytes(1 << 20)
            for _ in range(100):
                m.write(zeros)
    assert path.stat().st_size < 1 << 20
    with pytest.raises(tl.CheckpointError, match="bomb.npz.*decompression bomb"):
        tl.load(path)
    with pytest.raises(tl.CheckpointError, match="more than the 1 MiB limit"):
        tl.load(path, max_bytes=1 << 20)


@pytest.mark.parametrize("meta,message", [
    ("[1, 2]", "not a JSON object, got list"),
    ("{'sizes': [784, 10]}", "not valid JSON"),
    ("[" * 100_000, "not valid JSON"),
], ids=["list", "python-dict", "deeply-nested"])
def test_malformed_metadata_is_a_checkpoint_error(tmp_path, meta, message):
    path = tmp_path / "meta.npz"
    np.savez(path, w=np.ones(2), __metadata__=np.array(meta))
    assert list(tl.load(path)) == ["w"]
    with pytest.raises(tl.CheckpointError, match=f"meta.npz: metadata is {message}"):
        tl.load(path, with_metadata=True)


def test_load_refuses_directories_and_fifos_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "fifo.npz")
    (tmp_path / "dir.npz").mkdir()
    with pytest.raises(tl.CheckpointError, match="fifo.npz is a FIFO"):
        tl.load(tmp_path / "fifo.npz")
    with pytest.raises(tl.CheckpointError, match="dir.npz is a directory"):
        tl.load(tmp_path / "dir.npz")


def test_compressed_and_fortran_checkpoints_still_load(tmp_path):
    w = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    np.savez_compressed(tmp_path / "c.npz", w=w, b=np.arange(3, dtype=">i4"))
    arrays = tl.load(tmp_path / "c.npz")
    np.testing.assert_array_equal(arrays["w"], w)
    np.testing.assert_array_equal(arrays["b"], np.arange(3))


def test_checkpoint_whose_sizes_disagree_with_its_weights(tmp_path):
    path = tmp_path / "m.npz"
    model = DigitNet((784, 5, 10), seed=0)
    tl.save(model.state_dict(), path, metadata={"sizes": [784, 10**9, 10], "dtype": "float32"})
    with pytest.raises(tl.CheckpointError, match="m.npz"):
        load_checkpoint(str(path), DigitNet)


def test_digitnet_checkpoint_records_its_architecture(tmp_path):
    path = tmp_path / "net.npz"
    model = DigitNet((784, 7, 10), dtype=np.float64, seed=3)
    save_checkpoint(model, str(path), cost="quadratic", epochs=2)
    again, meta = load_checkpoint(str(path), DigitNet)
    assert again.sizes == (784, 7, 10) and again[0].weight.dtype == np.float64
    assert meta["cost"] == "quadratic" and meta["epochs"] == 2
    np.testing.assert_array_equal(again[2].weight.data, model[2].weight.data)


def test_save_keeps_a_replaced_files_permissions_and_refuses_read_only_ones(tmp_path):
    path = tmp_path / "m.npz"
    tl.save({"w": np.zeros(2)}, path)
    os.chmod(path, 0o600)
    tl.save({"w": np.ones(2)}, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    os.chmod(path, 0o444)
    with pytest.raises(tl.CheckpointError, match="m.npz is read-only"):
        tl.save({"w": np.full(2, 2.0)}, path)
    np.testing.assert_array_equal(tl.load(path)["w"], np.ones(2))


@pytest.mark.parametrize("name", ["", "out/", "missing.npz/"])
def test_save_refuses_paths_that_name_a_folder(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(tl.CheckpointError, match="names a folder"):
        tl.save({"w": np.ones(2)}, name)
    assert _names(tmp_path) == []


def test_entry_claiming_more_bytes_than_the_file_holds(tmp_path):
    path = zip_of(tmp_path / "claims.npz", {"w.npy": npy_member(
        {"descr": "<f8", "fortran_order": False, "shape": (4,)}, bytes(32))})
    raw = bytearray(path.read_bytes())
    entry = raw.index(b"PK\x01\x02")                      # the central directory's record
    raw[entry + 20:entry + 28] = (0x7FFFFFF0).to_bytes(4, "little") * 2
    path.write_bytes(raw)
    with pytest.raises(tl.CheckpointError, match="claims.npz: entry 'w' claims 2,147,483,632 "
                                                 "bytes, the file has .* \\(truncated\\)"):
        tl.load(path)


def test_out_of_memory_is_a_checkpoint_error(tmp_path, monkeypatch):
    tl.save({"w": np.ones(3)}, tmp_path / "m.npz")

    def no_memory(*args, **kwargs):
        raise MemoryError
    monkeypatch.setattr(np, "empty", no_memory)
    with pytest.raises(tl.CheckpointError, match="m.npz: not enough memory"):
        tl.load(tmp_path / "m.npz")
