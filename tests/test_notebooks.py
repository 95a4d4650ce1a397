"""The notebooks in examples/notebooks run top to bottom in a fresh kernel without an error, and
are stored with their outputs (pictures included), so they read on a code-hosting page.

Needs the notebook extra (pip install ".[notebook]"); CI installs it."""
import base64
import pathlib

import pytest

nbformat = pytest.importorskip("nbformat", reason="the notebook extra is not installed")
nbclient = pytest.importorskip("nbclient", reason="the notebook extra is not installed")
pytest.importorskip("ipykernel", reason="the notebook extra is not installed")
pytest.importorskip("matplotlib", reason="the notebook extra is not installed")

FOLDER = pathlib.Path(__file__).resolve().parents[1] / "examples" / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))
PNG = b"\x89PNG\r\n\x1a\n"


def images(nb):
    return [base64.b64decode(o["data"]["image/png"]) for c in nb.cells
            for o in c.get("outputs", []) if "image/png" in o.get("data", {})]


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 3, NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_notebook_runs_in_a_fresh_kernel_and_is_stored_with_its_outputs(path):
    stored = nbformat.read(path, as_version=4)
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(FOLDER)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    assert images(nb) and all(png.startswith(PNG) for png in images(nb))
    # every cell that shows something when run shows it in the stored file too
    for k, (ran, kept) in enumerate(zip(nb.cells, stored.cells)):
        if ran.cell_type == "code":
            assert bool(ran.outputs) == bool(kept.outputs), f"cell {k} of {path.name}"
    assert not [o for c in stored.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert len(images(stored)) == len(images(nb))


def test_a_failing_notebook_fails_the_check(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("1 / 0")]
    with pytest.raises(nbclient.exceptions.CellExecutionError, match="ZeroDivisionError"):
        nbclient.NotebookClient(nb, timeout=60, kernel_name="python3").execute()
