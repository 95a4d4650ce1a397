"""An explorer page for the graph behind a tensor: one self-contained HTML file (inline SVG,
script and style; no network access) that draws the graph with viz's layered layout and lets a
reader click any node for its op, formula, shape, values and gradient, and step through the
forward pass and the backward pass one op at a time, in the engine's order.

    write_html("graph.html", cost, params=dict(model.named_parameters()))
    explore(cost, params)        # in a notebook: shown inline

The graph must still be whole: build it and call this before backward(), or after
backward(retain_graph=True). The gradients shown are computed here, from each op's own
backward rule along the reverse of the order the engine uses; the tensors' .grad are untouched.
"""
from __future__ import annotations

import base64
import html
import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..files import write_file
from ..tensor import Tensor, unbroadcast
from .graph import PARAM_COLOR, ROOT_COLOR, Graph, GraphNode

HEATMAP = 32        # the largest heat map embedded, in cells per side (larger arrays: block means)
SMALL = 16          # arrays with at most this many elements are embedded number by number
FONT = 11           # px, the node labels' font size
_pages = itertools.count()
AFFINE_RULES = ("BP2, the sum: (wˡ⁺¹)ᵀ δˡ⁺¹",   # Affine's inputs x, W, b
                "BP4: ∂C/∂wˡⱼₖ = aˡ⁻¹ₖ δˡⱼ", "BP3: ∂C/∂bˡⱼ = δˡⱼ")


def graph_node(t: Tensor) -> tuple[Any, int]:
    """How `t` was made (its node: op, parents, saved, params; None for a leaf) and its creation
    number, which the engine's backward sorts by."""
    return t.node, t.number


@dataclass
class OpInfo:
    """One op of the graph: its id, class, the tensors it read and made, and per input the
    local rule its backward applies (a BP1-BP4 note for the digit network's ops)."""
    id: str
    op: type
    inputs: list[int]          # indices into the walk's tensors
    output: int
    number: int                # the output's creation number
    rules: list[str] = field(default_factory=list)


@dataclass
class Walk:
    """The tensors behind a root (root first) and the ops that made them."""
    tensors: list[Tensor]
    ops: list[OpInfo]

    def forward_order(self) -> list[OpInfo]:
        """The ops in creation order (how the forward pass ran)."""
        return sorted(self.ops, key=lambda o: o.number)

    def backward_order(self) -> list[OpInfo]:
        """The ops in the engine's backward order: creation numbers, largest first."""
        return sorted(self.ops, key=lambda o: o.number, reverse=True)


def walk(root: Tensor) -> Walk:
    """Every tensor and op behind `root` (ValueError if backward() freed the graph)."""
    index: dict[int, int] = {}
    result = Walk([], [])

    def add(t: Tensor) -> int:
        if id(t) not in index:
            index[id(t)] = len(result.tensors)
            result.tensors.append(t)
        return index[id(t)]

    stack, seen = [root], set()
    add(root)
    while stack:
        t = stack.pop()
        node, number = graph_node(t)
        if id(t) in seen or node is None:
            continue
        seen.add(id(t))
        if node.saved is None:
            raise ValueError("the graph was freed by backward(); build it again, or call "
                             "backward(retain_graph=True), before exploring it")
        inputs = [add(p) for p in node.parents]
        stack.extend(node.parents)
        result.ops.append(OpInfo(f"op{len(result.ops)}", node.op, inputs, index[id(t)], number))
    return result


def gradients(w: Walk) -> tuple[dict[int, np.ndarray], dict[tuple[str, int], np.ndarray]]:
    """dC/dt for every tensor that requires grad (C the root), and each op's contribution to
    each input: the reverse sweep, op by op in the engine's order, with each op's backward."""
    root = w.tensors[0]
    grads = {0: np.ones(root.shape, root.dtype)}
    parts: dict[tuple[str, int], np.ndarray] = {}
    for op in w.backward_order():
        g = grads.get(op.output)
        if g is None:
            continue
        node, _ = graph_node(w.tensors[op.output])
        pgs = node.op.backward(g, w.tensors[op.output].numpy(), *node.saved, **node.params)
        for k, (i, pg) in enumerate(zip(op.inputs, pgs)):
            if pg is None or not w.tensors[i].requires_grad:
                continue
            pg = unbroadcast(np.asarray(pg), w.tensors[i].shape, w.tensors[i].dtype)
            parts[op.id, k] = pg
            grads[i] = grads[i] + pg if i in grads else pg
    return grads, parts


