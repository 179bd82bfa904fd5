"""Every code reference in formulations/*.md resolves: paths, a folder's file lists,
``module.name`` in a documented folder, and test names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "formulations").glob("*.md"))
TESTS_TEXT = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("*.py"))


def broken_references(text: str, root: Path = ROOT, tests_text: str = TESTS_TEXT) -> list[str]:
    """The references of one document that name nothing in the repository."""
    bad = []
    for m in re.finditer(r"`((?:bundleopt|tests|benchmarks|notebooks|formulations|tools)/[\w/.\-]*)`", text):
        if not (root / m.group(1).rstrip("/")).exists():
            bad.append(m.group(1))
    folders = [root / m.group(1) for m in re.finditer(r"`(bundleopt/[\w/]+/)`", text)]
    for m in re.finditer(r"`(bundleopt/[\w/]+/)`\s*\(([^)]*)\)", text):  # Code: `pkg/` (`a.py`, ...)
        bad += [m.group(1) + f for f in re.findall(r"`([\w.]+\.py)`", m.group(2)) if not (root / m.group(1) / f).exists()]
    for m in re.finditer(r"`(\w+)\.(\w+)`", text):  # `module.name` of a documented folder
        mod, attr = m.groups()
        for folder in folders:
            src = folder / f"{mod}.py"
            if attr != "py" and src.exists():
                pattern = rf"^\s*(?:def|class)\s+{attr}\b|^{attr}\s*[:=]"
                if not re.search(pattern, src.read_text(encoding="utf-8"), re.M):
                    bad.append(f"{mod}.{attr}")
    bad += [n for n in sorted(set(re.findall(r"`(test_\w+)`", text)))
            if f"def {n}" not in tests_text and not (root / "tests" / f"{n}.py").exists()]
    return bad


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_formulation_references_resolve(doc: Path) -> None:
    assert broken_references(doc.read_text(encoding="utf-8")) == []


def test_a_renamed_module_is_caught() -> None:
    """The checker sees a module that is gone, and a function absent from its module."""
    assert broken_references("Code: `bundleopt/choice/` (`optimize.py`, `fitting.py`)") == ["bundleopt/choice/optimize.py"]
    assert broken_references("`bundleopt/choice/` ... `fitting.maximize_loglik`, `fitting.nothing_here`") == [
        "fitting.nothing_here"]
    assert broken_references("see `test_no_such_test_anywhere`") == ["test_no_such_test_anywhere"]
