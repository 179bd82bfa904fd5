"""Optimisation: the exact MILP (or per-segment LP), its rule families and HiGHS.

``solve(scenario) -> Solution`` is the entry point; ``evaluate(scenario, decision)``
(from :mod:`bundleopt.optimize.evaluate`) scores any decision exactly.
"""

from __future__ import annotations

from bundleopt.optimize.diagnose import InfeasibleScenarioError
from bundleopt.optimize.evaluate import Evaluation, evaluate
from bundleopt.optimize.solve import SolverError, solve
from bundleopt.solution import Solution

__all__ = ["Evaluation", "InfeasibleScenarioError", "Solution", "SolverError", "evaluate", "solve"]
