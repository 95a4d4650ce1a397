"""The computation graph behind a tensor: as Graphviz DOT text (no dependency needed), or drawn
with matplotlib (no Graphviz needed).

    print(to_dot(cost, params=dict(model.named_parameters())))
    draw(cost, params=dict(model.named_parameters()))         # a matplotlib Figure

One box per tensor (its name where known, shape, dtype, and after backward the norm of its
gradient) and one ellipse per op, with edges in the direction the data flows; parameters are
light blue and the root gold. backward() frees the graph; call backward(retain_graph=True)
first to draw it with gradients.
"""
from __future__ import annotations

import functools
import io
import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..files import write_file
from ..tensor import Tensor

FORMATS = (".dot", ".gv", ".svg", ".png")  # what render() writes: DOT text, or Graphviz's output
DRAW_FORMATS = (".png", ".svg")            # what draw() writes
PARAM_COLOR, ROOT_COLOR = "lightblue", "gold"
WIDEST = 24.0  # inches: a graph drawn left to right that would be wider is drawn top to bottom


class RenderError(RuntimeError):
    """Graphviz's dot program failed or took too long; the DOT text was written instead."""


@dataclass(frozen=True)
class GraphNode:
    """A tensor (drawn as a box) or an op (an ellipse): `id` as in the DOT text (t0, op1...)."""
    id: str
    kind: str                 # "tensor" or "op"
    label: tuple[str, ...]    # its lines of text
    fill: str | None = None   # PARAM_COLOR, ROOT_COLOR, or None (white)


