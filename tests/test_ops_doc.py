"""docs/ops.md lists every op of the engine (each Function registered in `ops`)."""
import os
import re

import tinygrad_lite  # noqa: F401 (registers the ops)
from tinygrad_lite.tensor import Function
from tinygrad_lite.tensor_methods import ops

DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "ops.md")


def missing(text, names):
    """The op names that no table row of text mentions as `Name`."""
    rows = "\n".join(line for line in text.splitlines() if line.startswith("|"))
    return sorted(n for n in names if not re.search(rf"`{n}`", rows))


def op_names():
    return {n for n, v in vars(ops).items() if isinstance(v, type) and issubclass(v, Function)}


def test_every_op_has_a_row_in_docs_ops():
    with open(DOC, encoding="utf-8") as f:
        assert missing(f.read(), op_names()) == []


def test_the_check_finds_an_op_left_out():
    assert missing("| `Add` | a + b |\n`Mul` in prose only", {"Add", "Mul"}) == ["Mul"]
