"""Drawing the graph without Graphviz: the graph model both outputs share, the layered layout,
matplotlib's picture, and `tinygrad-lite graph --engine`."""
import itertools
import os
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_lite.functional as F
from tinygrad_lite import Tensor
from tinygrad_lite.cli import main
from tinygrad_lite.viz.graph import Graph, GraphNode, _crossings, _order, _spread, draw, to_dot
from test_inspect import parse_dot

rng = np.random.default_rng(0)


def param(*shape):
    return Tensor(rng.normal(size=shape).astype(np.float32) * 0.1, requires_grad=True)


def digit_graph():
    """The digit network's cost: Affine, Sigmoid, Affine, Sigmoid, SquaredError."""
    p = {"0.weight": param(30, 784), "0.bias": param(30), "2.weight": param(10, 30),
         "2.bias": param(10), "x": Tensor(rng.uniform(size=(2, 784)).astype(np.float32))}
    h = F.sigmoid(F.linear(F.sigmoid(F.linear(p["x"], p["0.weight"], p["0.bias"])),
                           p["2.weight"], p["2.bias"]))
    cost = F.quadratic_cost(h, Tensor(np.eye(10, dtype=np.float32)[[1, 2]]))
    cost.backward(retain_graph=True)
    return cost, dict(p, cost=cost)


def conv_graph():
    """Two conv layers, max-pooled, and a linear layer under cross-entropy (~35 nodes)."""
    p = {"conv1.weight": param(4, 1, 3, 3), "conv1.bias": param(4),
         "conv2.weight": param(8, 4, 3, 3), "conv2.bias": param(8),
         "fc.weight": param(10, 200), "fc.bias": param(10),
         "x": Tensor(rng.normal(size=(2, 1, 28, 28)).astype(np.float32))}
    h = F.max_pool2d(F.relu(F.conv2d(p["x"], p["conv1.weight"], p["conv1.bias"])), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, p["conv2.weight"], p["conv2.bias"])), 2)
    loss = F.cross_entropy(F.linear(h.flatten(1), p["fc.weight"], p["fc.bias"]),
                           np.array([3, 7]))
    loss.backward(retain_graph=True)
    return loss, dict(p, loss=loss)


def skip_graph():
    """Skip connections and a tensor used twice by one op: edges that span several layers."""
    w1, w2, a = param(5, 5), param(5, 5), param(3)
    x = Tensor(rng.normal(size=(3, 5)))
    h = F.relu(x @ w1)
    h = F.tanh(h @ w2) + h + x
    root = h.sum() * ((a + a) * a).sum()
    return root, {"w1": w1, "w2": w2, "a": a, "x": x}


GRAPHS = [digit_graph, conv_graph, skip_graph]


def box(n):
    """A stand-in for the text's size: wide tensors, narrower ops."""
    return (0.15 * max(map(len, n.label)) + 0.2, 0.2 * len(n.label) + 0.1)


@pytest.mark.parametrize("make", GRAPHS)
def test_graph_model_is_what_to_dot_writes(make):
    root, params = make()
    graph = Graph.of(root, params)
    nodes, edges = parse_dot(to_dot(root, params))
    assert {n.id: ("box" if n.kind == "tensor" else "ellipse", list(n.label))
            for n in graph.nodes} == nodes
    assert graph.edges == edges
    assert len(graph.nodes) == len(nodes) and graph.nodes[0].fill == "gold"


def check_layout(graph, rankdir):
    """Every edge goes forward, no two nodes overlap, everything is inside the extent."""
    layer = graph.layers()
    assert all(layer[a] < layer[b] for a, b in graph.edges)
    assert layer[graph.nodes[0].id] == max(layer.values())          # the root comes last
    lay = graph.layout(box, rankdir)
    flow = 0 if rankdir == "LR" else 1
    for (a, b), route in zip(graph.edges, lay.routes):
        assert route[0] == lay.pos[a] and route[-1] == lay.pos[b]
        assert all(p[flow] <= q[flow] for p, q in zip(route, route[1:]))  # never backwards
    for a, b in itertools.combinations(graph.nodes, 2):
        (xa, ya), (wa, ha) = lay.pos[a.id], lay.size[a.id]
        (xb, yb), (wb, hb) = lay.pos[b.id], lay.size[b.id]
        assert abs(xa - xb) >= (wa + wb) / 2 - 1e-9 or abs(ya - yb) >= (ha + hb) / 2 - 1e-9
    for n in graph.nodes:
        (x, y), (w, h) = lay.pos[n.id], lay.size[n.id]
        assert -1e-9 <= x - w / 2 and x + w / 2 <= lay.width + 1e-9
        assert -1e-9 <= y - h / 2 and y + h / 2 <= lay.height + 1e-9


@st.composite
def random_graphs(draw_):
    """A random expression over a few leaves: each step applies an op to earlier results."""
    values = [Tensor(np.ones(2), requires_grad=bool(k % 2))
              for k in range(draw_(st.integers(1, 4)))]
    for _ in range(draw_(st.integers(0, 12))):
        i, j = (draw_(st.integers(0, len(values) - 1)) for _ in range(2))
        op = draw_(st.sampled_from(["add", "mul", "sigmoid", "exp"]))
        values.append(values[i] + values[j] if op == "add" else values[i] * values[j]
                      if op == "mul" else getattr(values[i], op)())
    root = values[-1]
    for v in values[:-1]:                       # everything reaches the root
        root = root + v.sum()
    return Graph.of(root)


