"""The import graph of a Python package, and its cycles, read from the source with ``ast``.

Every ``import`` / ``from ... import`` statement counts, wherever it is: at module level
(``top``), inside a function or method (``deferred``: it runs on the first call, which hides
a cycle from the interpreter but not from a reader), or under ``if TYPE_CHECKING:``
(``typing``: never run; left out of the cycles unless ``--typing``). Relative imports are
resolved. ``from pkg import name`` is an edge to the module ``pkg.name`` when that is a
module of the package, else to ``pkg`` itself (its ``__init__``). A package's ``__init__``
is not implied by importing one of its submodules (as in import-linter and pydeps): an edge
is what the source names.

A cycle is a strongly connected component of two or more modules (or a module importing
itself); for each one the script prints the shortest cycle through each of its modules.

Usage::

    python tools/import_graph.py                 # bundleopt, next to this folder
    python tools/import_graph.py --root PATH --package NAME
    python tools/import_graph.py --level 2       # collapse to bundleopt.<sub>
    python tools/import_graph.py --top-only      # module-level imports only
    python tools/import_graph.py --cycles-only

Exit status: 0 when there is no cycle, 1 when there is one (so CI can use it).
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

KINDS = ("top", "deferred", "typing")


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target`` (both dotted module names) at ``line``; ``kind`` in KINDS."""

    source: str
    target: str
    kind: str
    line: int


