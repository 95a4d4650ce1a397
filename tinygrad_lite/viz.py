"""The computation graph behind a tensor, as Graphviz DOT text (no dependency needed).

    print(to_dot(cost, params=dict(model.named_parameters())))

One box per tensor (its name where known, shape, dtype, and after backward the norm of its
gradient) and one ellipse per op, with edges in the direction the data flows. backward() frees
the graph; call backward(retain_graph=True) first to draw it with gradients.
"""
from __future__ import annotations

import numpy as np

from .tensor import Tensor


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(root: Tensor, params: dict[str, Tensor] | None = None) -> str:
    """DOT text for the graph that produced `root`; `params` names tensors (name -> tensor)."""
    names = {id(t): name for name, t in (params or {}).items()}
    ids: dict[int, str] = {}
    lines = ["digraph tinygrad_lite {", "  rankdir=LR;",
             '  node [fontname="Helvetica", fontsize=10];']

    def tensor_node(t: Tensor) -> str:
        if id(t) in ids:
            return ids[id(t)]
        ids[id(t)] = node = f"t{len(ids)}"
        label = [names[id(t)]] if id(t) in names else []
        label.append(f"{t.shape} {t.dtype}")
        if t.grad is not None:
            label.append(f"|grad| = {np.linalg.norm(t.grad):.3g}")
        style = ', style=filled, fillcolor="lightblue"' if t.requires_grad and t.is_leaf else ""
        if t is root:
            style = ', style=filled, fillcolor="gold"'
        lines.append(f"  {node} [shape=box, label={_quote(chr(10).join(label))}{style}];")
        return node

    stack, seen = [root], set()
    tensor_node(root)
    while stack:
        t = stack.pop()
        node = t._node
        if id(t) in seen or node is None:
            continue
        seen.add(id(t))
        op = f"op{len(seen)}"
        name = node.op.__name__ + (" (graph freed)" if node.saved is None else "")
        lines.append(f"  {op} [shape=ellipse, label={_quote(name)}];")
        for p in node.parents:
            lines.append(f"  {tensor_node(p)} -> {op};")
            stack.append(p)
        lines.append(f"  {op} -> {ids[id(t)]};")
    lines.append("}")
    return "\n".join(lines) + "\n"
