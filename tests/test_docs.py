"""The README and the pages in docs/ work as written: each page's ```python blocks run, in order,
in one fresh Python in an empty folder (a block marked `<!-- no-test -->` on the line before it
is skipped: kept for blocks that need long training), and every command they show names a
subcommand, flag, script, notebook or extra that exists. The README's test command is the one
.ci/run runs."""
import contextlib
import io
import os
import pathlib
import re
import subprocess
import sys
import tomllib

import pytest

from tinygrad_lite.cli.parse import COMMANDS

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"(<!-- no-test -->[ \t]*\n)?```([\w-]*)\n(.*?)```", re.S)
SHELL = {"", "sh", "bash", "shell", "console"}
NO_TEST = "<!-- no-test -->"
PROGRAMS = ("tinygrad-lite", ".venv/bin/tinygrad-lite", "python -m tinygrad_lite",
            ".venv/bin/python -m tinygrad_lite")
SUBCOMMANDS = set(COMMANDS)  # the command line's own table


def fenced(text):
    """(language, body, skipped) for each fenced block of a page."""
    return [(m.group(2), m.group(3), bool(m.group(1))) for m in FENCE.finditer(text)]


def python_blocks(page):
    return [body for lang, body, skipped in fenced(page.read_text("utf-8"))
            if lang == "python" and not skipped]


def commands(text):
    """The command lines a page shows: fenced shell lines (a line that starts with blanks and
    `[` or `--` continues the one before) and inline `tinygrad-lite ...` code."""
    found = []
    for lang, body, _ in fenced(text):
        if lang not in SHELL:
            continue
        for line in body.splitlines():
            if re.match(r"\s+(\[|--)", line) and found:
                found[-1] += " " + line.strip()
            elif line.strip() and not line.startswith(" "):
                found.append(line.strip())
    prose = FENCE.sub("", text)
    found += [m.group(1) for m in re.finditer(
        r"`((?:\.venv/bin/)?(?:tinygrad-lite|python3? \S+\.py)(?: [^`]*)?)`", prose)]
    return found


@contextlib.contextmanager
def _quiet():
    with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(out):
        yield out


_HELP = {}


def help_text(sub):
    """`tinygrad-lite SUB --help` (or the top-level help for sub None)."""
    if sub not in _HELP:
        from tinygrad_lite.cli import main
        with _quiet() as out:
            try:
                main([sub, "--help"] if sub else ["--help"])
            except SystemExit:
                pass
        _HELP[sub] = out.getvalue()
    return _HELP[sub]


def _pieces(line):
    """One command line cut into simple commands (&&, ;, |, a for loop's do/done)."""
    line = re.sub(r"\s+#.*$", "", line)
    for piece in re.split(r"\s*(?:&&|;|\|)\s*", line):
        piece = re.sub(r"^(do|then)\s+", "", piece.strip())
        if piece and not re.match(r"^(for|done|fi)\b", piece):
            yield piece


def problems(line):
    """What in a shown command line does not exist (empty when all of it does)."""
    found = []
    for piece in _pieces(line):
        flags = re.findall(r"(?<![\w-])--[a-z][\w-]*", piece)
        program = next((p for p in PROGRAMS if piece == p or piece.startswith(p + " ")), None)
        if program:
            rest = piece[len(program):].split()
            sub = rest[0] if rest and rest[0][0] not in "-[" else None
            if sub is not None and sub not in SUBCOMMANDS:
                found.append(f"{piece!r}: no subcommand {sub!r}")
                continue
            found += [f"{piece!r}: {flag} is not in `{sub or ''} --help`" for flag in flags
                      if flag not in help_text(sub)]
        elif m := re.match(r"(?:\.venv/bin/)?python3? (\S+\.py)\b", piece):
            script = ROOT / m.group(1)
            if not script.is_file():
                found.append(f"{piece!r}: no file {m.group(1)}")
            else:
                source = script.read_text("utf-8")
                found += [f"{piece!r}: {flag} is not in {m.group(1)}" for flag in flags
                          if f'"{flag}"' not in source]
        elif "pip install" in piece:
            extras = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
            known = extras["project"]["optional-dependencies"]
            for group in re.findall(r"\.\[([\w,-]+)\]", piece):
                found += [f"{piece!r}: no extra {e!r}" for e in group.split(",") if e not in known]
        for path in re.findall(r"examples/\S+\.ipynb", piece):
            if not (ROOT / path).is_file():
                found.append(f"{piece!r}: no notebook {path}")
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_pages_commands_exist(page):
    shown = commands(page.read_text("utf-8"))
    assert [p for line in shown for p in problems(line)] == []