def _bp_rules(w: Walk) -> None:
    """Fill each op's per-input rule: the first line of its docstring, and for the digit
    network's ops (Affine, Sigmoid, SquaredError) which of BP1-BP4 the step is."""
    readers: dict[int, list[OpInfo]] = {}
    for op in w.ops:
        for i in op.inputs:
            readers.setdefault(i, []).append(op)
    for op in w.ops:
        name, out = op.op.__name__, op.output
        feeds_cost = any(r.op.__name__ == "SquaredError" for r in readers.get(out, []))
        for k, i in enumerate(op.inputs):
            rule = ""
            if name == "SquaredError" and k == 0:
                rule = "BP1, first factor: ∇ₐC = (a − y)/n"
            elif name == "Sigmoid":
                rule = ("BP1: δᴸ = ∇ₐC ⊙ σ'(zᴸ)" if feeds_cost else
                        "BP2: δˡ = ((wˡ⁺¹)ᵀ δˡ⁺¹) ⊙ σ'(zˡ)")
            elif name == "Affine":
                rule = AFFINE_RULES[k] if k < 3 else ""
            op.rules.append(rule)


def summary(a: Any, cap: int = HEATMAP) -> dict:
    """What the page shows of an array: shape, dtype, norm and range; every number if it is
    small; else a heat map of at most cap x cap block means (of its first 2-D slice if it has
    more than two axes), scaled to its largest magnitude and stored as signed bytes."""
    a = np.asarray(a)
    out: dict[str, Any] = {"shape": list(a.shape), "dtype": str(a.dtype)}
    if a.dtype.kind not in "fiub" or a.size == 0:
        return out
    f = a.astype(np.float64)
    finite = f[np.isfinite(f)]
    out.update(norm=_num(np.linalg.norm(f)), min=_num(f.min()), max=_num(f.max()),
               mean=_num(f.mean()), nonfinite=int(f.size - finite.size))
    if a.size <= SMALL:
        out["values"] = [_num(v) for v in f.ravel()]
        return out
    m = f.reshape(1, -1) if f.ndim == 1 else f[(0,) * (f.ndim - 2)]
    if f.ndim > 2:
        out["slice"] = "[" + ", ".join(["0"] * (f.ndim - 2)) + ", :, :]"
    m = _block_means(np.nan_to_num(m, posinf=0.0, neginf=0.0), cap)
    scale = float(np.abs(m).max()) or 1.0
    q = np.round(m / scale * 127).astype(np.int8)
    out["heatmap"] = {"rows": q.shape[0], "cols": q.shape[1], "scale": _num(scale),
                      "data": base64.b64encode(q.tobytes()).decode("ascii")}
    return out


def _block_means(m: np.ndarray, cap: int) -> np.ndarray:
    """m shrunk to at most cap x cap by averaging blocks of neighbouring cells."""
    for axis in (0, 1):
        n = m.shape[axis]
        if n > cap:
            starts = np.linspace(0, n, cap, endpoint=False).astype(int)
            counts = np.diff(np.append(starts, n))
            m = np.add.reduceat(m, starts, axis=axis)
            m = m / (counts[:, None] if axis == 0 else counts[None, :])
    return m


def _num(v: Any) -> float | str:
    """A float for JSON (6 significant digits); 'nan'/'inf'/'-inf' as text."""
    v = float(v)
    return float(f"{v:.6g}") if math.isfinite(v) else str(v)


def _text_width(s: str) -> float:
    return 0.62 * FONT * len(s) + 12


def _labels(w: Walk, names: dict[int, str]) -> list[tuple[str, ...]]:
    """Each tensor's box label: its name (parameters), shape and dtype."""
    out = []
    for k, t in enumerate(w.tensors):
        first = names.get(id(t)) or ("C (root)" if k == 0 else "")
        out.append(tuple(s for s in (first, f"{tuple(t.shape)} {t.dtype}") if s))
    return out


def graph(w: Walk, labels: list[tuple[str, ...]]) -> Graph:
    """viz's Graph of the walk: tensor boxes t0.., op ellipses op0.."""
    nodes = []
    for k, t in enumerate(w.tensors):
        node, _ = graph_node(t)
        fill = ROOT_COLOR if k == 0 else (PARAM_COLOR if t.requires_grad and node is None
                                          else None)
        nodes.append(GraphNode(f"t{k}", "tensor", labels[k], fill))
    nodes += [GraphNode(op.id, "op", (op.op.__name__,)) for op in w.ops]
    edges = [(f"t{i}", op.id) for op in w.ops for i in op.inputs]
    edges += [(op.id, f"t{op.output}") for op in w.ops]
    return Graph(nodes, edges)


