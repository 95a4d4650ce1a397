"""The IDX reader, MNIST loading, the bundled copy, and the checksum-verified download."""
import gzip
import hashlib
import http.server
import os
import stat
import struct
import subprocess
import sys
import threading
import time
import tracemalloc
import zlib

import numpy as np
import pytest

from helpers import idx_bytes, write_fake_mnist
from tinygrad_lite.data import DataError, download_mnist, load_mnist, parse_idx, read_idx


def test_idx_round_trip_raw_and_gzip(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a").write_bytes(idx_bytes(a))
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(a)))
    np.testing.assert_array_equal(read_idx(tmp_path / "a"), a)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), a)
    f = np.linspace(0, 1, 6).reshape(2, 3)
    np.testing.assert_array_equal(parse_idx(idx_bytes(f, 0x0E)), f)


@pytest.mark.parametrize("mutate,message", [
    (lambda b: b"\x01\x02" + b[2:], "not an IDX file"),
    (lambda b: b[:2] + b"\x07" + b[3:], "type byte 0x07"),
    (lambda b: b[:6], "truncated header"),
    (lambda b: b[:-5], "truncated"),
    (lambda b: b + b"\x00", "extra bytes"),
    (lambda b: b"", "not an IDX file"),
])
def test_corrupt_idx_is_a_clear_error(tmp_path, mutate, message):
    good = idx_bytes(np.zeros((3, 28, 28), np.uint8))
    path = tmp_path / "bad-images"
    path.write_bytes(mutate(good))
    with pytest.raises(DataError, match=message) as err:
        read_idx(path)
    assert "bad-images" in str(err.value)


def test_truncated_gzip_and_missing_file(tmp_path):
    path = tmp_path / "x.gz"
    noise = np.random.default_rng(0).integers(0, 256, (50, 28, 28), dtype=np.uint8)
    path.write_bytes(gzip.compress(idx_bytes(noise))[:1000])
    with pytest.raises(DataError, match="x.gz.*gzip"):
        read_idx(path)
    with pytest.raises(DataError, match="cannot read"):
        read_idx(tmp_path / "nope")


def test_checksum_mismatch(tmp_path):
    (tmp_path / "a").write_bytes(idx_bytes(np.zeros(3, np.uint8)))
    with pytest.raises(DataError, match="SHA-256"):
        read_idx(tmp_path / "a", sha256="0" * 64)


def test_load_from_a_folder_with_validation_split(tmp_path):
    data = load_mnist(write_fake_mnist(tmp_path / "m"), validation_size=10)
    assert data.train_images.shape == (50, 784) and data.val_images.shape == (10, 784)
    assert data.train_images.dtype == np.float32 and data.train_labels.dtype == np.int64
    pixels = data.train_images * 255                  # bytes / 255: 0 white, 1 black
    assert pixels.min() == 0 and pixels.max() == 255
    np.testing.assert_allclose(pixels, np.round(pixels), atol=1e-4)
    assert data.test_images.shape == (20, 784)
    with pytest.raises(DataError, match="does not exist"):
        load_mnist(tmp_path / "missing")
    with pytest.raises(DataError, match="train-images"):
        load_mnist(tmp_path)


def test_mismatched_label_count(tmp_path):
    folder = write_fake_mnist(tmp_path / "m")
    (folder / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(7, np.uint8)))
    with pytest.raises(DataError, match="60 unsigned-byte labels"):
        load_mnist(folder)


def test_environment_variable_chooses_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGRAD_LITE_DATA", str(write_fake_mnist(tmp_path / "m")))
    assert len(load_mnist().train_images) == 60


def test_bundled_mnist_is_complete_and_verified():
    data = load_mnist()   # verifies the SHA-256 of all four files
    assert data.train_images.shape == (60000, 784) and data.test_images.shape == (10000, 784)
    assert np.bincount(data.test_labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958,
                                                      1028, 974, 1009]
    assert np.bincount(data.train_labels)[0] == 5923


# --- download, against a server on 127.0.0.1 ----------------------------------------------------

