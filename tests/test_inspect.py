"""Seeing inside: DOT graphs, BP1-BP4 explained live, and the gradcheck command."""
import re
import shutil

import numpy as np
import pytest

from tinygrad_lite import ops as engine, tensor as tensor_module
from tinygrad_lite.models import NeuralNetwork
from tinygrad_lite.models.explain import explain_backprop
from tinygrad_lite import Tensor
from tinygrad_lite.cli import main
from tinygrad_lite.viz import to_dot

NODE = re.compile(r'^  (\w+) \[shape=(\w+), label="((?:[^"\\]|\\.)*)"')
EDGE = re.compile(r"^  (\w+) -> (\w+);$")


def parse_dot(text):
    """(nodes: id -> (shape, label lines), edges) of the DOT subset to_dot writes; any other
    line inside the graph fails the test, so the output must be well-formed."""
    lines = text.strip().splitlines()
    assert lines[0] == "digraph tinygrad_lite {" and lines[-1] == "}"
    nodes, edges = {}, []
    for line in lines[1:-1]:
        if m := NODE.match(line):
            nodes[m.group(1)] = (m.group(2), m.group(3).split("\\n"))
        elif m := EDGE.match(line):
            edges.append((m.group(1), m.group(2)))
        else:
            assert line in ("  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];'), line
    assert all(a in nodes and b in nodes for a, b in edges)
    return nodes, edges


def reaches_root(nodes, edges, root):
    into = {}
    for a, b in edges:
        into.setdefault(b, []).append(a)
    seen, stack = {root}, [root]
    while stack:
        for a in into.get(stack.pop(), []):
            if a not in seen:
                seen.add(a)
                stack.append(a)
    return seen == set(nodes)


def test_dot_of_a_tiny_hand_built_graph():
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    b = Tensor(np.arange(3.0))
    c = (a * b).sum()
    c.backward(retain_graph=True)
    nodes, edges = parse_dot(to_dot(c, params={"a": a, "b": b}))
    by_label = {lbl[0]: n for n, (_, lbl) in nodes.items()}
    ops = {n: lbl[0] for n, (shape, lbl) in nodes.items() if shape == "ellipse"}
    assert sorted(ops.values()) == ["Mul", "Sum"]
    mul = next(n for n, v in ops.items() if v == "Mul")
    sum_ = next(n for n, v in ops.items() if v == "Sum")
    product = next(b_ for a_, b_ in edges if a_ == mul)
    assert set(edges) == {(by_label["a"], mul), (by_label["b"], mul), (mul, product),
                          (product, sum_), (sum_, by_label["() float64"])}
    assert nodes[by_label["a"]][1][1] == "(2, 3) float64"
    norm = np.linalg.norm(np.arange(3.0) * np.ones((2, 3)))
    assert nodes[by_label["a"]][1][2] == f"|grad| = {norm:.3g}"
    assert nodes[product][1] == ["(2, 3) float64"]


def test_graph_command_writes_connected_dot(tmp_path, capsys):
    out = tmp_path / "g.dot"
    assert main(["graph", "--hidden", "4", "--out", str(out)]) == 0
    nodes, edges = parse_dot(out.read_text())
    root = next(n for n, (_, lbl) in nodes.items() if lbl[0] == "cost C")
    assert reaches_root(nodes, edges, root)
    labels = {lbl[0]: lbl for _, lbl in nodes.values()}
    for name, shape in [("0.weight", "(4, 784)"), ("0.bias", "(4,)"), ("2.weight", "(10, 4)"),
                        ("x (images)", "(10, 784)"), ("y (targets)", "(10, 10)")]:
        assert labels[name][1].startswith(shape)
    assert labels["0.weight"][2].startswith("|grad| = ")


@pytest.mark.skipif(not shutil.which("dot"), reason="Graphviz's dot is not installed")
def test_graph_command_renders_svg_with_graphviz(tmp_path):
    assert main(["graph", "--hidden", "3", "--out", str(tmp_path / "g.svg")]) == 0
    assert "<svg" in (tmp_path / "g.svg").read_text()


def test_explain_library_agrees_and_labels_equations():
    net = NeuralNetwork([784, 12, 10], seed=3)
    x = np.random.default_rng(0).uniform(size=784)
    reports = explain_backprop(net, x, np.eye(10)[4])
    assert [r.equation for r in reports] == ["BP2", "BP1"]
    assert reports[0].grad_w.shape == (12, 784) and reports[1].delta.shape == (10,)
    assert max(r.max_diff for r in reports) < 1e-14


def test_explain_command(capsys):
    assert main(["explain", "--hidden", "8", "--index", "3"]) == 0
    out = capsys.readouterr().out
    for tag in ("[BP1]", "[BP2]", "[BP3]", "[BP4]", "Largest difference"):
        assert tag in out


def broken_sigmoid_backward(g, out, x):
    return (g * out,)   # forgets the (1 - σ) factor


def test_explain_and_gradcheck_fail_loudly_on_a_broken_gradient(monkeypatch, capsys):
    monkeypatch.setattr(engine.Sigmoid, "backward", staticmethod(broken_sigmoid_backward))
    assert main(["explain", "--hidden", "6"]) == 1
    assert "MISMATCH" in capsys.readouterr().err
    assert main(["gradcheck", "--hidden", "3"]) == 1
    assert "FAILED" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--hidden", "3"], ["--hidden", "3", "--dtype", "float32"],
                                  ["--sizes", "784,6,5,10", "--mode", "projection"]])
