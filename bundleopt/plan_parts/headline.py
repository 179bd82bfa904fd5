"""The honest headline: the plan's gain over the shop as it is, split into its parts.

The base is the **status quo**: every product the shop sells at its list price, one
menu for everybody, no bundle deal (:meth:`bundleopt.Scenario.status_quo`). The gain
``profit(plan) - profit(status quo)`` is split by walking through intermediate
decisions, each scored exactly with :func:`bundleopt.optimize.evaluate` on the plan's
scenario::

    d0  status quo
    d1  d0 without the loss-making products (list price <= unit cost)
    d2  best one-price-for-all menu of singles (price changes; no bundles)
    d3  best one-price-for-all menu with bundles
    d4  the plan (personalised menus when asked)

and part ``i`` is ``profit(d_i) - profit(d_{i-1})``, so the parts add up to the total
gain exactly (a telescoping sum). Each of ``d2`` and ``d3`` is the optimum of a
restricted problem (the plan's rules, plus ``max_bundles = 0`` for ``d2``, uniform
prices for both); when the restricted solve finds less than the previous decision
(and that decision keeps the restricted problem's rules) the previous decision is kept,
so a part is never negative because of a solver's time limit.

Percentages are taken of the status quo's profit only when it is a meaningful base:
positive and at least ``min_base_margin`` of the status quo's revenue. Otherwise they
are "n/a" with the reason (a negative base flips the sign of a ratio, a near-zero one
blows it up).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from bundleopt.scenario import NOT_OFFERED, Decision, Scenario

__all__ = ["Headline", "decompose_gain", "loss_makers", "percent_base"]

STEP_NAMES = ("status_quo", "stop_loss_makers", "price_changes", "bundles", "personalisation")


@dataclass(frozen=True)
class Headline:
    """The gain over the status quo and its parts (plain data).

    Attributes
    ----------
    steps : one row per decision ``d0..d4``: ``step``, ``description``, ``profit``,
        ``revenue``, ``part`` (``profit - previous profit``; 0 for ``d0``),
        ``part_pct`` (part / base profit, NaN when n/a), ``feasible`` (the decision
        keeps the plan's rules), ``note``.
    base_profit, profit : the status quo's and the plan's expected profit.
    gain : ``profit - base_profit`` (= the sum of the parts).
    uplift : ``gain / base_profit``, NaN when the base is not meaningful.
    uplift_note : "" or why the uplift is "n/a".
    loss_makers : the products dropped in ``d1`` (list price <= unit cost).
    decisions : step name -> the :class:`~bundleopt.scenario.Decision` scored.
    """

    steps: pd.DataFrame
    base_profit: float
    profit: float
    gain: float
    uplift: float
    uplift_note: str
    loss_makers: tuple[Any, ...]
    decisions: dict[str, Decision]

    def uplift_text(self) -> str:
        """``"+1.2%"`` or ``"n/a (why)"``."""
        return f"{self.uplift:+.1%}" if math.isfinite(self.uplift) else f"n/a ({self.uplift_note})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary (decisions left out: they are in the plan table)."""
        return {"base": "status_quo", "base_profit": self.base_profit, "profit": self.profit,
                "gain": self.gain, "uplift": self.uplift if math.isfinite(self.uplift) else None,
                "uplift_note": self.uplift_note, "loss_makers": [str(p) for p in self.loss_makers],
                "steps": self.steps.astype(object).where(self.steps.notna(), None).to_dict(orient="records")}


def percent_base(profit: float, revenue: float, min_base_margin: float = 0.01,
                 what: str = "the status quo's") -> str:
    """"" when ``profit`` is a meaningful base for percentages, else why not.

    Meaningful: ``profit > 0`` and ``profit >= min_base_margin * revenue`` (a margin of
    at least 1 % by default: below that a small absolute change reads as a huge share).
    """
    if not math.isfinite(profit):
        return "the base profit is not a number"
    if profit < 0:
        return f"{what} modelled profit is negative ({profit:,.2f}): a share of it has no meaning"
    if profit == 0 or profit < min_base_margin * revenue:
        return (f"{what} modelled profit ({profit:,.2f}) is near zero "
                f"(under {min_base_margin:.0%} of its revenue {revenue:,.2f}): a share of it would mislead")
    return ""


def loss_makers(scenario: Scenario) -> list[int]:
    """Single offers whose list price does not cover their unit cost (``p_list <= c``)."""
    list_p = scenario.list_prices()
    return [o for o in range(scenario.n_offers)
            if not scenario.is_bundle[o] and list_p[o] <= scenario.costs[o]]


def _tile(scenario: Scenario, row: np.ndarray) -> Decision:
    return Decision(np.tile(np.asarray(row, dtype=int), (scenario.n_menus, 1)))


def _best_uniform(sub: Scenario, sol: Any, previous: np.ndarray, plan: Decision,
                  singles_only: bool) -> tuple[np.ndarray, str]:
    """The best one-menu decision known for the restricted problem ``sub``, and a note.

    Candidates: the re-solve's answer, the previous step's decision, and each of the
    plan's menus offered to everybody (bundles dropped for the singles-only step). All
    are scored exactly on ``sub`` and only those keeping its rules count, so a re-solve
    stopped by its time limit does not move the gain to the last step.
    """
    from bundleopt.optimize.evaluation import evaluate_many

    menus = np.asarray(plan.levels, dtype=int).copy()
    if singles_only:
        menus[:, sub.is_bundle] = NOT_OFFERED
    cands = np.concatenate([np.asarray(sol.decision.levels[:1], dtype=int), np.asarray(previous)[None], menus])
    ev = evaluate_many(sub, cands[:, None, :])
    labels = [f"re-solved with one price for all ({sol.status})", "the previous step kept (the re-solve found less)",
              *[f"a segment's menu of the plan offered to all (the re-solve, {sol.status}, found less)"] * len(menus)]
    score = np.where(ev.feasible, ev.profit, -np.inf)
    best = int(np.argmax(score)) if np.isfinite(score).any() else 0
    if np.isfinite(score[0]) and score[0] >= score[best]:
        best = 0  # ties go to the re-solve's answer
    return cands[best], labels[best]


def decompose_gain(
    scenario: Scenario,
    plan_decision: Decision,
    *,
    solve: Callable[[Scenario], Any] | None = None,
    min_base_margin: float = 0.01,
) -> Headline:
    """Split ``profit(plan_decision) - profit(status quo)`` into its parts (module docstring).

    ``solve(scenario) -> Solution`` solves the restricted problems (default:
    :func:`bundleopt.optimize.solve` with its defaults).
    """
    from bundleopt.optimize import evaluate
    from bundleopt.optimize import solve as default_solve

    solve = solve or default_solve
    sq = scenario.status_quo().levels[0].copy()
    losing = loss_makers(scenario)
    d1 = sq.copy()
    d1[losing] = NOT_OFFERED
    decisions: dict[str, Decision] = {"status_quo": _tile(scenario, sq), "stop_loss_makers": _tile(scenario, d1)}
    notes = {"status_quo": "every product at its list price, one menu, no bundle deal",
             "stop_loss_makers": (f"{len(losing)} product(s) whose list price does not cover their cost "
                                  "taken off sale" if losing else "no product sells below cost")}

    uniform = replace(scenario, personalised=False)
    singles = uniform.with_constraints(max_bundles=0)
    previous = d1
    for name, sub in (("price_changes", singles), ("bundles", uniform)):
        if name == "bundles" and not scenario.personalised:
            row, note = plan_decision.levels[0], "the plan itself (uniform prices asked)"
        elif name == "bundles" and not scenario.is_bundle.any():
            row, note = previous, "no bundle candidates: nothing to add"
        else:
            sol = solve(sub)
            row, note = _best_uniform(sub, sol, previous, plan_decision, singles_only=name == "price_changes")
        decisions[name] = _tile(scenario, row)
        notes[name] = note
        previous = np.asarray(row)
    decisions["personalisation"] = Decision(np.asarray(plan_decision.levels))
    notes["personalisation"] = ("one menu per segment" if scenario.personalised
                                else "none: uniform prices asked (0 by construction)")

    descriptions = {
        "status_quo": "the shop as it is",
        "stop_loss_makers": "stop selling below cost",
        "price_changes": "change prices (one price for all, singles only)",
        "bundles": "add bundle deals (one price for all)",
        "personalisation": "personalise menus per segment",
    }
    rows = []
    for name in STEP_NAMES:
        ev = evaluate(scenario, decisions[name])
        rows.append({"step": name, "description": descriptions[name], "profit": float(ev.profit),
                     "revenue": float(ev.revenue), "feasible": bool(ev.feasible), "note": notes[name]})
    steps = pd.DataFrame(rows)
    steps.insert(3, "part", steps["profit"].diff().fillna(0.0))
    base, base_rev = float(steps.at[0, "profit"]), float(steps.at[0, "revenue"])
    why = percent_base(base, base_rev, min_base_margin)
    steps.insert(4, "part_pct", steps["part"] / base if not why else np.nan)
    profit = float(steps["profit"].iloc[-1])
    gain = profit - base
    return Headline(
        steps=steps, base_profit=base, profit=profit, gain=gain,
        uplift=gain / base if not why else float("nan"), uplift_note=why,
        loss_makers=tuple(scenario.offer_ids[o] for o in losing), decisions=decisions,
    )