class Handler(http.server.BaseHTTPRequestHandler):
    routes: dict = {}
    hits: list = []

    def do_GET(self):
        self.hits.append(self.path)
        body, mode = self.routes.get(self.path, (None, None))
        if body is None:
            self.send_error(404)
            return
        if callable(mode):            # something to do on the side while the client waits
            mode, _ = None, mode()
        self.send_response(200)
        if mode != "unsized":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "trickle":         # one byte at a time, for ever (until the client hangs up)
            for byte in body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.02)
            return
        self.wfile.write(body if mode != "drop" else body[: len(body) // 2])
        if mode in ("drop", "unsized"):
            self.wfile.flush()
            self.connection.close()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", Handler.routes
    srv.shutdown()
    srv.server_close()
    Handler.routes.clear()
    Handler.hits.clear()


def payload():
    raw = idx_bytes(np.arange(100, dtype=np.uint8))
    return gzip.compress(raw), hashlib.sha256(raw).hexdigest()


def test_download_verifies_and_writes_atomically(server, tmp_path):
    url, routes = server
    body, digest = payload()
    routes["/good/labels.gz"] = (body, None)
    folder = download_mnist(tmp_path, mirrors=[url + "/good/"], files={"labels": digest},
                            timeout=5)
    assert sorted(p.name for p in folder.iterdir()) == ["labels.gz"]
    np.testing.assert_array_equal(read_idx(folder / "labels.gz"), np.arange(100))


def test_checksum_mismatch_leaves_nothing_and_next_mirror_is_tried(server, tmp_path):
    url, routes = server
    body, digest = payload()
    routes["/bad/labels.gz"] = (gzip.compress(idx_bytes(np.zeros(100, np.uint8))), None)
    with pytest.raises(DataError, match="SHA-256"):
        download_mnist(tmp_path, mirrors=[url + "/bad/"], files={"labels": digest}, timeout=5)
    assert list(tmp_path.iterdir()) == []
    routes["/good/labels.gz"] = (body, None)
    download_mnist(tmp_path, mirrors=[url + "/bad/", url + "/good/"], files={"labels": digest},
                   timeout=5)
    assert [p.name for p in tmp_path.iterdir()] == ["labels.gz"]


def test_dropped_connection_leaves_nothing(server, tmp_path):
    url, routes = server
    body, digest = payload()
    routes["/drop/labels.gz"] = (body, "drop")
    with pytest.raises(DataError, match="could not download labels.gz"):
        download_mnist(tmp_path, mirrors=[url + "/drop/"], files={"labels": digest}, timeout=5)
    assert list(tmp_path.iterdir()) == []


def test_a_users_mismatching_files_are_reported_and_never_removed(server, tmp_path):
    url, routes = server
    body, digest = payload()
    routes["/good/labels.gz"] = (body, None)
    for name in ("labels.gz", "labels"):
        folder = tmp_path / name.replace(".", "-")
        folder.mkdir()
        own = idx_bytes(np.zeros(5, np.uint8))          # the user's own IDX data, not MNIST
        (folder / name).write_bytes(own)
        with pytest.raises(DataError, match=f"{name} is not MNIST's labels: its SHA-256 "
                                             "check failed .*left as it is"):
            download_mnist(folder, mirrors=[url + "/good/"], files={"labels": digest}, timeout=5)
        assert os.listdir(folder) == [name] and (folder / name).read_bytes() == own
    assert Handler.hits == []                            # nothing was even fetched


def test_a_matching_file_is_kept_and_not_fetched_again(server, tmp_path):
    url, routes = server
    raw = idx_bytes(np.arange(100, dtype=np.uint8))
    (tmp_path / "labels").write_bytes(raw)
    download_mnist(tmp_path, mirrors=[url + "/none/"],
                   files={"labels": hashlib.sha256(raw).hexdigest()}, timeout=5)
    assert os.listdir(tmp_path) == ["labels"] and Handler.hits == []


def test_a_trickling_mirror_is_stopped_by_the_deadline(server, tmp_path):
    url, routes = server
    body, digest = payload()
    routes["/slow/labels.gz"] = (body, "trickle")
    start = time.monotonic()
    with pytest.raises(DataError, match=r"/slow/labels.gz did not finish within the 0.3 s "
                                        "deadline"):
        download_mnist(tmp_path, mirrors=[url + "/slow/"], files={"labels": digest},
                       timeout=5, deadline=0.3)
    assert time.monotonic() - start < 3
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mode", [None, "unsized"])
def test_an_oversized_response_is_refused(server, tmp_path, mode):
    url, routes = server
    body, digest = payload()
    routes["/big/labels.gz"] = (body + bytes(5000), mode)
    with pytest.raises(DataError, match="more than the 4 KiB limit"):
        download_mnist(tmp_path, mirrors=[url + "/big/"], files={"labels": digest}, timeout=5,
                       max_bytes=4096)
    assert list(tmp_path.iterdir()) == []


def test_downloaded_files_get_umask_permissions(server, tmp_path):
    url, routes = server
    body, digest = payload()
    routes["/good/labels.gz"] = (body, None)
    old = os.umask(0o022)
    try:
        download_mnist(tmp_path, mirrors=[url + "/good/"], files={"labels": digest}, timeout=5)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "labels.gz").st_mode) == 0o644