def layout(g: Graph) -> dict:
    """The graph's layered layout (viz's), left to right, in px, as the page draws it."""
    def size(n: GraphNode) -> tuple[float, float]:
        width = max(_text_width(s) for s in n.label)
        lines = len(n.label) * FONT * 1.3 + 10
        return (width * 1.15 + 10, lines + 4) if n.kind == "op" else (width, lines)
    lay = g.layout(size, "LR", gaps=(36.0, 14.0))
    return {"width": round(lay.width, 1), "height": round(lay.height, 1),
            "nodes": {i: [round(v, 1) for v in (*lay.pos[i], *lay.size[i])] for i in lay.pos},
            "fills": {n.id: n.fill for n in g.nodes if n.fill},
            "kinds": {n.id: n.kind for n in g.nodes},
            "labels": {n.id: list(n.label) for n in g.nodes if n.id.startswith("b")},
            "edges": [[a, b, [[round(x, 1), round(y, 1)] for x, y in r]]
                      for (a, b), r in zip(g.edges, lay.routes)]}


def repeated_run(w: Walk, fewest: int = 4, longest: int = 8) -> list[list[OpInfo]]:
    """The longest run of at least `fewest` repeated blocks (the same ops, each block reading
    the one before, up to `longest` ops a block) in the forward order, whose inner tensors
    are read only inside the run; [] if there is none."""
    fwd = w.forward_order()
    names = [o.op.__name__ for o in fwd]
    readers: dict[int, set[str]] = {}
    for op in w.ops:
        for i in op.inputs:
            readers.setdefault(i, set()).add(op.id)
    best: list[list[OpInfo]] = []
    for p in range(1, longest + 1):
        for start in range(len(fwd) - p * fewest + 1):
            blocks = [fwd[start:start + p]]
            while True:
                at = start + len(blocks) * p
                nxt = fwd[at:at + p]
                if names[at:at + p] != names[start:start + p] or \
                        blocks[-1][-1].output not in nxt[0].inputs:
                    break
                blocks.append(nxt)
            inside = {o.id for b in blocks for o in b}
            closed = all(readers.get(o.output, set()) <= inside for b in blocks for o in b
                         if o is not blocks[-1][-1])
            if len(blocks) >= fewest and closed and len(inside) > sum(map(len, best)):
                best = blocks
    return best


def collapsed(w: Walk, g: Graph, blocks: list[list[OpInfo]]) -> tuple[Graph, dict[str, str]]:
    """g with the blocks of a run but the first and the last drawn as one node "b0"; and the
    op ids inside it mapped to "b0"."""
    hidden_ops = {o.id for b in blocks[1:-1] for o in b}
    made = {o.output for b in blocks[1:-1] for o in b} - {blocks[-2][-1].output}
    used_elsewhere = {i for op in w.ops if op.id not in hidden_ops for i in op.inputs}
    leaves = {i for b in blocks[1:-1] for o in b for i in o.inputs
              if graph_node(w.tensors[i])[0] is None and i not in used_elsewhere}
    gone = hidden_ops | {f"t{i}" for i in made | leaves}
    names = ", ".join(o.op.__name__ for o in blocks[0])
    block = GraphNode("b0", "op", (f"{len(blocks) - 2} x [{names}]",))
    nodes = [n for n in g.nodes if n.id not in gone] + [block]
    entering = f"t{blocks[0][-1].output}"
    edges = [(a, b) for a, b in g.edges if a not in gone and b not in gone]
    edges += [(entering, "b0"), ("b0", f"t{blocks[-2][-1].output}")]
    return Graph(nodes, edges), {o: "b0" for o in hidden_ops}


def _tensor_kind(k: int, t: Tensor) -> str:
    node, _ = graph_node(t)
    if k == 0:
        return "the root (the cost)"
    if node is not None:
        return "an op's result"
    return "a parameter (a leaf that requires grad)" if t.requires_grad else \
        "a constant (data: no gradient)"


def page_data(root: Tensor, params: dict[str, Tensor] | None = None) -> dict:
    """Everything the page shows, as JSON values: tensors, ops, both orders and the layout."""
    names = {id(t): name for name, t in (params or {}).items()}
    w = walk(root)
    grads, parts = gradients(w)
    _bp_rules(w)
    labels = _labels(w, names)
    g = graph(w, labels)
    made_by = {op.output: op.id for op in w.ops}
    tensors = [{"id": f"t{k}", "label": list(labels[k]), "name": names.get(id(t), ""),
                "kind": _tensor_kind(k, t), "made_by": made_by.get(k),
                "value": summary(t.numpy()),
                "grad": summary(grads[k]) if k in grads else None}
               for k, t in enumerate(w.tensors)]
    ops = [{"id": op.id, "name": op.op.__name__,
            "formula": (op.op.__doc__ or "").strip().splitlines()[0] if op.op.__doc__ else "",
            "inputs": [f"t{i}" for i in op.inputs], "output": f"t{op.output}",
            "rules": op.rules,
            "parts": [summary(parts[op.id, k], 16) if (op.id, k) in parts else None
                      for k in range(len(op.inputs))]}
           for op in w.ops]
    data = {"tensors": tensors, "ops": ops,
            "forward": [op.id for op in w.forward_order()],
            "backward": [op.id for op in w.backward_order()], "layout": layout(g)}
    run = repeated_run(w)
    if run:
        small, inside = collapsed(w, g, run)
        data.update(collapsed=layout(small), inside=inside)
    return data


