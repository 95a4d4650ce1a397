"""The computation graph behind a tensor, as Graphviz DOT text (no dependency needed).

    print(to_dot(cost, params=dict(model.named_parameters())))

One box per tensor (its name where known, shape, dtype, and after backward the norm of its
gradient) and one ellipse per op, with edges in the direction the data flows. backward() frees
the graph; call backward(retain_graph=True) first to draw it with gradients.
"""
from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np

from .files import write_file
from .tensor import Tensor

FORMATS = (".dot", ".gv", ".svg", ".png")  # what render() writes: DOT text, or Graphviz's output


class RenderError(RuntimeError):
    """Graphviz's dot program failed or took too long; the DOT text was written instead."""


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


def _write_text(path: str, text: str) -> None:
    write_file(path, lambda f: f.write(text.encode("utf-8")), replace=True, error=ValueError)


def render(dot: str, path: str, timeout: float = 60.0) -> str:
    """Write a graph's DOT text to `path`: as text for .dot/.gv, else rendered by Graphviz's
    `dot` program to .svg/.png. Without Graphviz, or if it fails or runs past `timeout` seconds,
    the DOT text goes beside `path` (same name, .dot) so nothing is lost; a failure then raises
    RenderError naming both files. Returns a line saying what was written."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        raise ValueError(f"{path}: use a {', '.join(FORMATS)} file name")
    if ext in (".dot", ".gv"):
        _write_text(path, dot)
        return f"wrote {path}; render it with: dot -Tsvg {path} -o graph.svg"
    dot_path = os.path.splitext(path)[0] + ".dot"
    program = shutil.which("dot")
    if program is None:
        _write_text(dot_path, dot)
        return (f"Graphviz's dot program is not installed (Debian: apt-get install graphviz), so "
                f"wrote {dot_path}; render it with: dot -T{ext[1:]} {dot_path} -o {path}")
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
        _write_text(dot_path, dot)
        raise RenderError(f"Graphviz's dot {why}; wrote the graph as {dot_path} instead")
    write_file(path, lambda f: f.write(image[0]), replace=True, error=ValueError)
    return f"wrote {path}"