@dataclass
class Graph:
    """The nodes (root first, then in the order the walk meets them) and the edges (from, to)
    of the graph that produced a tensor: what to_dot writes and draw draws."""
    nodes: list[GraphNode]
    edges: list[tuple[str, str]]

    @classmethod
    def of(cls, root: Tensor, params: dict[str, Tensor] | None = None) -> Graph:
        """Walk back from `root` once; `params` names tensors (name -> tensor)."""
        names = {id(t): name for name, t in (params or {}).items()}
        ids: dict[int, str] = {}
        graph = cls([], [])

        def tensor_node(t: Tensor) -> str:
            if id(t) not in ids:
                ids[id(t)] = f"t{len(ids)}"
                label = [names[id(t)]] if id(t) in names else []
                label.append(f"{t.shape} {t.dtype}")
                if t.grad is not None:
                    label.append(f"|grad| = {np.linalg.norm(t.grad):.3g}")
                fill = PARAM_COLOR if t.requires_grad and t.is_leaf else None
                graph.nodes.append(GraphNode(ids[id(t)], "tensor", tuple(label),
                                             ROOT_COLOR if t is root else fill))
            return ids[id(t)]

        stack, seen = [root], set()
        tensor_node(root)
        while stack:
            t = stack.pop()
            node = t.node
            if id(t) in seen or node is None:
                continue
            seen.add(id(t))
            op = f"op{len(seen)}"
            name = node.op.__name__ + (" (graph freed)" if node.saved is None else "")
            graph.nodes.append(GraphNode(op, "op", (name,)))
            for p in node.parents:
                graph.edges.append((tensor_node(p), op))
                stack.append(p)
            graph.edges.append((op, ids[id(t)]))
        return graph

    def to_dot(self) -> str:
        """DOT text: each node is written just before the first edge that uses it."""
        lines = ["digraph tinygrad_lite {", "  rankdir=LR;",
                 '  node [fontname="Helvetica", fontsize=10];']
        order = {n.id: i for i, n in enumerate(self.nodes)}
        written: set[str] = set()

        def write(ids: list[str]) -> None:
            for i in sorted(set(ids) - written, key=order.__getitem__):
                n = self.nodes[order[i]]
                shape = "box" if n.kind == "tensor" else "ellipse"
                fill = f', style=filled, fillcolor="{n.fill}"' if n.fill else ""
                lines.append(f"  {i} [shape={shape}, label={_quote(chr(10).join(n.label))}"
                             f"{fill}];")
                written.add(i)

        write([self.nodes[0].id])
        for a, b in self.edges:
            write([a, b])
            lines.append(f"  {a} -> {b};")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def layers(self) -> dict[str, int]:
        """Each node's layer, left to right: the root last and every other node just before
        its nearest consumer, so each edge goes to a higher layer and the inputs sit beside
        the op that reads them, as Graphviz places them."""
        preds = {n.id: [] for n in self.nodes}
        succs = {n.id: [] for n in self.nodes}
        for a, b in self.edges:
            preds[b].append(a)
            succs[a].append(b)
        to_root: dict[str, int] = {}                 # the longest path to the root
        waiting = {i: len(set(s)) for i, s in succs.items()}
        ready = [i for i in succs if not succs[i]]
        while ready:                                  # consumers before their inputs (Kahn)
            i = ready.pop()
            to_root[i] = max((to_root[s] + 1 for s in succs[i]), default=0)
            for p in dict.fromkeys(preds[i]):
                waiting[p] -= 1
                if waiting[p] == 0:
                    ready.append(p)
        depth = max(to_root.values())
        return {n.id: depth - to_root[n.id] for n in self.nodes}

    def layout(self, size: Callable[[GraphNode], tuple[float, float]], rankdir: str = "LR",
               gaps: tuple[float, float] = (0.4, 0.2)) -> Layout:
        """Node centres and edge routes (Sugiyama's method): layers from layers(), long edges
        split by invisible points in the layers they cross, the order within each layer by
        the barycentre of the neighbours (sweeps down and up, keeping the order with the
        fewest crossings), then positions within layers pulled towards the neighbours.
        `size(node)` is (width, height); gaps are (between layers, within a layer)."""
        if rankdir not in ("LR", "TB"):
            raise ValueError(f"rankdir must be 'LR' or 'TB', got {rankdir!r}")
        layer = self.layers()
        ext = {n.id: size(n) if rankdir == "LR" else size(n)[::-1] for n in self.nodes}
        chains: list[list[str]] = []                  # each edge through its invisible points
        for a, b in self.edges:
            chain = [a] + [f"{a}>{b}#{k}" for k in range(layer[a] + 1, layer[b])] + [b]
            for k, v in enumerate(chain[1:-1], layer[a] + 1):
                layer[v], ext[v] = k, (0.0, 0.1)
            chains.append(chain)
        rows: list[list[str]] = [[] for _ in range(max(layer.values()) + 1)]
        for v in [n.id for n in self.nodes] + [v for c in chains for v in c[1:-1]]:
            rows[layer[v]].append(v)                  # in the walk's order to begin with
        up = {v: [] for v in layer}
        down = {v: [] for v in layer}
        for chain in chains:
            for a, b in zip(chain, chain[1:]):
                down[a].append(b)
                up[b].append(a)
        rows = _order(rows, up, down)
        pos = _place(rows, up, down, {v: e[1] for v, e in ext.items()}, gaps[1])
        spans, start = [], 0.0                        # each layer's extent along the flow
        for row in rows:
            depth = max((ext[v][0] for v in row), default=0.0)
            spans.append((start, start + depth))
            start += depth + gaps[0]

        def point(v: str, along: float) -> tuple[float, float]:
            return (along, pos[v]) if rankdir == "LR" else (pos[v], along)

        def centre(v: str) -> tuple[float, float]:
            return point(v, sum(spans[layer[v]]) / 2)

        def route(chain: list[str]) -> list[tuple[float, float]]:
            """Straight, or for a long edge: out of its layer, then along its points."""
            a, *middle, b = chain
            if not middle:
                return [centre(a), centre(b)]
            points = [centre(a), point(a, spans[layer[a]][1])]
            for v in middle:
                points += [point(v, spans[layer[v]][0]), point(v, spans[layer[v]][1])]
            return points + [centre(b)]

        across = max(pos[v] + ext[v][1] / 2 for v in pos)
        width, height = (start - gaps[0], across) if rankdir == "LR" else (across, start - gaps[0])
        return Layout({n.id: centre(n.id) for n in self.nodes},
                      {n.id: size(n) for n in self.nodes}, [route(c) for c in chains],
                      width, height)

    def draw(self, ax: Any = None, path: str | None = None, rankdir: str | None = None,
             fontsize: float = 9.0) -> Any:
        """Draw with matplotlib (see draw())."""
        if path is not None and os.path.splitext(path)[1].lower() not in DRAW_FORMATS:
            raise ValueError(f"{path}: draw writes {' or '.join(DRAW_FORMATS)} files")
        Figure, patches, Path, measure = _matplotlib()
        line = fontsize * 1.3 / 72                    # inches per line of text

        def size(n: GraphNode) -> tuple[float, float]:
            w = max(measure(s, fontsize) for s in n.label) / 72
            if n.kind == "op":
                return w * 1.25 + 0.25, line * len(n.label) + 0.2
            return w + 0.2, line * len(n.label) + 0.12

        margin = 0.1

        def fit(lay: Layout) -> float:
            """How much to scale the text for the drawing to fill the given axes."""
            box, (w, h) = ax.get_position(), ax.figure.get_size_inches()
            return min(box.width * w / (lay.width + 2 * margin),
                       box.height * h / (lay.height + 2 * margin))

        lay = self.layout(size, rankdir or "LR")
        if rankdir is None and ax is not None:        # whichever fills the axes larger
            lay = max(lay, self.layout(size, "TB"), key=fit)
        elif rankdir is None and lay.width > WIDEST:
            lay = self.layout(size, "TB")
        if ax is None:
            fig = Figure(figsize=(lay.width + 2 * margin, lay.height + 2 * margin))
            ax, factor = fig.add_axes((0, 0, 1, 1)), 1.0
        else:
            fig, factor = ax.figure, fit(lay)
        ax.set_xlim(-margin, lay.width + margin)
        ax.set_ylim(lay.height + margin, -margin)     # y grows downwards, like the text
        ax.set_aspect("equal")
        ax.axis("off")
        for n in self.nodes:
            (x, y), (w, h) = lay.pos[n.id], lay.size[n.id]
            style = dict(facecolor=n.fill or "white", edgecolor="black", linewidth=0.8)
            shape = patches.Ellipse((x, y), w, h, **style) if n.kind == "op" else \
                patches.Rectangle((x - w / 2, y - h / 2), w, h, **style)
            ax.add_patch(shape)
            ax.text(x, y, "\n".join(n.label), ha="center", va="center", parse_math=False,
                    fontsize=fontsize * factor, linespacing=1.15)
        kinds = {n.id: n.kind for n in self.nodes}
        for (a, b), route in zip(self.edges, lay.routes):
            route = list(route)
            route[0] = _edge_of(route[0], route[1], lay.size[a], kinds[a])
            route[-1] = _edge_of(route[-1], route[-2], lay.size[b], kinds[b])
            ax.add_patch(patches.FancyArrowPatch(
                path=Path(route), arrowstyle="-|>", mutation_scale=10 * factor,
                linewidth=0.8, color="black", shrinkA=0, shrinkB=0))
        if path is not None:
            buf = io.BytesIO()
            fig.savefig(buf, format=os.path.splitext(path)[1][1:].lower(), dpi=100)
            write_file(path, lambda f: f.write(buf.getvalue()), replace=True, error=ValueError)
        return fig