def test_download_into_a_file_or_an_unwritable_folder(server, tmp_path):
    url, routes = server
    body, digest = payload()
    routes["/good/labels.gz"] = (body, None)
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(DataError, match="cannot create data folder .*file"):
        download_mnist(tmp_path / "file", mirrors=[url + "/good/"], files={"labels": digest})
    with pytest.raises(DataError, match="cannot create data folder .*file"):
        download_mnist(tmp_path / "file" / "sub", mirrors=[url + "/good/"],
                       files={"labels": digest})
    if os.geteuid() != 0:                                # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        with pytest.raises(DataError, match="Permission denied"):
            download_mnist(locked, mirrors=[url + "/good/"], files={"labels": digest})


def test_stale_partial_downloads_are_removed(server, tmp_path):
    url, routes = server
    body, digest = payload()
    routes["/good/labels.gz"] = (body, None)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / f".labels.gz.tmp-{dead.pid}-00ff00ff").write_bytes(body[:10])
    download_mnist(tmp_path, mirrors=[url + "/good/"], files={"labels": digest}, timeout=5)
    assert os.listdir(tmp_path) == ["labels.gz"]


# --- hostile IDX files: a DataError naming the file, before anything large is allocated ---------

def gzip_of_zeros(header: bytes, megabytes: int) -> bytes:
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)          # 31: the gzip container
    zeros = bytes(1 << 20)
    return b"".join([packer.compress(header)] + [packer.compress(zeros)
                                                 for _ in range(megabytes)] + [packer.flush()])


def test_gzip_bomb_is_refused_from_its_header(tmp_path):
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip_of_zeros(b"\x00\x00\x08\x01" + struct.pack(">I", 70 << 20), 70))
    assert path.stat().st_size < 1 << 20
    with pytest.raises(DataError, match="bomb.gz: the header declares 73,400,320 bytes, more "
                                        "than 100 times .*decompression bomb"):
        read_idx(path)


def test_gzip_with_a_small_header_and_a_huge_tail_stops_early(tmp_path):
    path = tmp_path / "tail.gz"
    path.write_bytes(gzip_of_zeros(idx_bytes(np.zeros((3, 28, 28), np.uint8)), 40))
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="tail.gz: .*extra bytes"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20                                # not the 40 MB the stream holds


@pytest.mark.parametrize("dims", [(2**32 - 1,) * 3, (1, 2**31, 2**31)])
def test_absurd_dimensions_are_refused_before_allocating(tmp_path, dims):
    path = tmp_path / "huge"
    path.write_bytes(b"\x00\x00\x08\x03" + struct.pack(">3I", *dims) + bytes(100))
    with pytest.raises(DataError, match="huge: the header declares .* more than the 1 GiB "
                                        "limit"):
        read_idx(path)
    with pytest.raises(DataError, match="more than the 1 GiB limit"):
        parse_idx(path.read_bytes())


