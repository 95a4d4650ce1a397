"""Tiny Shakespeare: the bundled copy checked, its vocabulary, nanoGPT's split, random batches."""
import functools
import gzip
import re
from importlib.resources import files

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_lite.data import DataError, get_batch, load_shakespeare


@functools.cache
def _bundled():
    return load_shakespeare()  # verifies the SHA-256 of the decompressed text


@pytest.fixture
def shakespeare():
    return _bundled()


def test_bundled_text_vocabulary_and_split(shakespeare):
    d = shakespeare
    assert len(d.text) == 1_115_394 and d.vocab_size == 65
    assert d.chars[:3] == ["\n", " ", "!"] and d.chars[-1] == "z"
    assert d.stoi["A"] == 13 and d.itos[13] == "A"
    assert (len(d.train), len(d.val)) == (1_003_854, 111_540)
    assert d.train.dtype == d.val.dtype == np.int64
    assert d.decode(d.train[:14]) == "First Citizen:"
    assert d.decode(np.concatenate([d.train, d.val])) == d.text


@given(st.text(alphabet="\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
               max_size=200))
def test_encode_decode_round_trip(s):
    d = _bundled()
    ids = d.encode(s)
    assert ids.dtype == np.int64 and ids.shape == (len(s),)
    assert d.decode(ids) == s and d.decode(ids.tolist()) == s


@pytest.mark.parametrize("s,char,pos", [("hello é", "é", 6), ("\tab", "\t", 0),
                                        ("abc0", "0", 3), ("Zz~", "~", 2)])
def test_a_character_outside_the_vocabulary_is_named(shakespeare, s, char, pos):
    with pytest.raises(ValueError, match=re.escape(f"{char!r} at position {pos} ")) as err:
        shakespeare.encode(s)
    assert "65 characters" in str(err.value)


def test_decode_refuses_an_id_outside_the_vocabulary(shakespeare):
    with pytest.raises(ValueError, match="id 65 at position 1"):
        shakespeare.decode([0, 65])
    with pytest.raises(ValueError, match="id -1 at position 0"):
        shakespeare.decode([-1])


def _bundled_bytes() -> bytes:
    return gzip.decompress((files("tinygrad_lite") / "datasets" / "tinyshakespeare"
                            / "input.txt.gz").read_bytes())


@pytest.mark.parametrize("change", [
    lambda b: b[:-1000],                            # truncated text
    lambda b: b.replace(b"Citizen", b"Citizan", 1),  # one letter changed
    lambda b: b + b"\n",                            # one byte added
])
def test_a_tampered_text_is_refused_naming_the_file(tmp_path, change):
    path = tmp_path / "tampered.txt.gz"
    path.write_bytes(gzip.compress(change(_bundled_bytes())))
    with pytest.raises(DataError, match="tampered.txt.gz: its SHA-256 differs"):
        load_shakespeare(path)


def test_a_truncated_gzip_file_and_a_missing_file_are_refused(tmp_path):
    path = tmp_path / "cut.txt.gz"
    path.write_bytes(gzip.compress(_bundled_bytes())[:5000])
    with pytest.raises(DataError, match="cut.txt.gz: corrupt or truncated gzip"):
        load_shakespeare(path)
    with pytest.raises(DataError, match="cannot read .*nope.txt"):
        load_shakespeare(tmp_path / "nope.txt")
    with pytest.raises(DataError, match="is a directory, not a text file"):
        load_shakespeare(tmp_path)


def test_the_untampered_copy_loads_from_a_path_plain_or_gzipped(tmp_path):
    (tmp_path / "input.txt").write_bytes(_bundled_bytes())
    assert len(load_shakespeare(tmp_path / "input.txt").val) == 111_540


def test_another_text_without_verification_has_its_own_vocabulary(tmp_path):
    (tmp_path / "t.txt").write_text("abracadabra", encoding="utf-8")
    with pytest.raises(DataError, match="SHA-256"):
        load_shakespeare(tmp_path / "t.txt")
    d = load_shakespeare(tmp_path / "t.txt", verify=False)
    assert d.chars == ["a", "b", "c", "d", "r"] and (len(d.train), len(d.val)) == (9, 2)
    assert d.decode(d.train) == "abracadab"


def test_get_batch_is_nanogpts(shakespeare):
    x, y = get_batch(shakespeare.train, 64, 12, np.random.default_rng(0))
    assert x.shape == y.shape == (12, 64) and x.dtype == y.dtype == np.int64
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])  # y is x shifted by one character
    x2, y2 = get_batch(shakespeare.train, 64, 12, 0)     # an int seed gives the same batch
    np.testing.assert_array_equal(x, x2)
    text = shakespeare.decode(shakespeare.train)
    for row_x, row_y in zip(x, y):  # each row is a window of the text, and y its successor
        start = text.find(shakespeare.decode(row_x) + shakespeare.decode(row_y[-1:]))
        assert start >= 0


def test_get_batch_reaches_both_ends_and_never_past_them():
    data = np.arange(10)
    x, y = get_batch(data, 3, 2000, 1)
    assert x[:, 0].min() == 0 and x[:, 0].max() == 6 and y.max() == 9


@pytest.mark.parametrize("data,block,batch", [(np.arange(4), 4, 1), (np.arange(10), 0, 1),
                                              (np.arange(10), 2, 0),
                                              (np.zeros((2, 5), np.int64), 2, 1)])
def test_get_batch_refuses_impossible_requests(data, block, batch):
    with pytest.raises(ValueError, match="get_batch"):
        get_batch(data, block, batch, 0)
