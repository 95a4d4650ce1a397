"""The examples run and say what they should."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(script, *args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "examples", script), *args],
                          capture_output=True, text=True, check=True, timeout=300).stdout


def test_autodiff_vs_backprop_agree():
    out = run("autodiff_vs_backprop.py", "--steps", "2", "--sizes", "784,8,10")
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert len(rows) == 2
    assert all(float(r[2]) < 1e-12 and float(r[3]) < 1e-12 for r in rows)


def test_train_mnist_script_learns():
    out = run("train_mnist.py", "--epochs", "1", "--hidden", "10")
    correct = int(out.split("Epoch 0: ")[1].split(" / ")[0])
    assert correct > 8000


def test_gradient_checking_table():
    out = run("gradient_checking.py")
    assert "central float64" in out and "best eps" in out
    best = out.split("best eps:")[1]
    assert re.search(r"central float64 1e-0[3-6] \(error", best)   # the sweet spot
