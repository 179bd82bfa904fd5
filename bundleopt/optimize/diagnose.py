"""Explain an infeasible scenario by the rule families that conflict.

The families, their settings and how each is left out come from the rule registry
(:mod:`bundleopt.optimize.rules`): a family is relaxed by leaving its rows out of the
build (``build_model(families=...)``).

Deletion filter over families (Chinneck's IIS idea at the level of rule
families): start from every active family; drop one at a time and keep it dropped
when the rest stays infeasible. What remains is a minimal set of families that
cannot hold together (the core MNL rows alone are always feasible: the empty menu
satisfies them). Each check is a feasibility MILP with a zero objective.
"""

from __future__ import annotations

from typing import NoReturn

import pyomo.environ as pyo

from bundleopt.optimize.errors import InfeasibleScenarioError
from bundleopt.optimize.highs_backend import TriviallyInfeasible, compile_model, solve_compiled
from bundleopt.optimize.model import build_model
from bundleopt.optimize.rules import active_families, family
from bundleopt.scenario import Scenario


def is_feasible(scenario: Scenario, families: list[str], *, threads: int | None = None,
                time_limit: float = 30.0) -> bool:
    """Does some decision satisfy the core rows plus ``families``? (Unknown counts as yes.)

    A feasibility MILP: the model with only these families' rows and a zero objective,
    solved by HiGHS without a warm start or bound tightening (nothing to tighten against).
    """
    model = build_model(scenario, families=families)
    model.profit.deactivate()
    model.zero = pyo.Objective(expr=0.0 * model.x[0])
    try:
        cm = compile_model(model)
    except TriviallyInfeasible:
        return False
    return solve_compiled(cm, time_limit=time_limit, threads=threads).status != "infeasible"


def conflicting_families(scenario: Scenario, *, threads: int | None = None) -> list[str]:
    """A minimal set of active families whose rules cannot all hold (deletion filter).

    Empty when the scenario is feasible.
    """
    keep = active_families(scenario)
    if is_feasible(scenario, keep, threads=threads):
        return []
    for name in list(keep):
        trial = [f for f in keep if f != name]
        if not is_feasible(scenario, trial, threads=threads):
            keep = trial
    return keep


def describe(scenario: Scenario, families: list[str]) -> str:
    """One line per family with its settings."""
    return "; ".join(family(f).describe(scenario.constraints) for f in families)


def raise_infeasible(scenario: Scenario, *, threads: int | None = None) -> NoReturn:
    """Raise :class:`InfeasibleScenarioError` naming the conflicting families."""
    found = conflicting_families(scenario, threads=threads)
    if found:
        msg = (f"no decision satisfies the scenario's rules; these rule families conflict: "
               f"{describe(scenario, found)}. Relax one of them.")
    else:
        msg = ("the solver reported the scenario infeasible, but every family check passed "
               "(numerical trouble?); active families: " + ", ".join(active_families(scenario)))
    raise InfeasibleScenarioError(msg, tuple(found))


__all__ = ["InfeasibleScenarioError", "conflicting_families", "describe", "is_feasible", "raise_infeasible"]