def _fragment(data: dict, page_id: str) -> str:
    """The explorer as an HTML fragment: a container, its style, its data and its script."""
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")
    return (f'<div class="tgl-explorer" id="{page_id}" tabindex="0" '
            f'aria-label="computation graph explorer">\n<style>{_CSS}</style>\n'
            f'{_BODY}\n<script type="application/json" class="tgl-data">{payload}</script>\n'
            f'<script>(function(){{const ID = "{page_id}";\n{_JS}\n}})();</script>\n</div>')


def _document(body: str, title: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html.escape(title)}</title>\n<style>html, body {{ margin: 0; "
            "height: 100%; } body > .tgl-explorer { height: 100vh; }</style>\n"
            f"</head>\n<body>\n{body}\n</body>\n</html>\n")


def to_html(root: Tensor, params: dict[str, Tensor] | None = None,
            title: str = "tinygrad_lite graph explorer") -> str:
    """A self-contained HTML page exploring the graph behind `root` (no network access: the
    script, style and drawing are inline); `params` names tensors (name -> tensor)."""
    return Explorer(root, params).html(title)


def write_html(path: str, root: Tensor, params: dict[str, Tensor] | None = None,
               replace: bool = True) -> str:
    """Write to_html(root, params) to `path` (atomically, as viz writes its files; ValueError
    for a path that cannot be written; with replace=False an existing file is kept and is an
    error); returns a line saying what was written."""
    text = to_html(root, params)
    write_file(path, lambda f: f.write(text.encode("utf-8")), replace=replace, error=ValueError)
    return f"wrote {path}: open it in a web browser (it needs no network)"


class Explorer:
    """The explorer of one graph; a notebook shows it inline (`_repr_html_`)."""

    def __init__(self, root: Tensor, params: dict[str, Tensor] | None = None) -> None:
        self.data = page_data(root, params)

    def _repr_html_(self) -> str:
        return _fragment(self.data, f"tgl-explorer-{next(_pages)}").replace(
            'class="tgl-explorer"', 'class="tgl-explorer tgl-inline"', 1)

    def html(self, title: str = "tinygrad_lite graph explorer") -> str:
        """The page as a whole HTML document."""
        return _document(_fragment(self.data, f"tgl-explorer-{next(_pages)}"), title)


def explore(root: Tensor, params: dict[str, Tensor] | None = None) -> Explorer:
    """An Explorer for the graph behind `root`: shown inline in a notebook."""
    return Explorer(root, params)


_BODY = """<div class="tgl-bar" role="toolbar" aria-label="graph controls">
<button type="button" class="tgl-back" title="step backward (left arrow)">
&#9664; step backward</button>
<button type="button" class="tgl-fwd" title="step forward (right arrow)">
step forward &#9654;</button>
<button type="button" class="tgl-reset" title="reset (Escape)">reset</button>
<button type="button" class="tgl-fit" title="fit the graph (0)">fit</button>
<button type="button" class="tgl-collapse" aria-pressed="false"
 title="draw each run of repeated blocks as one node">collapse repeats</button>
<button type="button" class="tgl-in" title="zoom in (+)">+</button>
<button type="button" class="tgl-out" title="zoom out (-)">&minus;</button>
<span class="tgl-status" role="status" aria-live="polite"></span>
</div>
<div class="tgl-main">
<svg class="tgl-svg" role="img"
 aria-label="the computation graph"><g class="tgl-view"></g></svg>
<div class="tgl-panel" aria-live="polite"><p class="tgl-help">Click a node (or focus it with
Tab and press Enter) for its op, formula, shape, values and gradient. Step through the forward
pass (right arrow) or the backward pass (left arrow) one op at a time. Drag to pan, mouse wheel
to zoom.</p></div>
</div>"""

_CSS = """
.tgl-explorer { display: flex; flex-direction: column; height: 640px; font: 13px/1.35 system-ui,
  -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; background: #fff;
  border: 1px solid #ccc; box-sizing: border-box; }
.tgl-explorer:focus { outline: 2px solid #4a7fd6; }
.tgl-bar { display: flex; gap: 6px; align-items: center; padding: 6px 8px;
  border-bottom: 1px solid #ddd; background: #f6f6f6; flex-wrap: wrap; }
.tgl-bar button { font: inherit; padding: 3px 10px; border: 1px solid #999; border-radius: 4px;
  background: #fff; cursor: pointer; }
.tgl-bar button:focus-visible { outline: 2px solid #4a7fd6; outline-offset: 1px; }
.tgl-status { margin-left: 8px; color: #333; }
.tgl-main { display: flex; flex: 1; min-height: 0; }
.tgl-svg { flex: 1; min-width: 0; height: 100%; cursor: grab; background: #fcfcfc;
  user-select: none; }
.tgl-svg.tgl-dragging { cursor: grabbing; }
.tgl-panel { width: 380px; max-width: 45%; overflow: auto; padding: 8px 12px;
  border-left: 1px solid #ddd; box-sizing: border-box; }
.tgl-panel h3 { margin: 4px 0 6px; font-size: 15px; }
.tgl-panel h4 { margin: 10px 0 4px; font-size: 13px; }
.tgl-panel .tgl-formula { font-family: ui-monospace, Menlo, Consolas, monospace;
  background: #f3f3f3; padding: 4px 6px; border-radius: 3px; white-space: pre-wrap; }
.tgl-panel .tgl-rule { color: #8a3b00; font-weight: 600; }
.tgl-panel table { border-collapse: collapse; font-size: 12px; }
.tgl-panel td { padding: 1px 6px 1px 0; font-family: ui-monospace, Menlo, Consolas, monospace; }
.tgl-panel canvas { image-rendering: pixelated; border: 1px solid #ccc; display: block;
  margin: 4px 0; }
.tgl-panel .tgl-note { color: #666; font-size: 12px; }
.tgl-node { cursor: pointer; }
.tgl-node:focus { outline: none; }
.tgl-node:focus .tgl-shape, .tgl-node.tgl-selected .tgl-shape { stroke: #1a56c4;
  stroke-width: 3; }
.tgl-shape { stroke: #222; stroke-width: 1; fill: #fff; }
.tgl-node text { font-size: 11px; fill: #111; pointer-events: none; }
.tgl-edge { fill: none; stroke: #555; stroke-width: 1; }
.tgl-node.tgl-visited .tgl-shape { fill: #e4e4e4; }
.tgl-node.tgl-current .tgl-shape { fill: #ffb347; stroke: #b35c00; stroke-width: 3; }
.tgl-node.tgl-arriving .tgl-shape { fill: #ffd6d6; stroke: #c0392b; stroke-width: 2.5; }
.tgl-node.tgl-receiving .tgl-shape { fill: #d7f5d7; stroke: #1e8449; stroke-width: 2.5; }
.tgl-edge.tgl-hot { stroke: #c0392b; stroke-width: 2.5; }
"""

_JS = r"""
const R = document.getElementById(ID);
const D = JSON.parse(R.querySelector(".tgl-data").textContent);
const NS = "http:" + "//www.w3.org/2000/svg";
const svg = R.querySelector(".tgl-svg"), view = R.querySelector(".tgl-view");
const panel = R.querySelector(".tgl-panel"), status = R.querySelector(".tgl-status");
const T = {}, O = {}, els = {}, edgeEls = [];
D.tensors.forEach(t => { T[t.id] = t; });
D.ops.forEach(o => { O[o.id] = o; });
let cam = {x: 0, y: 0, s: 1}, step = {kind: null, i: -1}, selected = null, shown = null;
const inside = D.inside || {};

function el(tag, attrs, parent) {
  const e = document.createElementNS(NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}
function h(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}
function edgeOf(node, toward, kind) {
  // where the line from a node's centre toward a point leaves its box or ellipse
  const [x, y, w, hh] = node, dx = toward[0] - x, dy = toward[1] - y, a = w / 2, b = hh / 2;
  let t = kind === "op" ? 1 / Math.max(Math.hypot(dx / a, dy / b), 1e-12) :
    Math.min(dx ? a / Math.abs(dx) : Infinity, dy ? b / Math.abs(dy) : Infinity);
  t = Math.min(t, 1);
  return [x + t * dx, y + t * dy];
}
function draw(L) {
  view.replaceChildren(); edgeEls.length = 0;
  for (const k in els) delete els[k];
  shown = L;
  const edges = el("g", {}, view);
  L.edges.forEach(([a, b, pts]) => {
    pts = pts.slice();
    pts[0] = edgeOf(L.nodes[a], pts[1], L.kinds[a]);
    pts[pts.length - 1] = edgeOf(L.nodes[b], pts[pts.length - 2], L.kinds[b]);
    const d = "M" + pts.map(p => p[0] + "," + p[1]).join(" L");
    const e = el("path", {d: d, class: "tgl-edge", "marker-end": "url(#" + ID + "-arrow)"},
                 edges);
    e.dataset.from = a; e.dataset.to = b; edgeEls.push(e);
  });
  const defs = svg.querySelector("defs") || el("defs", {}, svg);
  defs.replaceChildren();
  const m = el("marker", {id: ID + "-arrow", viewBox: "0 0 10 10", refX: 10, refY: 5,
                          markerWidth: 8, markerHeight: 8, markerUnits: "userSpaceOnUse",
                          orient: "auto-start-reverse"}, defs);
  el("path", {d: "M0,0 L10,5 L0,10 z", fill: "#555"}, m);
  for (const id in L.nodes) {
    const [x, y, w, hh] = L.nodes[id], kind = L.kinds[id];
    const g = el("g", {class: "tgl-node", tabindex: 0, role: "button"}, view);
    g.dataset.id = id;
    const fill = L.fills[id] || "#fff";
    const shape = kind === "op" ?
      el("ellipse", {cx: x, cy: y, rx: w / 2, ry: hh / 2, class: "tgl-shape"}, g) :
      el("rect", {x: x - w / 2, y: y - hh / 2, width: w, height: hh, class: "tgl-shape"}, g);
    shape.style.fill = fill; shape.dataset.fill = fill;
    const lines = id in T ? T[id].label : id in O ? [O[id].name] : L.labels[id];
    g.setAttribute("aria-label", (kind === "op" ? "op " : "tensor ") + lines.join(", "));
    lines.forEach((s, k) => {
      const t = el("text", {x: x, y: y + (k - (lines.length - 1) / 2) * 14 + 4,
                            "text-anchor": "middle"}, g);
      t.textContent = s;
    });
    g.addEventListener("click", ev => { if (!moved) select(id); });
    g.addEventListener("keydown", ev => {
      if (ev.key === "Enter" || ev.key === " ") { select(id); ev.preventDefault(); }
    });
    els[id] = g;
  }
}
function apply() {
  view.setAttribute("transform", `translate(${cam.x},${cam.y}) scale(${cam.s})`);
}
function fit() {
  const r = svg.getBoundingClientRect(), L = shown;
  const s = Math.min((r.width - 20) / Math.max(L.width, 1),
                     (r.height - 20) / Math.max(L.height, 1), 1.5);
  cam = {s: s, x: (r.width - L.width * s) / 2, y: (r.height - L.height * s) / 2};
  apply();
}
function zoom(f, cx, cy) {
  const r = svg.getBoundingClientRect();
  if (cx === undefined) { cx = r.width / 2; cy = r.height / 2; }
  const s = Math.min(Math.max(cam.s * f, 0.02), 8);
  cam.x = cx - (cx - cam.x) * s / cam.s; cam.y = cy - (cy - cam.y) * s / cam.s; cam.s = s;
  apply();
}
function centre(id) {
  const r = svg.getBoundingClientRect(), [x, y] = shown.nodes[node(id)];
  const jump = cam.s < 0.6;  // too small to read: zoom in on it
  if (jump) cam.s = 1;
  const sx = cam.x + x * cam.s, sy = cam.y + y * cam.s;
  if (jump || sx < 40 || sy < 40 || sx > r.width - 40 || sy > r.height - 40) {
    cam.x = r.width / 2 - x * cam.s; cam.y = r.height / 2 - y * cam.s; apply();
  }
}
let drag = null, moved = false;
svg.addEventListener("mousedown", ev => {
  drag = {x: ev.clientX, y: ev.clientY, cx: cam.x, cy: cam.y}; moved = false;
});
window.addEventListener("mousemove", ev => {
  if (!drag) return;
  const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
  if (Math.abs(dx) + Math.abs(dy) > 3) { moved = true; svg.classList.add("tgl-dragging"); }
  if (moved) { cam.x = drag.cx + dx; cam.y = drag.cy + dy; apply(); }
});
window.addEventListener("mouseup", () => { drag = null; svg.classList.remove("tgl-dragging"); });
svg.addEventListener("wheel", ev => {
  ev.preventDefault();
  const r = svg.getBoundingClientRect();
  zoom(Math.exp(-ev.deltaY * 0.0015), ev.clientX - r.left, ev.clientY - r.top);
}, {passive: false});

function fmt(v) {
  return typeof v === "number" ? String(+v.toPrecision(6)) : String(v);
}
function shapeText(s) {
  return "(" + s.shape.join(", ") + (s.shape.length === 1 ? ",)" : ")");
}
function heatmap(hm) {
  const bytes = atob(hm.data), c = document.createElement("canvas");
  const cell = Math.max(2, Math.floor(Math.min(320 / hm.cols, 200 / hm.rows)));
  c.width = hm.cols * cell; c.height = hm.rows * cell;
  const ctx = c.getContext("2d");
  for (let i = 0; i < hm.rows; i++) for (let j = 0; j < hm.cols; j++) {
    let q = bytes.charCodeAt(i * hm.cols + j); if (q > 127) q -= 256;
    const a = Math.abs(q) / 127, lo = Math.round(255 * (1 - a));
    ctx.fillStyle = q >= 0 ? `rgb(255,${lo},${lo})` : `rgb(${lo},${lo},255)`;
    ctx.fillRect(j * cell, i * cell, cell, cell);
  }
  return c;
}
function showArray(box, s, what) {
  if (!s) { box.appendChild(h("p", "none: this tensor needs no gradient", "tgl-note")); return; }
  const tab = h("table");
  const rows = [["shape", shapeText(s) + " " + s.dtype]];
  if (s.norm !== undefined) {
    rows.push(["norm", fmt(s.norm)], ["min / max", fmt(s.min) + " / " + fmt(s.max)],
              ["mean", fmt(s.mean)]);
    if (s.nonfinite) rows.push(["not finite", String(s.nonfinite)]);
  }
  rows.forEach(([k, v]) => {
    const tr = h("tr"); tr.appendChild(h("td", k)); const td = h("td", v); tr.appendChild(td);
    td.dataset.field = what + "-" + k.replace(/\W+/g, ""); tab.appendChild(tr);
  });
  box.appendChild(tab);
  if (s.values) box.appendChild(h("p", "[" + s.values.map(fmt).join(", ") + "]", "tgl-formula"));
  if (s.heatmap) {
    box.appendChild(heatmap(s.heatmap));
    const n = s.heatmap.rows + " x " + s.heatmap.cols;
    box.appendChild(h("p", `heat map${s.slice ? " of " + s.slice : ""}, ${n} cells` +
      ` (block means), red +, blue −, full colour ±${fmt(s.heatmap.scale)}`, "tgl-note"));
  }
}
function showTensor(id) {
  const t = T[id]; panel.replaceChildren();
  panel.appendChild(h("h3", (t.name || id) + "  ·  " + t.label[t.label.length - 1]));
  const sh = h("p", "shape " + shapeText(t.value) + ", dtype " + t.value.dtype);
  sh.dataset.field = "shape"; panel.appendChild(sh);
  panel.appendChild(h("p", t.kind + (t.made_by ? ", made by " + O[t.made_by].name : ""),
                      "tgl-note"));
  if (t.made_by) panel.appendChild(h("p", O[t.made_by].formula, "tgl-formula"));
  panel.appendChild(h("h4", "values"));
  showArray(panel, t.value, "value");
  panel.appendChild(h("h4", "gradient dC/d(this)"));
  showArray(panel, t.grad, "grad");
}
function showOp(id) {
  const o = O[id]; panel.replaceChildren();
  panel.appendChild(h("h3", o.name + "  ·  " + id));
  panel.appendChild(h("p", o.formula, "tgl-formula"));
  panel.appendChild(h("p", "inputs: " + o.inputs.map(i => T[i].name || i).join(", ") +
                      "; output: " + o.output, "tgl-note"));
  o.rules.forEach((r, k) => { if (r) panel.appendChild(h("p", (T[o.inputs[k]].name ||
                      o.inputs[k]) + ": " + r, "tgl-rule")); });
}
function showStep(o, kind) {
  panel.replaceChildren();
  const n = D[kind].length, k = step.i + 1;
  panel.appendChild(h("h3", `${kind} step ${k} of ${n}: ${o.name}`));
  panel.appendChild(h("p", o.formula, "tgl-formula"));
  if (kind === "forward") {
    panel.appendChild(h("h4", "reads " + o.inputs.join(", ") + ", makes " + o.output));
    showArray(panel, T[o.output].value, "value");
    return;
  }
  panel.appendChild(h("h4", "gradient arriving at its output " + o.output));
  showArray(panel, T[o.output].grad, "grad");
  o.inputs.forEach((i, k) => {
    const who = T[i].name ? T[i].name + " (" + i + ")" : i;
    panel.appendChild(h("h4", "→ to input " + who));
    if (o.rules[k]) panel.appendChild(h("p", o.rules[k], "tgl-rule"));
    if (o.parts[k]) showArray(panel, o.parts[k], "part" + k);
    else panel.appendChild(h("p", "no gradient: this input needs none", "tgl-note"));
  });
}
function node(id) {
  // where an op or tensor is drawn: itself, or the block of repeats it is collapsed into
  return id in els ? id : inside[id];
}
function mark() {
  for (const id in els) els[id].classList.remove("tgl-current", "tgl-arriving",
                                                 "tgl-receiving", "tgl-visited");
  edgeEls.forEach(e => e.classList.remove("tgl-hot"));
  if (selected && els[selected]) els[selected].classList.add("tgl-selected");
  if (!step.kind) return;
  const order = D[step.kind];
  order.slice(0, step.i + 1).forEach(id => { if (node(id)) els[node(id)].classList.add(
    "tgl-visited"); });
  if (step.i < 0 || step.i >= order.length) return;
  const o = O[order[step.i]], at = node(o.id);
  els[at].classList.add("tgl-current");
  if (step.kind === "backward") {
    if (els[o.output]) els[o.output].classList.add("tgl-arriving");
    o.inputs.forEach((i, k) => { if (o.parts[k] && els[i]) els[i].classList.add(
      "tgl-receiving"); });
    edgeEls.forEach(e => { if (e.dataset.to === at || e.dataset.from === at)
                             e.classList.add("tgl-hot"); });
  }
}
function showBlock(id) {
  panel.replaceChildren();
  const ops = D.forward.filter(o => inside[o] === id);
  panel.appendChild(h("h3", shown.labels[id][0]));
  panel.appendChild(h("p", `${ops.length} ops drawn as one node: "expand" draws them all`,
                      "tgl-note"));
  panel.appendChild(h("p", ops.map(o => O[o].name + " " + o).join(", "), "tgl-formula"));
}
function select(id) {
  if (selected && els[selected]) els[selected].classList.remove("tgl-selected");
  selected = id; els[id].classList.add("tgl-selected");
  (id in O ? showOp : id in T ? showTensor : showBlock)(id);
}
function go(kind) {
  if (step.kind !== kind) step = {kind: kind, i: -1};
  const order = D[kind];
  step.i = Math.min(step.i + 1, order.length);
  mark();
  if (step.i >= order.length) {
    status.textContent = `${kind} pass done: ${order.length} ops`;
    status.dataset.op = ""; status.dataset.index = String(order.length);
    return;
  }
  const o = O[order[step.i]];
  status.textContent = `${kind} ${step.i + 1}/${order.length}: ${o.name}`;
  status.dataset.op = o.id; status.dataset.kind = kind; status.dataset.index = String(step.i);
  showStep(o, kind); centre(o.id);
}
function reset() {
  step = {kind: null, i: -1}; mark();
  status.textContent = `${D.ops.length} ops, ${D.tensors.length} tensors`;
  status.dataset.op = "";
}
function toggle() {
  const small = shown === D.layout && D.collapsed;
  draw(small ? D.collapsed : D.layout);
  collapse.textContent = small ? "expand repeats" : "collapse repeats";
  collapse.setAttribute("aria-pressed", String(!!small));
  if (selected && !els[selected]) selected = null;
  mark(); fit();
}
const collapse = R.querySelector(".tgl-collapse");
if (D.collapsed) collapse.addEventListener("click", toggle); else collapse.remove();
R.querySelector(".tgl-back").addEventListener("click", () => go("backward"));
R.querySelector(".tgl-fwd").addEventListener("click", () => go("forward"));
R.querySelector(".tgl-reset").addEventListener("click", reset);
R.querySelector(".tgl-fit").addEventListener("click", fit);
R.querySelector(".tgl-in").addEventListener("click", () => zoom(1.25));
R.querySelector(".tgl-out").addEventListener("click", () => zoom(0.8));
R.addEventListener("keydown", ev => {
  const keys = {ArrowLeft: () => go("backward"), ArrowRight: () => go("forward"),
                Escape: reset, "+": () => zoom(1.25), "=": () => zoom(1.25),
                "-": () => zoom(0.8), "0": fit};
  if (keys[ev.key]) { keys[ev.key](); ev.preventDefault(); }
});
draw(D.layout); reset(); fit();
if (cam.s < 0.4) { cam.s = 0.6; centre("t0"); }  // a big graph: begin readable, at the root
if (R.parentElement === document.body) R.focus({preventScroll: true});  // a page of its own
R.dataset.ready = "1";
"""
