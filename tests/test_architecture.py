"""Static facts about the package's layout, read from its source: the engine file stays short,
no module uses another's underscore names or writes its globals, no import cycle, no symbolic
link, no function longer than a screen. Each checker is shown failing on a planted example."""
from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (ROOT / "tinygrad_lite", ROOT / "models")
MAX_FUNCTION_LINES = 60
MAX_ENGINE_LINES = 800


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[0] == "models":
        parts.insert(0, "tinygrad_lite")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> dict[str, tuple[Path, ast.Module]]:
    """Every module of the package (models/ installed as tinygrad_lite.models): name -> tree."""
    out = {}
    for top in PACKAGES:
        for path in sorted(top.rglob("*.py")):
            out[_module_name(path)] = (path, ast.parse(path.read_text(), str(path)))
    return out


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(module: str, path: Path, tree: ast.Module, known: set) -> dict[str, set]:
    """module -> the package's modules it imports (anywhere in the file), and the names it
    takes from each (`from m import a, b`; a submodule imported by `from . import m` counts as
    an import of m)."""
    is_package = path.name == "__init__.py"
    found: dict[str, set] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name in known:
                    found.setdefault(a.name, set())
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_package, node)
            for a in node.names:
                sub = f"{target}.{a.name}"
                if sub in known:
                    found.setdefault(sub, set())
                elif target in known:
                    found.setdefault(target, set()).add(a.name)
    found.pop(module, None)
    return found


def _owned_names(tree: ast.Module) -> set:
    """Underscore names a module defines: its globals, its classes' attributes, slots and
    methods, and attributes its code assigns on any object."""
    owned = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            owned.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            owned.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)):
            owned.add(node.attr)
        elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__slots__" for t in node.targets):
            for elt in ast.walk(node.value):
                if isinstance(elt, ast.Constant) and isinstance(elt.value, str):
                    owned.add(elt.value)
    return owned


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_uses(mods: dict) -> list[str]:
    """Uses of another module's underscore names: imported by name, read as module._x, or read
    as obj._x where the module itself never defines or assigns _x."""
    known = set(mods)
    bad = []
    for name, (path, tree) in mods.items():
        imported = imports(name, path, tree, known)
        for target, names in imported.items():
            bad += [f"{path.name}: from {target} import {n}" for n in names if _private(n)]
        owned = _owned_names(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _private(node.attr) \
                    and node.attr not in owned:
                bad.append(f"{path.name}:{node.lineno}: .{node.attr}")
    return bad


def global_writes(mods: dict) -> list[str]:
    """Assignments to another module's globals: `engine.x = ...` where engine is a module."""
    known = set(mods)
    bad = []
    for name, (path, tree) in mods.items():
        aliases = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for a in node.names:
                    target = a.name if isinstance(node, ast.Import) else \
                        f"{_resolve(name, path.name == '__init__.py', node)}.{a.name}"
                    if target in known or a.name in known:
                        aliases.add(a.asname or a.name.split(".")[0])
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) \
                    and isinstance(node.value, ast.Name) and node.value.id in aliases:
                bad.append(f"{path.name}:{node.lineno}: {node.value.id}.{node.attr} = ...")
    return bad


def cycles(mods: dict) -> list[list[str]]:
    """Import cycles among the package's modules (a package's __init__ importing its own
    submodules does not count: that is how a package exposes them)."""
    known = set(mods)
    graph = {}
    for name, (path, tree) in mods.items():
        deps = set(imports(name, path, tree, known))
        graph[name] = {d for d in deps if not d.startswith(name + ".")}
    found, state = [], {}
    for start in graph:
        stack = [(start, iter(sorted(graph[start])))]
        path_ = [start]
        state[start] = state.get(start, 0) or 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                path_.pop()
                state[node] = 2
            elif nxt in path_:
                found.append(path_[path_.index(nxt):] + [nxt])
            elif state.get(nxt, 0) == 0:
                state[nxt] = 1
                stack.append((nxt, iter(sorted(graph[nxt]))))
                path_.append(nxt)
    return found


def long_functions(mods: dict, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    return [f"{path.name}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for _, (path, tree) in mods.items() for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > limit]


def links() -> list[str]:
    return [str(p) for top in PACKAGES for p, dirs, files in os.walk(top)
            for p in [Path(p) / n for n in dirs + files] if p.is_symlink()]


MODS = sources()


def test_engine_file_is_short_and_holds_no_ops():
    lines = (ROOT / "tinygrad_lite" / "tensor.py").read_text().count("\n")
    assert lines < MAX_ENGINE_LINES, f"tensor.py is {lines} lines"
    _, tree = MODS["tinygrad_lite.tensor"]
    ops = [n.name for n in tree.body if isinstance(n, ast.ClassDef)
           and any(getattr(b, "id", None) == "Function" for b in n.bases)]
    assert ops == [], f"ops defined in the engine file: {ops}"


def test_no_module_uses_another_modules_private_names():
    assert private_uses(MODS) == []


def test_no_module_writes_another_modules_globals():
    assert global_writes(MODS) == []


def test_no_import_cycle():
    assert cycles(MODS) == []


def test_no_function_over_a_screen():
    assert long_functions(MODS) == []


def test_no_symbolic_link_in_the_package():
    assert links() == []


def _planted(tmp_path, files: dict) -> dict:
    mods = {}
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        mods["pkg." + rel[:-3].replace("/", ".").replace(".__init__", "")] = \
            (path, ast.parse(text))
    return mods


def test_the_checkers_catch_planted_faults(tmp_path):
    mods = _planted(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from .b import _hidden\nfrom . import b\nb.setting = 1\n"
                    "def f(t):\n    return t._secret\n",
        "pkg/b.py": "from .a import f\n_hidden = 1\nsetting = 0\n",
        "pkg/c.py": "def g():\n" + "    x = 1\n" * 61,
    })
    mods = {k.replace("pkg.pkg", "pkg"): v for k, v in mods.items()}
    assert any("_hidden" in b for b in private_uses(mods))
    assert any("._secret" in b for b in private_uses(mods))
    assert global_writes(mods) == ["a.py:3: b.setting = ..."]
    assert cycles(mods), "the a <-> b cycle was not found"
    assert long_functions(mods) == ["c.py:1 g (62 lines)"]
