"""Full-length accuracy runs (minutes): python -m pytest -m slow"""
import re

import pytest

from tinygrad_lite.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def in_tmp_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # train writes digitnet.npz here


def last_epoch(capsys, *argv):
    assert main(["train", *argv]) == 0
    out = capsys.readouterr().out
    return int(re.findall(r"^Epoch \d+: (\d+) / 10000", out, re.M)[-1])


def test_seed_recipe_reaches_95_percent(capsys):
    assert last_epoch(capsys, "--seed", "0") >= 9500


def test_better_recipe_reaches_98_percent(capsys):
    assert last_epoch(capsys, "--seed", "0", "--hidden", "300", "--cost", "cross-entropy",
                      "--init", "scaled", "--lr", "0.1", "--momentum", "0.9",
                      "--weight-decay", "5e-5", "--batch-size", "20") >= 9800
