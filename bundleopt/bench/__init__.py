"""Benchmark suites, run by ``bundleopt bench SUITE`` (see ``benchmarks/README.md``).

Each suite module has ``run(quick, out, seed, progress, size=None) -> pandas.DataFrame``
and writes ``<suite>.csv``, ``<suite>.json`` (with machine, versions and seed) and
``<suite>.png`` into ``out``. Modules are imported on demand: :func:`suite_runner`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from bundleopt.bench.common import SIZES, SUITES

_MODULES = {"estimation": "estimation", "optimization": "optimization",
            "pricing": "pricing", "end-to-end": "end_to_end"}


def suite_runner(name: str) -> Callable:
    """The ``run`` function of suite ``name`` (one of :data:`SUITES`)."""
    if name not in _MODULES:
        raise ValueError(f"unknown benchmark suite {name!r}; choose one of {', '.join(SUITES)} or all")
    return importlib.import_module(f"bundleopt.bench.{_MODULES[name]}").run


__all__ = ["SIZES", "SUITES", "suite_runner"]
