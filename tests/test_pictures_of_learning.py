"""The two picture examples: gradient descent on x² + y², and accuracy against hidden size."""
import importlib.util
import os
import re
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PNG = b"\x89PNG\r\n\x1a\n"


def example(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "examples",
                                                                     f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(script, *args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "examples", script), *args],
                          capture_output=True, text=True, check=True, timeout=120).stdout


def test_the_gradient_of_the_bowl_is_2x_2y():
    gd = example("gradient_descent")
    for point in np.random.default_rng(0).normal(size=(5, 2)) * 3:
        np.testing.assert_allclose(gd.gradient(tuple(point)), 2 * point, rtol=0, atol=1e-12)
    assert not np.allclose(gd.gradient((1.0, 2.0)), (1.0, 2.0))  # the check tells them apart


def test_descent_converges_for_small_rates_and_diverges_past_one():
    gd = example("gradient_descent")
    path, reached = gd.descend(0.4, (1.5, 2.0))
    assert reached == 5 and np.linalg.norm(path[reached]) < 1e-3 <= np.linalg.norm(
        path[reached - 1])
    path, reached = gd.descend(1.05, (1.5, 2.0))
    assert reached is None and np.linalg.norm(path[-1]) > 1e6
    path, reached = gd.descend(1.0, (1.5, 2.0), steps=50)   # the edge: bounces, never settles
    assert reached is None and np.allclose(np.linalg.norm(path, axis=1), 2.5)


def test_gradient_descent_script_prints_the_figures_and_writes_the_plot(tmp_path):
    pytest.importorskip("matplotlib", reason="the plot needs matplotlib")
    out = run("gradient_descent.py", "--plot", str(tmp_path / "gd.png"))
    assert out.count("equal: True") == 3 and "equal: False" not in out
    assert re.search(r"η = 0.05 .*: 75 steps", out) and re.search(r"η = 0.4 .*: 5 steps", out)
    assert re.search(r"η = 1.05 .*: diverges", out)
    assert (tmp_path / "gd.png").read_bytes()[:8] == PNG


def test_hidden_sizes_quick_run_prints_a_table_and_writes_the_plot(tmp_path):
    pytest.importorskip("matplotlib", reason="the plot needs matplotlib")
    out = run("hidden_sizes.py", "--quick", "--plot", str(tmp_path / "hs.png"))
    rows = [line.split() for line in out.splitlines() if re.match(r"\s*\d+\s+\d", line)]
    assert [int(r[0]) for r in rows] == [5, 15, 30]
    accuracy = {int(r[0]): float(r[1]) for r in rows}
    assert accuracy[30] > 30 and all(0 <= a <= 100 for a in accuracy.values())  # chance: 10
    assert all(float(r[4]) > 0 for r in rows)                       # seconds per run
    assert "96.59%" not in out and "~95%" in out and "seed's" in out
    assert (tmp_path / "hs.png").read_bytes()[:8] == PNG