@given(random_graphs(), st.sampled_from(["LR", "TB"]))
def test_layout_of_random_graphs(graph, rankdir):
    check_layout(graph, rankdir)


@pytest.mark.parametrize("make", GRAPHS)
@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_layout_sends_every_edge_forward_and_overlaps_nothing(make, rankdir):
    check_layout(Graph.of(*make()), rankdir)


def test_a_chain_is_drawn_straight_and_inputs_sit_beside_their_op():
    graph = Graph.of(*digit_graph())
    layer, lay = graph.layers(), graph.layout(box)
    by_label = {n.label[0]: n.id for n in graph.nodes}
    assert layer[by_label["2.weight"]] == layer[by_label["0.weight"]] + 4  # not at the far left
    for s in [n.id for n in graph.nodes if n.label == ("Sigmoid",)]:  # input, op, output in line
        into = next(a for a, b in graph.edges if b == s)
        out = next(b for a, b in graph.edges if a == s)
        assert lay.pos[into][1] == pytest.approx(lay.pos[s][1]) == pytest.approx(lay.pos[out][1])


def test_barycentre_sweeps_undo_crossings():
    nodes = [GraphNode(i, "tensor", (i,)) for i in ["r", "a1", "a2", "a3", "b1", "b2", "b3"]]
    edges = [("a1", "b3"), ("a2", "b2"), ("a3", "b1"), ("b1", "r"), ("b2", "r"), ("b3", "r")]
    rows = [["a1", "a2", "a3"], ["b1", "b2", "b3"], ["r"]]
    up = {n.id: [a for a, b in edges if b == n.id] for n in nodes}
    down = {n.id: [b for a, b in edges if a == n.id] for n in nodes}
    assert _crossings(rows[0], rows[1], down) == 3
    best = _order([list(r) for r in rows], up, down)
    assert _crossings(best[0], best[1], down) == 0
    assert Graph(nodes, edges).layers() == {"r": 2, "a1": 0, "a2": 0, "a3": 0, "b1": 1,
                                            "b2": 1, "b3": 1}


def test_spread_keeps_order_and_distance_and_is_nearest():
    assert _spread([0.0, 5.0], [1.0, 1.0], 0.5) == [0.0, 5.0]           # already apart
    got = _spread([1.0, 1.0, 1.0], [1.0, 1.0, 1.0], 0.5)                # pulled to one point
    assert got == pytest.approx([-0.5, 1.0, 2.5])                        # centred on it
    got = _spread([3.0, 0.0], [2.0, 2.0], 0.0)                           # order wins over want
    assert got[1] - got[0] == pytest.approx(2.0) and sum(got) == pytest.approx(3.0)


# --- drawing with matplotlib ---------------------------------------------------------------

def texts_fit_their_shapes(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    renderer = FigureCanvasAgg(fig).get_renderer()
    ax = fig.axes[0]
    shapes = [p for p in ax.patches if type(p).__name__ in ("Rectangle", "Ellipse")]
    assert len(shapes) == len(ax.texts)
    for shape, text in zip(shapes, ax.texts):
        inner, outer = text.get_window_extent(renderer), shape.get_window_extent(renderer)
        assert inner.width < outer.width and inner.height < outer.height, text.get_text()
        assert outer.x0 < inner.x0 and inner.x1 < outer.x1, text.get_text()
    return shapes


@pytest.mark.parametrize("ext, magic", [(".png", b"\x89PNG\r\n\x1a\n"), (".svg", b"<?xml")])
def test_draw_writes_png_and_svg_and_returns_the_figure(tmp_path, ext, magic):
    pytest.importorskip("matplotlib")
    root, params = digit_graph()
    path = tmp_path / f"g{ext}"
    fig = draw(root, params, path=str(path))
    assert path.read_bytes().startswith(magic)
    graph = Graph.of(root, params)
    labels = sorted("\n".join(n.label) for n in graph.nodes)
    assert sorted(t.get_text() for t in fig.axes[0].texts) == labels
    shapes = texts_fit_their_shapes(fig)
    colours = {tuple(s.get_facecolor()[:3]) for s in shapes}
    from matplotlib.colors import to_rgb
    assert colours == {to_rgb("white"), to_rgb("lightblue"), to_rgb("gold")}
    arrows = [p for p in fig.axes[0].patches if type(p).__name__ == "FancyArrowPatch"]
    assert len(arrows) == len(graph.edges)
    assert fig.get_figwidth() > fig.get_figheight()                    # left to right
    assert fig._repr_png_().startswith(b"\x89PNG")                      # inline in a notebook


def test_draw_a_conv_net_goes_top_to_bottom_and_stays_legible(tmp_path):
    pytest.importorskip("matplotlib")
    root, params = conv_graph()
    fig = draw(root, params, path=str(tmp_path / "conv.png"))
    assert 30 <= len(Graph.of(root, params).nodes) <= 45
    assert fig.get_figheight() > 2 * fig.get_figwidth() and fig.get_figwidth() < 12
    assert {t.get_fontsize() for t in fig.axes[0].texts} == {9.0}
    texts_fit_their_shapes(fig)
    wide = draw(root, params, rankdir="LR")
    assert wide.get_figwidth() > 24 and texts_fit_their_shapes(wide)


def test_draw_into_given_axes_scales_the_text(tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6, 3))
    ax = fig.add_subplot(1, 1, 1)
    assert draw(*digit_graph(), ax=ax) is fig
    sizes = {t.get_fontsize() for t in ax.texts}
    assert len(sizes) == 1 and 2 < sizes.pop() < 9
    assert np.ptp(ax.get_xlim()) > np.ptp(ax.get_ylim())                 # left to right
    tall = Figure(figsize=(3, 8)).add_subplot(1, 1, 1)                   # fits it top to bottom
    draw(*conv_graph(), ax=tall)
    assert np.ptp(tall.get_xlim()) < np.ptp(tall.get_ylim())