def test_gradcheck_command_passes(argv, capsys):
    assert main(["gradcheck", *argv]) == 0
    out = capsys.readouterr().out
    assert "gradcheck passed" in out and out.count(" ok") >= 4


def test_explain_reads_delta_from_the_engine_with_retain_grad():
    net = NeuralNetwork([784, 7, 10], seed=1)
    reports = explain_backprop(net, np.random.default_rng(2).uniform(size=784), np.eye(10)[1])
    for r in reports:
        np.testing.assert_allclose(r.autodiff_delta, r.delta, rtol=1e-12, atol=1e-15)
    assert main(["explain", "--hidden", "5"]) == 0
    assert capsys_free_count(main, ["explain", "--hidden", "5"]) == 2


def capsys_free_count(run, argv):
    """How many δ-from-the-engine rows `explain` prints (one per layer)."""
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        run(argv)
    return buf.getvalue().count("δ = z.grad (retain_grad)")


def test_explain_delta_row_shows_a_wrong_engine_delta(monkeypatch, capsys):
    """Break Affine's dx (how δ reaches the hidden layer): the hidden layer's engine δ then
    differs from BP2's, the output layer's does not, and explain fails."""
    real = engine.Affine.backward

    def wrong_dx(g, out, x, w, b, needs):
        gx, gw, gb = real(g, out, x, w, b, needs)
        return (None if gx is None else gx * 1.5), gw, gb
    monkeypatch.setattr(engine.Affine, "backward", staticmethod(wrong_dx))
    net = NeuralNetwork([784, 6, 10], seed=1)
    hidden, output = explain_backprop(net, np.random.default_rng(2).uniform(size=784),
                                      np.eye(10)[3])
    assert np.abs(hidden.autodiff_delta - hidden.delta).max() > 1e-4
    np.testing.assert_allclose(output.autodiff_delta, output.delta, rtol=1e-12)
    assert main(["explain", "--hidden", "6"]) == 1
    assert "MISMATCH" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--hidden", "4"], ["--sizes", "784,5,4,10", "--directions", "2"]])
def test_gradcheck_order_2_passes(argv, capsys):
    assert main(["gradcheck", "--order", "2", *argv]) == 0
    out = capsys.readouterr().out
    assert "gradcheck --order 2 passed" in out and out.count(" ok") >= 4


def test_gradcheck_order_2_fails_on_a_wrong_second_derivative(monkeypatch, capsys):
    # first derivatives stay right; σ'' is lost (σ(x) read as a constant in the backward rule)
    monkeypatch.setattr(engine.Sigmoid, "backward", staticmethod(
        lambda g, out, x: (g * tensor_module.data_of(out) * (1 - tensor_module.data_of(out)),)))
    assert main(["gradcheck", "--hidden", "3"]) == 0
    capsys.readouterr()
    assert main(["gradcheck", "--order", "2", "--hidden", "3"]) == 1
    assert "FAILED" in capsys.readouterr().err


def test_gradcheck_order_2_needs_float64(capsys):
    assert main(["gradcheck", "--order", "2", "--dtype", "float32"]) == 2
    assert "float64" in capsys.readouterr().err
