"""Optimisation: the exact MILP (or per-segment LP), its rule families and HiGHS.

``solve(scenario) -> Solution`` is the entry point; ``evaluate(scenario, decision)``
(from :mod:`bundleopt.optimize.evaluate`) scores any decision exactly.
"""

from __future__ import annotations

import importlib
from typing import Any

from bundleopt.optimize.diagnose import InfeasibleScenarioError
from bundleopt.optimize.solve import SolverError, solve
from bundleopt.solution import Solution

_LAZY = {"evaluate": "bundleopt.optimize.evaluate", "Evaluation": "bundleopt.optimize.evaluate"}

__all__ = ["InfeasibleScenarioError", "Solution", "SolverError", "solve", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'bundleopt.optimize' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