def test_draw_refuses_other_formats_and_writes_nothing(tmp_path):
    pytest.importorskip("matplotlib")
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        draw(*digit_graph(), path=str(tmp_path / "g.pdf"))
    with pytest.raises(ValueError, match="rankdir"):
        draw(*digit_graph(), rankdir="RL")
    assert os.listdir(tmp_path) == []


def no_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)


def test_draw_without_matplotlib_says_how_to_get_it(monkeypatch):
    no_matplotlib(monkeypatch)
    from tinygrad_lite.viz import available
    assert not available()
    with pytest.raises(ImportError, match=r'pip install matplotlib'):
        draw(*digit_graph())


# --- tinygrad-lite graph --engine ----------------------------------------------------------

GRAPH = ["graph", "--hidden", "3", "--batch-size", "2"]


@pytest.fixture
def no_graphviz(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))


@pytest.fixture
def graphviz(tmp_path, monkeypatch):
    """A stand-in `dot` program on PATH that answers with a tell-tale SVG."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "dot").write_text("#!/bin/sh\ncat > /dev/null\necho '<svg>graphviz</svg>'\n")
    (folder / "dot").chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert len(err.strip().splitlines()) <= 1, err
    return code, out, err


def test_engine_matplotlib_draws_a_png(tmp_path, capsys, graphviz):
    pytest.importorskip("matplotlib")
    out = tmp_path / "g.png"
    code, said, _ = run(capsys, *GRAPH, "--engine", "matplotlib", "--out", str(out))
    assert code == 0 and "matplotlib" in said
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_engine_auto_uses_graphviz_when_installed(tmp_path, capsys, graphviz):
    out = tmp_path / "g.svg"
    assert run(capsys, *GRAPH, "--out", str(out))[0] == 0
    assert out.read_text().strip() == "<svg>graphviz</svg>"


def test_engine_auto_without_graphviz_draws_with_matplotlib(tmp_path, capsys, no_graphviz):
    pytest.importorskip("matplotlib")
    out = tmp_path / "g.png"
    code, said, _ = run(capsys, *GRAPH, "--out", str(out))
    assert code == 0 and "matplotlib" in said
    assert out.read_bytes().startswith(b"\x89PNG") and not (tmp_path / "g.dot").exists()


def test_engine_auto_without_either_writes_dot_and_names_both_ways(tmp_path, capsys,
                                                                   no_graphviz, monkeypatch):
    no_matplotlib(monkeypatch)
    code, said, _ = run(capsys, *GRAPH, "--out", str(tmp_path / "g.svg"))
    assert code == 0 and "apt-get install graphviz" in said and "pip install matplotlib" in said
    assert parse_dot((tmp_path / "g.dot").read_text()) and not (tmp_path / "g.svg").exists()


@pytest.mark.parametrize("argv, status, fix", [
    (["--engine", "graphviz", "--out", "g.png"], 1, "apt-get install graphviz"),
    (["--engine", "matplotlib", "--out", "g.png"], 1, "pip install matplotlib"),
    (["--engine", "matplotlib"], 2, "--out FILE.svg or FILE.png"),
    (["--engine", "graphviz", "--out", "g.dot"], 2, "--out FILE.svg or FILE.png"),
    (["--engine", "cairo", "--out", "g.png"], 2, "invalid choice"),
])
def test_engine_bad_combinations_are_one_line_and_write_nothing(argv, status, fix, tmp_path,
                                                                capsys, monkeypatch,
                                                                no_graphviz):
    no_matplotlib(monkeypatch)
    monkeypatch.chdir(tmp_path)
    if status == 2 and argv[1] == "cairo":
        with pytest.raises(SystemExit) as e:
            main([*GRAPH, *argv])
        assert e.value.code == 2 and fix in capsys.readouterr().err
    else:
        code, _, err = run(capsys, *GRAPH, *argv)
        assert code == status and fix in err
    assert os.listdir(tmp_path) == []
