"""Explain an infeasible scenario by the rule families that conflict.

Deletion filter over families (Chinneck's IIS idea at the level of rule
families): start from every active family; drop one at a time and keep it dropped
when the rest stays infeasible. What remains is a minimal set of families that
cannot hold together (the core MNL rows alone are always feasible: the empty menu
satisfies them). Each check is a feasibility MILP with a zero objective.
"""

from __future__ import annotations

from typing import NoReturn

from bundleopt.optimize.model import active_families
from bundleopt.scenario import Scenario

FAMILY_SETTINGS = {
    "margin_floor": ("min_margin",),
    "margin_rate": ("min_margin_rate", "margin_rate_scope"),
    "cardinality": ("max_offers", "max_bundles"),
    "bundles_per_product": ("max_bundles_per_product",),
    "no_arbitrage": ("min_bundle_discount", "max_bundle_discount"),
    "cannibalisation": ("max_cannibalisation", "protected_products"),
    "fairness": ("max_price_spread",),
    "stock": ("stock",),
}


class InfeasibleScenarioError(ValueError):
    """No decision satisfies the scenario's rules; ``families`` names a conflicting set."""

    def __init__(self, message: str, families: tuple[str, ...]) -> None:
        super().__init__(message)
        self.families = families


def is_feasible(scenario: Scenario, families: list[str], *, threads: int | None = None,
                time_limit: float = 30.0) -> bool:
    """Does some decision satisfy the core rows plus ``families``? (Unknown counts as yes.)"""
    from bundleopt.optimize.milp import solve_milp

    run = solve_milp(scenario, families=families, threads=threads, time_limit=time_limit,
                     warm_start=False, feasibility_only=True)
    return run.status != "infeasible"


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
    c = scenario.constraints
    parts = []
    for f in families:
        settings = ", ".join(f"{a}={getattr(c, a)!r}" for a in FAMILY_SETTINGS[f])
        parts.append(f"{f} ({settings})")
    return "; ".join(parts)


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
