"""The distribution owns one import name, the library never imports its application, and the
tests run against the installed package."""
import ast
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import tinygrad_lite

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(tinygrad_lite.__file__).resolve().parent
INSTALLED_FROM_CHECKOUT = PACKAGE == ROOT / "tinygrad_lite"

# The library: the engine and everything a user's own network needs. The application (the
# command line, its plots, the seed's models) sits above it and may import it, never the reverse.
LIBRARY = ["tensor", "functional", "nn", "optim", "gradcheck", "capture", "serialization",
           "data", "train", "viz/__init__", "viz/graph", "viz/explorer", "ops/conv", "ops/elementwise", "ops/reduce",
           "ops/movement", "ops/layers", "observer", "creation", "errors", "autograd/__init__", "autograd/functional",
           "autograd/forward_ad"]
APPLICATION = {"tinygrad_lite.cli", "tinygrad_lite.plot", "tinygrad_lite.models", "models"}


@pytest.mark.skipif(not os.environ.get("CI"), reason="CI installs a wheel; a developer may "
                    "use an editable install")
def test_ci_tests_the_installed_package_not_the_checkout():
    assert not INSTALLED_FROM_CHECKOUT, f"tests imported the checkout's {PACKAGE}"


@pytest.mark.skipif(INSTALLED_FROM_CHECKOUT, reason="an editable install or a bare checkout")
def test_distribution_installs_one_top_level_name():
    files = metadata.distribution("tinygrad_lite").files
    tops = {f.parts[0] for f in files if not f.parts[0].endswith(".dist-info")
            and f.parts[0] not in ("..", "__pycache__") and f.suffix != ".pth"}
    assert tops == {"tinygrad_lite"}, tops


def _imports(path: Path) -> set:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the tinygrad_lite package
                base = "tinygrad_lite" + ("." + base if base else "")
                names.update(f"{base}.{a.name}" for a in node.names)
            names.add(base)
    return names


@pytest.mark.parametrize("module", LIBRARY)
def test_library_module_never_imports_the_application(module):
    bad = {n for n in _imports(PACKAGE / f"{module}.py")
           if any(n == a or n.startswith(a + ".") for a in APPLICATION)}
    assert not bad, f"tinygrad_lite/{module}.py imports {sorted(bad)}"


def test_the_layering_check_can_fail(tmp_path):
    (tmp_path / "m.py").write_text("from .models import DigitNet\nimport models.explain\n")
    assert {"tinygrad_lite.models", "models.explain"} <= _imports(tmp_path / "m.py")


def test_a_users_models_module_changes_nothing(tmp_path):
    """A user's own models.py and models/ in the working folder are not ours."""
    (tmp_path / "models.py").write_text("raise ImportError('the user models.py was imported')\n")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text("raise ImportError('user models/')\n")
    code = ("import tinygrad_lite.cli, tinygrad_lite.models.explain; "
            "from tinygrad_lite.models import DigitNet, NeuralNetwork; print('ok')")
    for argv, says in (([sys.executable, "-c", code], "ok"),
                       ([sys.executable, "-m", "tinygrad_lite", "--help"], "train")):
        proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and says in proc.stdout, proc.stderr


def test_every_subpackage_of_the_checkout_is_in_the_distribution():
    """A folder with an __init__.py that pyproject does not list would be missing from the
    wheel (the tests of an editable install would not notice)."""
    tomllib = pytest.importorskip("tomllib", reason="tomllib comes with Python 3.11")
    with open(ROOT / "pyproject.toml", "rb") as f:
        listed = set(tomllib.load(f)["tool"]["setuptools"]["packages"])
    found = {".".join(p.relative_to(ROOT).parent.parts)
             for p in (ROOT / "tinygrad_lite").rglob("__init__.py")}
    assert found <= listed, f"not in pyproject's packages: {sorted(found - listed)}"