@pytest.mark.parametrize("shape", [(0, 28, 28), (5, 0, 28), (5, 28, 0)])
def test_mnist_folder_with_no_images_or_no_pixels(tmp_path, shape):
    folder = write_fake_mnist(tmp_path / "m")
    (folder / "train-images-idx3-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(np.zeros(shape, np.uint8))))
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz: expected .* at least one"):
        load_mnist(folder)


def test_data_folder_that_is_a_file_or_holds_special_files(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("TINYGRAD_LITE_DATA", str(tmp_path / "file"))
    with pytest.raises(DataError, match="file \\(from TINYGRAD_LITE_DATA\\) is not a folder"):
        load_mnist()
    folder = write_fake_mnist(tmp_path / "m")
    (folder / "train-labels-idx1-ubyte").unlink()
    os.mkfifo(folder / "train-labels-idx1-ubyte")        # reading it would block for ever
    with pytest.raises(DataError, match="train-labels-idx1-ubyte is a FIFO"):
        load_mnist(folder)
    (folder / "train-labels-idx1-ubyte").unlink()
    (folder / "train-labels-idx1-ubyte.gz").mkdir()
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz is a directory"):
        load_mnist(folder)


@pytest.mark.parametrize("arg", ["timeout", "deadline", "max_bytes"])
@pytest.mark.parametrize("value", [0, -1, float("nan")])
def test_download_limits_must_be_positive(tmp_path, arg, value):
    with pytest.raises(ValueError, match=f"{arg} must be positive"):
        download_mnist(tmp_path, mirrors=["http://127.0.0.1:9/"], **{arg: value})
    assert list(tmp_path.iterdir()) == []


def test_a_file_appearing_during_the_download_is_not_replaced(server, tmp_path):
    url, routes = server
    body, digest = payload()
    theirs = idx_bytes(np.zeros(5, np.uint8))
    routes["/good/labels.gz"] = (body, lambda: (tmp_path / "labels.gz").write_bytes(theirs))
    with pytest.raises(DataError, match="labels.gz is not MNIST's labels.*left as it is"):
        download_mnist(tmp_path, mirrors=[url + "/good/"], files={"labels": digest}, timeout=5)
    assert os.listdir(tmp_path) == ["labels.gz"]
    assert (tmp_path / "labels.gz").read_bytes() == theirs


def test_out_of_memory_is_a_data_error(tmp_path, monkeypatch):
    (tmp_path / "a").write_bytes(idx_bytes(np.zeros(3, np.uint8)))

    def no_memory(*args, **kwargs):
        raise MemoryError
    monkeypatch.setattr(np, "empty", no_memory)
    with pytest.raises(DataError, match="a: not enough memory for its 3 bytes"):
        read_idx(tmp_path / "a")


def test_cache_dir_ignores_a_relative_xdg_cache_home(tmp_path, monkeypatch):
    from tinygrad_lite.data import cache_dir
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")   # would land in the current folder
    assert cache_dir() == tmp_path / ".cache" / "tinygrad_lite" / "mnist"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "tinygrad_lite" / "mnist"


def test_a_mirror_trickling_its_headers_is_stopped_by_the_deadline(tmp_path):
    import socket
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle():
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while not stop.wait(0.02):
                try:
                    conn.sendall(b"a")
                except OSError:
                    return
    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    start = time.monotonic()
    try:
        with pytest.raises(DataError, match="did not finish within the 0.3 s deadline"):
            download_mnist(tmp_path, mirrors=[url], files={"labels": "0" * 64}, timeout=5,
                           deadline=0.3)
    finally:
        stop.set()
        listener.close()
    assert time.monotonic() - start < 3 and list(tmp_path.iterdir()) == []
def test_bundled_mnist_carries_its_licence_and_attribution():
    from importlib.resources import files
    text = (files("tinygrad_lite") / "datasets" / "mnist" / "LICENSE").read_text()
    assert "CC BY-SA 3.0" in text
    assert "Yann LeCun, Corinna Cortes and Christopher J.C. Burges" in text
