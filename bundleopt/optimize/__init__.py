"""Optimisation: the exact MILP (or per-segment LP), its rule families and HiGHS.

``solve(scenario) -> Solution`` is the entry point (:mod:`bundleopt.optimize.dispatch`);
``evaluate(scenario, decision)`` (from :mod:`bundleopt.optimize.evaluation`) scores any
decision exactly; ``TighteningOptions`` sets the bound tightening
(:mod:`bundleopt.optimize.schedule`). No submodule bears the name of a function
re-exported here.
"""

from __future__ import annotations

from bundleopt.optimize.diagnose import InfeasibleScenarioError
from bundleopt.optimize.dispatch import SolverError, solve
from bundleopt.optimize.evaluation import Evaluation, evaluate
from bundleopt.optimize.schedule import TighteningOptions
from bundleopt.solution import Solution, StageRecord

__all__ = ["Evaluation", "InfeasibleScenarioError", "Solution", "SolverError", "StageRecord",
           "TighteningOptions", "evaluate", "solve"]
