"""tools/import_graph.py: edges (deferred, relative, typing-only) and the cycles it reports."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def ig():
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "tools" / "import_graph.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["import_graph"] = mod
    spec.loader.exec_module(mod)
    return mod


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    _write(tmp_path, {
        "pkg/__init__.py": "from pkg.a import f\n",
        "pkg/a.py": "import numpy\nfrom pkg import b\n\ndef f():\n    return b\n",
        "pkg/b.py": "def g():\n    from .sub.c import h\n    return h\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/c.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from pkg.a import f\n"
            "def h():\n    from ..b import g\n    return g\n"
        ),
    })
    return tmp_path


def test_edges_resolve_relative_and_deferred_imports(ig, toy):
    modules, edges = ig.import_edges(toy, "pkg")
    assert modules == ["pkg", "pkg.a", "pkg.b", "pkg.sub", "pkg.sub.c"]
    found = {(e.source, e.target, e.kind) for e in edges}
    assert found == {
        ("pkg", "pkg.a", "top"),
        ("pkg.a", "pkg.b", "top"),  # from pkg import b: the module b
        ("pkg.b", "pkg.sub.c", "deferred"),  # relative, inside a function
        ("pkg.sub.c", "pkg.a", "typing"),
        ("pkg.sub.c", "pkg.b", "deferred"),  # two levels up
    }


def test_cycles_count_deferred_imports_but_not_typing_ones(ig, toy):
    _, edges = ig.import_edges(toy, "pkg")
    adj = ig.graph(edges, ["top", "deferred"])
    assert ig.strongly_connected(adj) == [["pkg.b", "pkg.sub.c"]]
    assert ig.shortest_cycles(adj, ["pkg.b", "pkg.sub.c"]) == [["pkg.b", "pkg.sub.c"]]
    assert ig.strongly_connected(ig.graph(edges, ["top"])) == []
    with_typing = ig.strongly_connected(ig.graph(edges, ["top", "deferred", "typing"]))
    assert with_typing == [["pkg.a", "pkg.b", "pkg.sub.c"]]


def test_main_exit_status_and_collapsed_levels(ig, toy, capsys):
    assert ig.main(["--root", str(toy), "--package", "pkg", "--cycles-only"]) == 1
    out = capsys.readouterr().out
    assert "pkg.b -[deferred]-> pkg.sub.c -[deferred]-> pkg.b" in out
    assert ig.main(["--root", str(toy), "--package", "pkg", "--top-only"]) == 0
    out = capsys.readouterr().out
    assert "pkg.a -> pkg.b" in out and "no import cycles" in out
    # collapsed to two parts: pkg.sub.c is pkg.sub; pkg.b <-> pkg.sub remains a cycle
    assert ig.main(["--root", str(toy), "--package", "pkg", "--level", "2", "--cycles-only"]) == 1
    assert "pkg.b -[deferred]-> pkg.sub -[deferred]-> pkg.b" in capsys.readouterr().out


def test_choice_package_has_no_cycle_of_its_own(ig):
    """No cycle runs through bundleopt.choice's modules only (the package's own layering)."""
    _, edges = ig.import_edges(ROOT, "bundleopt")
    inside = [e for e in edges if e.source.startswith("bundleopt.choice") and e.target.startswith("bundleopt.choice")]
    assert ig.strongly_connected(ig.graph(inside, ["top", "deferred"])) == []


def test_bundleopt_has_no_import_cycle(ig):
    """The package's layers import one way (ARCHITECTURE.md), imports inside functions
    included: no cycle between modules, nor between the sub-packages."""
    assert ig.main(["--root", str(ROOT), "--package", "bundleopt", "--cycles-only"]) == 0
    assert ig.main(["--root", str(ROOT), "--package", "bundleopt", "--level", "2", "--cycles-only"]) == 0
