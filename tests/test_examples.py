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


def test_why_backprop_is_fast_agrees_and_backprop_wins():
    out = run("why_backprop_is_fast.py", "--max-params", "1000")
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [int(r[1]) for r in rows] == [46, 172, 970]
    for r in rows:
        assert float(r[6]) < 1e-7                      # the three gradients agree
        assert float(r[2]) > float(r[4]) and float(r[3]) > float(r[4])  # backprop is fastest
    assert int(rows[-1][5]) > int(rows[0][5])            # and its lead grows with P


def test_curvature_finds_the_top_eigenvalue_and_sets_rates_beside_it():
    out = run("curvature.py", "--images", "400", "--rates", "3,1000", "--iterations", "8")
    lams = [float(line.split("λ =")[1].split()[0]) for line in out.splitlines()
            if "images: λ =" in line]
    assert len(lams) == 3 and all(0 < lam < 10 for lam in lams)  # at 0, 100 and 390 images
    assert "η =      3:" in out and "(below 1)" in out and "(above 1)" in out
