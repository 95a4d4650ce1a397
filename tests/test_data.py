"""The IDX reader, MNIST loading, the bundled copy, and the checksum-verified download."""
import gzip
import hashlib
import http.server
import threading

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

    def do_GET(self):
        body, mode = self.routes.get(self.path, (None, None))
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body if mode != "drop" else body[: len(body) // 2])
        if mode == "drop":
            self.wfile.flush()
            self.connection.close()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", Handler.routes
    srv.shutdown()
    srv.server_close()
    Handler.routes.clear()


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


def test_bundled_mnist_carries_its_licence_and_attribution():
    from importlib.resources import files
    text = (files("tinygrad_lite") / "datasets" / "mnist" / "LICENSE").read_text()
    assert "CC BY-SA 3.0" in text
    assert "Yann LeCun, Corinna Cortes and Christopher J.C. Burges" in text