@dataclass
class Layout:
    """Where Graph.layout puts things, in inches: node centres and sizes by id, one route
    (a list of points, from the source's centre to the target's) per edge, and the extent."""
    pos: dict[str, tuple[float, float]]
    size: dict[str, tuple[float, float]]
    routes: list[list[tuple[float, float]]]
    width: float
    height: float


def _crossings(top: list[str], bottom: list[str], down: dict[str, list[str]]) -> int:
    where = {v: i for i, v in enumerate(bottom)}
    ends = [(i, where[b]) for i, a in enumerate(top) for b in down[a]]
    return sum(1 for k, (a, b) in enumerate(ends) for c, d in ends[k + 1:]
               if (a - c) * (b - d) < 0)


def _order(rows: list[list[str]], up: dict, down: dict, sweeps: int = 4) -> list[list[str]]:
    """Reorder each layer by the mean position of its neighbours in the layer before (sweeping
    left to right) or after (right to left); keep the order with the fewest crossings."""
    def total(rs: list[list[str]]) -> int:
        return sum(_crossings(a, b, down) for a, b in zip(rs, rs[1:]))

    best, fewest = [list(r) for r in rows], total(rows)
    for sweep in range(2 * sweeps):
        forward = sweep % 2 == 0
        span = range(1, len(rows)) if forward else range(len(rows) - 2, -1, -1)
        for k in span:
            near = rows[k - 1] if forward else rows[k + 1]
            where = {v: i for i, v in enumerate(near)}
            links = up if forward else down

            def centre(iv: tuple[int, str]) -> float:
                i, v = iv
                ns = [where[u] for u in links[v]]
                return sum(ns) / len(ns) if ns else i * len(near) / max(len(rows[k]), 1)
            rows[k] = [v for _, v in sorted(enumerate(rows[k]), key=centre)]
        if (crossed := total(rows)) < fewest:
            best, fewest = [list(r) for r in rows], crossed
    return best


