"""Notebook 04 (neural and mixed logit into the optimizer) executes, and is clean and generated."""

from __future__ import annotations

import runpy
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAME = "04_neural_and_mixed.ipynb"


@pytest.mark.slow  # fits mixed logits and neural models on Swissmetro and Ta-Feng: a few minutes
def test_notebook_04_executes(tmp_path):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(NOTEBOOKS / NAME, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{NAME} failed:\n{exc}", pytrace=False)


def test_notebook_04_is_clean_and_generated():
    nb = nbformat.read(NOTEBOOKS / NAME, as_version=4)
    nbformat.validate(nb)
    assert all(c.outputs == [] for c in nb.cells if c.cell_type == "code")
    expected = [c["source"] for c in runpy.run_path(str(NOTEBOOKS / "build_notebook_04.py"))["NEURAL_AND_MIXED"]]
    assert [c.source for c in nb.cells] == expected