def package_modules(root: Path, package: str) -> dict[str, Path]:
    """Dotted name -> file of every module of ``package`` under ``root`` (``__init__`` is the package)."""
    base = root / package
    if not (base / "__init__.py").is_file():
        raise SystemExit(f"{base} is not a package (no __init__.py): pass --root and --package")
    out: dict[str, Path] = {}
    for path in sorted(base.rglob("*.py")):
        rel = path.relative_to(root).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(not p.isidentifier() for p in parts):
            continue
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module) -> Iterable[tuple[ast.Import | ast.ImportFrom, str]]:
    """Every import statement with its kind (module level, inside a function, typing only)."""

    def walk(node: ast.AST, kind: str) -> Iterable[tuple[ast.Import | ast.ImportFrom, str]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, kind
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                yield from walk(child, "typing" if kind == "typing" else "deferred")
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    yield from walk(ast.Module(body=[stmt], type_ignores=[]), "typing")
                for stmt in child.orelse:
                    yield from walk(ast.Module(body=[stmt], type_ignores=[]), kind)
            else:
                yield from walk(child, kind)

    yield from walk(tree, "top")


def _resolve(module: str, is_package: bool, node: ast.Import | ast.ImportFrom, known: set[str]) -> list[str]:
    """The package modules an import statement names."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
        return [_longest_known(n, known) for n in names if _longest_known(n, known)]
    if node.level:
        here = module.split(".") if is_package else module.split(".")[:-1]
        up = here[: len(here) - (node.level - 1)] if node.level > 1 else here
        base = ".".join(up + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    out = []
    for alias in node.names:
        full = f"{base}.{alias.name}"
        if full in known:
            out.append(full)
        elif _longest_known(base, known):
            out.append(_longest_known(base, known))
    return out


def _longest_known(name: str, known: set[str]) -> str:
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        cand = ".".join(parts[:n])
        if cand in known:
            return cand
    return ""


def import_edges(root: Path, package: str) -> tuple[list[str], list[Edge]]:
    """The modules of ``package`` and every import edge between them (self-edges kept)."""
    modules = package_modules(root, package)
    known = set(modules)
    edges: set[Edge] = set()
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for node, kind in _imports(tree):
            for target in _resolve(name, is_package, node, known):
                edges.add(Edge(name, target, kind, node.lineno))
    return sorted(modules), sorted(edges, key=lambda e: (e.source, e.target, e.line))


def collapse(name: str, level: int | None) -> str:
    """``a.b.c`` at level 2 -> ``a.b`` (None: unchanged)."""
    return name if level is None else ".".join(name.split(".")[:level])


def graph(edges: Iterable[Edge], kinds: Iterable[str], level: int | None = None) -> dict[str, dict[str, set[str]]]:
    """``{source: {target: kinds}}`` over the edges of the given kinds, names collapsed to ``level``."""
    wanted = set(kinds)
    out: dict[str, dict[str, set[str]]] = {}
    for e in edges:
        if e.kind not in wanted:
            continue
        s, t = collapse(e.source, level), collapse(e.target, level)
        if s == t and level is not None and e.source != e.target:
            continue  # inside one collapsed group: not a dependency between groups
        out.setdefault(s, {}).setdefault(t, set()).add(e.kind)
    return out


def strongly_connected(adj: dict[str, dict[str, set[str]]]) -> list[list[str]]:
    """Tarjan's strongly connected components with a cycle (size > 1, or a self-import)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    comps: list[list[str]] = []
    nodes = sorted(set(adj) | {t for ts in adj.values() for t in ts})
    counter = [0]

    def visit(v: str) -> None:  # recursive: import graphs are shallow
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(adj.get(v, {})):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in adj.get(v, {}):
                comps.append(sorted(comp))

    for v in nodes:
        if v not in index:
            visit(v)
    return sorted(comps)


def shortest_cycles(adj: dict[str, dict[str, set[str]]], component: list[str]) -> list[list[str]]:
    """The shortest cycle through each module of ``component`` (rotations removed), by BFS."""
    members = set(component)
    found: dict[tuple[str, ...], list[str]] = {}
    for start in component:
        prev: dict[str, str] = {}
        queue = deque([start])
        seen = {start}
        path = None
        while queue and path is None:
            v = queue.popleft()
            for w in sorted(adj.get(v, {})):
                if w not in members:
                    continue
                if w == start:
                    path = [start]
                    u = v
                    while u != start:
                        path.append(u)
                        u = prev[u]
                    path = [start, *reversed(path[1:])]
                    break
                if w not in seen:
                    seen.add(w)
                    prev[w] = v
                    queue.append(w)
        if path is not None:
            k = path.index(min(path))
            canon = tuple(path[k:] + path[:k])
            found.setdefault(canon, list(canon))
    return sorted(found.values(), key=lambda c: (len(c), c))


def describe_cycle(adj: dict[str, dict[str, set[str]]], cycle: list[str]) -> str:
    """``a -> b (deferred) -> a`` with each edge's kinds."""
    parts = [cycle[0]]
    for a, b in zip(cycle, cycle[1:] + cycle[:1], strict=True):
        parts.append(f"-[{'/'.join(sorted(adj[a][b]))}]-> {b}")
    return " ".join(parts)


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=here, help="folder holding the package (default: the repository)")
    ap.add_argument("--package", default="bundleopt")
    ap.add_argument("--level", type=int, default=None, help="collapse module names to this many dotted parts")
    ap.add_argument("--top-only", action="store_true", help="module-level imports only (no deferred ones)")
    ap.add_argument("--typing", action="store_true", help="count imports under `if TYPE_CHECKING:` too")
    ap.add_argument("--cycles-only", action="store_true", help="print the cycles, not the whole graph")
    args = ap.parse_args(argv)

    modules, edges = import_edges(args.root, args.package)
    kinds = ["top"] if args.top_only else ["top", "deferred"]
    if args.typing:
        kinds.append("typing")
    adj = graph(edges, kinds, args.level)
    names = sorted({collapse(m, args.level) for m in modules})
    if not args.cycles_only:
        print(f"# import graph of {args.package}: {len(names)} modules, "
              f"{sum(len(t) for t in adj.values())} edges (kinds: {', '.join(kinds)})")
        for m in names:
            targets = adj.get(m, {})
            listed = ", ".join(f"{t}" + ("" if ks == {"top"} else f" ({'/'.join(sorted(ks))})")
                               for t, ks in sorted(targets.items()))
            print(f"{m} -> {listed}" if listed else f"{m}")
        print()
    comps = strongly_connected(adj)
    if not comps:
        print("no import cycles")
        return 0
    print(f"{len(comps)} group(s) of modules in import cycles:")
    for comp in comps:
        print(f"- {{{', '.join(comp)}}}")
        for cyc in shortest_cycles(adj, comp):
            print(f"    {describe_cycle(adj, cyc)}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
