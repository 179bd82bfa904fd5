"""Every code reference in the formulations and ARCHITECTURE.md resolves: file paths
exist, ``tests/x.py::test_name`` names a test that exists, and ``module.name`` (a
module of ``bundleopt`` or ``bundleopt.optimize``) names something that module defines.
Renaming a module or a function must update the documents that cite it."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXTENSIONS = {"md", "py", "ipynb", "json", "csv", "html"}
# names the documents also use for objects, not modules (``model.attraction``: the Pyomo
# model's component; ``model.as_segments``: a fitted choice model's method)
INSTANCES = {"model"}
PACKAGES = {"bundleopt", "optimize", "choice", "np", "pd", "pyo", "highspy", "jax", "scipy"}
DOCS = sorted((ROOT / "formulations").glob("*.md")) + [ROOT / "ARCHITECTURE.md"]


@cache
def _defined(path: Path) -> frozenset[str]:
    """Top-level names a Python file defines (functions, classes, assignments, imports)."""
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return frozenset(names)


@cache
def _everything() -> frozenset[str]:
    """Functions and classes defined at the top of any module of ``bundleopt``."""
    out: set[str] = set()
    for path in (ROOT / "bundleopt").rglob("*.py"):
        tree = ast.parse(path.read_text())
        out |= {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    return frozenset(out)


def _module(stem: str) -> Path | None:
    """The module of ``bundleopt`` (any subpackage) with that name, if one."""
    for folder in (ROOT / "bundleopt" / "optimize", ROOT / "bundleopt"):
        path = folder / f"{stem}.py"
        if path.exists():
            return path
    return next(iter(sorted((ROOT / "bundleopt").rglob(f"{stem}.py"))), None)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_code_reference_resolves(doc: Path) -> None:
    text = doc.read_text()
    missing = []
    for path in re.findall(r"\b((?:bundleopt|tests|benchmarks|notebooks)/[\w/]+\.(?:py|md|ipynb))", text):
        if not (ROOT / path).exists():
            missing.append(path)
    for path, name in re.findall(r"(tests/test_\w+\.py)::(\w+)", text):
        if (ROOT / path).exists() and name not in _defined(ROOT / path):
            missing.append(f"{path}::{name}")
    for stem, name in re.findall(r"`(\w+)\.(\w+)(?:\(|`)", text):
        if name in EXTENSIONS or stem in INSTANCES or stem[0].isupper():  # Class.attribute
            continue
        module = _module(stem)
        if module is not None and name not in _defined(module):
            missing.append(f"{stem}.{name}")
        elif module is None and stem not in PACKAGES and name in _everything():
            missing.append(f"{stem}.{name} (no module {stem}.py)")  # a module renamed
    assert not missing, f"{doc.name} cites what does not exist: {missing}"