def test_the_command_check_can_fail():
    assert problems("tinygrad-lite train --epochs 1 --no-save") == []
    assert problems("tinygrad-lite train --epochs 1 --no-such-flag")
    assert problems("tinygrad-lite traim --epochs 1")
    assert problems(".venv/bin/tinygrad-lite evaluate --hidden 30")      # a flag of train's
    assert problems("python examples/no_such_example.py")
    assert problems("python examples/curvature.py --no-such-flag")
    assert commands("run `python examples/none.py --plot x.png` to see") == [
        "python examples/none.py --plot x.png"]
    assert problems('.venv/bin/pip install ".[plots]"')
    assert problems("jupyter nbconvert --execute examples/notebooks/99_none.ipynb")
    assert problems("for S in 0 1; do tinygrad-lite train --sed $S; done")
    assert commands("```\ntinygrad-lite train [--epochs 30]\n        [--bogus N]\n```") == [
        "tinygrad-lite train [--epochs 30] [--bogus N]"]


def run_blocks(blocks, folder, timeout=60):
    """Run the blocks in order in one fresh Python in `folder`: (exit status, output)."""
    script = "\n\n".join(f"# --- block {k}\n{code}" for k, code in enumerate(blocks))
    env = dict(os.environ, MPLBACKEND="Agg")
    done = subprocess.run([sys.executable, "-c", script], cwd=folder, capture_output=True,
                          text=True, timeout=timeout, env=env)
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: p.name)
def test_the_pages_python_runs(page, tmp_path):
    code, out = run_blocks(python_blocks(page), tmp_path)
    if code and "No module named 'matplotlib'" in out:
        pytest.skip("matplotlib is not installed (the plot or notebook extra)")
    assert code == 0, out


def test_a_failing_block_fails_and_a_marked_one_is_skipped(tmp_path):
    assert run_blocks(["print(1)", "1 / 0"], tmp_path)[0] != 0
    page = tmp_path / "page.md"
    page.write_text(f"```python\nx = 1\n```\n\n{NO_TEST}\n```python\n1 / 0\n```\n")
    assert python_blocks(page) == ["x = 1\n"]


def test_the_no_test_marker_only_skips_python_blocks():
    for page in PAGES:
        for lang, _, skipped in fenced(page.read_text("utf-8")):
            assert lang == "python" or not skipped, page.name


def test_readme_example_prints_what_it_says(tmp_path):
    code, out = run_blocks(python_blocks(ROOT / "README.md")[:1], tmp_path)
    assert code == 0 and "(30, 784)" in out and "True" in out, out


def test_write_your_own_op_example_catches_the_wrong_gradient(tmp_path):
    section = (ROOT / "docs" / "engine.md").read_text("utf-8").split(
        "## Write your own op and gradcheck it")[1]
    code, out = run_blocks([fenced(section)[0][1]], tmp_path)
    assert code == 0 and out.split() == ["True", "False", "True"], out


def test_ci_runs_the_readme_test_command():
    first = fenced((ROOT / "README.md").read_text("utf-8"))[0][1].splitlines()
    assert first[1] == ".venv/bin/pytest"
    assert (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1] == first[1]


def test_every_page_is_linked_from_the_readme():
    readme = (ROOT / "README.md").read_text("utf-8")
    for page in PAGES[1:]:
        assert f"docs/{page.name}" in readme, page.name
    assert "docs/ops.md" in readme


def slug(heading):
    """A heading's anchor as code-hosting pages make it."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def broken_links(page, text):
    """Relative links of a page to a file that does not exist or to a heading it lacks
    (docs/ops.md, the op table, may be absent: it is written beside these pages)."""
    found = []
    for target in re.findall(r"\]\(([^)\s]+)\)", FENCE.sub("", text)):
        if re.match(r"\w+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            found += [] if file.name == "ops.md" else [f"{page.name}: no file {path}"]
        elif anchor and file.suffix == ".md":
            slugs = {slug(h) for h in re.findall(r"^#+ (.*)$", file.read_text("utf-8"), re.M)}
            found += [] if anchor in slugs else [f"{page.name}: no heading #{anchor} in {path}"]
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_pages_links_lead_somewhere(page):
    assert broken_links(page, page.read_text("utf-8")) == []


def test_the_link_check_can_fail():
    page = ROOT / "docs" / "engine.md"
    assert broken_links(page, "[a](architecture.md) [b](ops.md) [c](#tests)") == []
    assert broken_links(page, "[a](no_such_page.md)")
    assert broken_links(page, "[a](results.md#no-such-heading)")
    assert slug("Looking inside: the graph, the explorer") == "looking-inside-the-graph-the-explorer"
