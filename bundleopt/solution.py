"""The result of :func:`bundleopt.solve`: plain data, no solver objects.

Expected values are exact for the decision found: they come from
:func:`bundleopt.optimize.evaluation.evaluate` (segment s offered menu ``k(.)`` buys
offer o with probability ``P[s, o] = v[s, o, k(o)] / (v0[s] + sum_{o' on} v[s, o', k(o')])``):

* profit  = market_size * sum_s w_s sum_o (p[o, k(o)] - c[o]) P[s, o]
* revenue = market_size * sum_s w_s sum_o p[o, k(o)] P[s, o]
* units   = market_size * sum_s w_s sum_o n[o, j] P[s, o] summed over products j
  (product units: a bundle of two counts two)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bundleopt.scenario import NOT_OFFERED, Decision, Scenario


@dataclass(frozen=True)
class StageRecord:
    """What one stage of the bound tightening did (``Solution.tightening_log``).

    ``stage``: its name (``"lagrangian"``: a split of the LP relaxation's duals;
    ``"obbt"``: a pass of full bound tightening); ``narrowed``: segments whose range of
    ``x[s]`` it narrowed; ``excluded``: ladder pairs it newly left out; ``bound``: the
    best upper bound on the profit it proved (None: none); ``proved_optimal``: it proved
    that no decision beats the incumbent; ``seconds``: its wall time;
    ``stopped_by_deadline``: its deadline stopped it before it finished.
    """

    stage: str
    narrowed: int
    excluded: int
    bound: float | None
    proved_optimal: bool
    seconds: float
    stopped_by_deadline: bool


@dataclass(frozen=True)
class Solution:
    """Offers, prices and expected outcomes of a solved scenario.

    Attributes
    ----------
    decision : the :class:`~bundleopt.scenario.Decision` (ladder level per menu and offer).
    offers : one row per offered (menu, offer): ``menu`` (segment id when personalised,
        ``"all"`` otherwise), ``offer``, ``components``, ``level``, ``price``, ``cost``.
    prices : menus x offers table of chosen prices (NaN = not offered); one row
        ``"all"`` for uniform prices, one per segment when personalised.
    profit, revenue, units : expected totals (times ``market_size``).
    per_segment : per segment: weight, profit, revenue, units (that segment's
        contribution to the totals, so each column sums to the total),
        ``purchase_probability`` and ``no_purchase`` (per customer of the segment).
    probabilities : segments x offers purchase probabilities.
    status : ``"optimal"``, ``"time_limit"`` (best incumbent, see ``gap``), ...
    objective : the solver's objective value (equals ``profit`` up to solver tolerance).
    best_bound : proven upper bound on the profit; ``gap = (bound - objective) / |objective|``.
    timings : seconds spent in ``build`` (Pyomo), ``handoff`` (compile + pass to
        HiGHS), ``solve``, ``tighten`` (bound tightening from the warm start, MILP only)
        and ``total``.
    method : ``"lp-decomposed"``, ``"lp-decomposed+milp"`` (some segments fell back
        to the MILP), or ``"milp"``.
    notes : human-readable remarks (decomposition, fallbacks, warm start, bound
        tightening).
    tightening_log : one :class:`StageRecord` per stage of the bound tightening that ran
        (MILP only; empty when it did not run), in order.
    """

    decision: Decision
    offers: pd.DataFrame
    prices: pd.DataFrame
    profit: float
    revenue: float
    units: float
    per_segment: pd.DataFrame
    probabilities: pd.DataFrame
    status: str
    objective: float
    best_bound: float
    gap: float
    timings: dict[str, float]
    method: str
    notes: tuple[str, ...] = field(default_factory=tuple)
    tightening_log: tuple[StageRecord, ...] = field(default_factory=tuple)

    def __repr__(self) -> str:
        return (f"Solution(method={self.method!r}, status={self.status!r}, profit={self.profit:.6g}, "
                f"gap={self.gap:.3g}, offers={len(self.offers)})")


def purchase_probabilities(scenario: Scenario, decision: Decision) -> np.ndarray:
    """(S, O) probability that a customer of segment s buys offer o under ``decision``."""
    n_s, n_o = scenario.n_segments, scenario.n_offers
    probs = np.zeros((n_s, n_o))
    for s in range(n_s):
        levels = decision.menu_of(s)
        on = levels != NOT_OFFERED
        vv = np.zeros(n_o)
        vv[on] = scenario.v[s, np.flatnonzero(on), levels[on]]
        probs[s] = vv / (scenario.v0[s] + vv.sum())
    return probs


def chosen_prices(scenario: Scenario, decision: Decision) -> np.ndarray:
    """(menus, O) price of each offer on each menu, NaN when not offered."""
    lv = decision.levels
    idx = np.broadcast_to(np.arange(scenario.n_offers), lv.shape)
    return np.where(lv != NOT_OFFERED, scenario.prices[idx, np.clip(lv, 0, None)], np.nan)