def _place(rows: list[list[str]], up: dict, down: dict, ext: dict[str, float],
           gap: float, sweeps: int = 8) -> dict[str, float]:
    """Positions within layers, in order and apart by their sizes plus `gap`: each layer in
    turn moved as close as it can (least squares) to the mean position of its neighbours."""
    pos: dict[str, float] = {}
    for row in rows:
        at = 0.0
        for v in row:
            pos[v], at = at + ext[v] / 2, at + ext[v] + gap
    for sweep in range(sweeps):
        links = up if sweep % 2 == 0 else down
        for row in (rows if sweep % 2 == 0 else rows[::-1]):
            want = [np.mean([pos[u] for u in links[v]]) if links[v] else pos[v] for v in row]
            for v, p in zip(row, _spread(want, [ext[v] for v in row], gap)):
                pos[v] = p
    low = min(pos[v] - ext[v] / 2 for v in pos)
    return {v: p - low for v, p in pos.items()}


def _spread(want: list[float], ext: list[float], gap: float) -> list[float]:
    """The positions nearest `want` (least squares) that keep their order and stay apart by
    half of each size plus `gap`: isotonic regression, by pooling adjacent violators."""
    offset = np.concatenate([[0.0], np.cumsum([(a + b) / 2 + gap
                                               for a, b in zip(ext, ext[1:])])])
    blocks: list[list[float]] = []                    # [mean, count]
    for z in np.asarray(want) - offset:
        blocks.append([z, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            (m1, c1), (m2, c2) = blocks.pop(-2), blocks.pop()
            blocks.append([(m1 * c1 + m2 * c2) / (c1 + c2), c1 + c2])
    z = [m for m, c in blocks for _ in range(c)]
    return list(np.asarray(z) + offset)


def _edge_of(centre: tuple, toward: tuple, size: tuple, kind: str) -> tuple[float, float]:
    """Where the line from a node's centre toward a point leaves its box or ellipse."""
    (x, y), (dx, dy) = centre, (toward[0] - centre[0], toward[1] - centre[1])
    a, b = size[0] / 2, size[1] / 2
    if kind == "op":
        t = 1 / max(np.hypot(dx / a, dy / b), 1e-12)
    else:
        t = min(a / abs(dx) if dx else np.inf, b / abs(dy) if dy else np.inf)
    t = min(t, 1.0)
    return x + t * dx, y + t * dy


def _matplotlib() -> tuple:
    try:
        from matplotlib import patches
        from matplotlib.figure import Figure
        from matplotlib.font_manager import FontProperties
        from matplotlib.path import Path
        from matplotlib.textpath import TextToPath
    except ImportError:
        raise ImportError('drawing a graph needs matplotlib: pip install matplotlib '
                          "(or write DOT text with to_dot)") from None

    def measure(s: str, fontsize: float) -> float:
        return TextToPath().get_text_width_height_descent(s, FontProperties(size=fontsize),
                                                          ismath=False)[0]
    return _shown_inline(Figure), patches, Path, measure


@functools.cache
def _shown_inline(figure: type) -> type:
    class GraphFigure(figure):  # type: ignore[misc, valid-type]
        """A Figure that a notebook shows inline; made without pyplot, it is shown once."""

        def _repr_png_(self) -> bytes:
            buf = io.BytesIO()
            self.savefig(buf, format="png", dpi=100)
            return buf.getvalue()
    return GraphFigure


def available() -> bool:
    """Whether draw() can run (matplotlib can be imported)."""
    try:
        _matplotlib()
    except ImportError:
        return False
    return True


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(root: Tensor, params: dict[str, Tensor] | None = None) -> str:
    """DOT text for the graph that produced `root`; `params` names tensors (name -> tensor)."""
    return Graph.of(root, params).to_dot()


def draw(root: Tensor, params: dict[str, Tensor] | None = None, ax: Any = None,
         path: str | None = None, rankdir: str | None = None) -> Any:
    """Draw the graph that produced `root` with matplotlib (no Graphviz needed) and return the
    Figure; a notebook shows it inline. `params` names tensors (name -> tensor); `ax`: draw into
    these axes (text scaled to fit); `path`: also write a .png or .svg file. rankdir "LR" runs
    left to right, "TB" top to bottom; unset: left to right unless wider than WIDEST inches
    (in given axes: whichever fills them larger)."""
    return Graph.of(root, params).draw(ax, path, rankdir)


def _write_text(path: str, text: str, replace: bool = True) -> None:
    write_file(path, lambda f: f.write(text.encode("utf-8")), replace=replace, error=ValueError)


def render(dot: str, path: str, timeout: float = 60.0, replace: bool = True) -> str:
    """Write a graph's DOT text to `path`: as text for .dot/.gv, else rendered by Graphviz's
    `dot` program to .svg/.png (draw() needs no Graphviz). Without Graphviz, or if it fails or
    runs past `timeout` seconds, the DOT text goes beside `path` (same name, .dot) so nothing is
    lost; a failure then raises RenderError naming both files. Returns a line saying what was
    written. replace=False: no file is written over an existing one (files.OutputExists)."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        raise ValueError(f"{path}: use a {', '.join(FORMATS)} file name")
    if ext in (".dot", ".gv"):
        _write_text(path, dot, replace)
        return f"wrote {path}; render it with: dot -Tsvg {path} -o graph.svg"
    dot_path = os.path.splitext(path)[0] + ".dot"
    program = shutil.which("dot")
    if program is None:
        _write_text(dot_path, dot, replace)
        return (f"Graphviz's dot program is not installed (Debian: apt-get install graphviz), so "
                f"wrote {dot_path}; render it with: dot -T{ext[1:]} {dot_path} -o {path}; or "
                f'draw it without Graphviz: pip install matplotlib')
    image: list[bytes] = []
    try:
        done = subprocess.run([program, f"-T{ext[1:]}"], input=dot.encode("utf-8"),
                              capture_output=True, timeout=timeout)
        why = (f"exited with status {done.returncode}: "
               f"{done.stderr.decode(errors='replace').strip()[:200]}" if done.returncode else "")
        image.append(done.stdout)
    except subprocess.TimeoutExpired:
        why = f"ran for more than {timeout:g} s"
    except OSError as e:
        why = f"could not run: {e}"
    if why:
        _write_text(dot_path, dot, replace)
        raise RenderError(f"Graphviz's dot {why}; wrote the graph as {dot_path} instead")
    write_file(path, lambda f: f.write(image[0]), replace=replace, error=ValueError)
    return f"wrote {path}"
