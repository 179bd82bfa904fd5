"""Why each offer and each rule is in the plan, by exact re-evaluation and re-solving.

* :func:`offer_reasons`: for every offer on every menu of a decision, its own expected
  profit (its contribution) and the change in the **whole** plan's expected profit if
  it were taken off that menu, or moved one ladder level down or up (the next existing
  price), each scored exactly with :func:`bundleopt.optimize.evaluation.evaluate_many`.
  A change that breaks a rule is marked (``*_feasible``). For an optimal plan every
  feasible move changes profit by ``<= 0``: its size is how much the offer or its
  price matters. (Removing an offer can raise the contribution of others: the change
  is usually smaller than the offer's own contribution, the difference being the
  sales it takes from other offers.)
* :func:`rule_costs`: for each rule family switched on, the plan's profit with that
  family switched off (re-solved) minus the plan's profit: what the rule costs (0 without
  a re-solve when the rule cannot bind on any decision: :func:`vacuous_rule`). A re-solve
  stopped by its time limit gives an interval, never a guess: at least the best decision
  it knows (the plan is one: the rule's cost is >= 0) and at most its proven bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from bundleopt.scenario import NOT_OFFERED, Decision, Scenario

__all__ = ["move_changes", "move_feasibility", "offer_reasons", "rule_cost_text", "rule_costs", "vacuous_rule"]


def _next_level(prices: np.ndarray, k: int, step: int) -> int | None:
    """The next existing level from ``k`` in direction ``step`` (+1 up, -1 down), or None."""
    j = k + step
    while 0 <= j < len(prices):
        if np.isfinite(prices[j]):
            return j
        j += step
    return None


#: rules that couple menus (checked on the whole decision); the others are per menu
_GLOBAL_RULES = ("max_cannibalisation", "stock", "max_price_spread")


def _moves(scenario: Scenario, base: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every single move of ``base``: ``(menu, offer, kind, new level)``, kind 0 = remove,
    1 = one existing level down, 2 = one up (moves that do not exist are left out)."""
    g_all, o_all, kind_all, new_all = [], [], [], []
    for g in range(base.shape[0]):
        for o in np.flatnonzero(base[g] != NOT_OFFERED):
            k = int(base[g, o])
            for kind, new in enumerate((NOT_OFFERED, _next_level(scenario.prices[o], k, -1),
                                        _next_level(scenario.prices[o], k, +1))):
                if new is not None:
                    g_all.append(g)
                    o_all.append(int(o))
                    kind_all.append(kind)
                    new_all.append(new)
    return (np.asarray(g_all, dtype=int), np.asarray(o_all, dtype=int), np.asarray(kind_all, dtype=int),
            np.asarray(new_all, dtype=int))


def move_changes(scenario: Scenario, base: np.ndarray, menu: np.ndarray, offer: np.ndarray,
                 new: np.ndarray) -> np.ndarray:
    """Change in expected profit when offer ``offer[i]`` on menu ``menu[i]`` goes to level
    ``new[i]`` (-1: removed), each move alone, in closed form.

    With ``D_s = v0_s + sum_o vv[s, o]`` and ``N_s = sum_o (p_o - c_o) vv[s, o]`` at the base
    decision, a move changes one term of each sum for the segments that see menu ``g``:
    ``D' = D - vv_old + vv_new``, ``N' = N - m_old vv_old + m_new vv_new``, and the profit
    by ``M sum_{s sees g} w_s (N'/D' - N/D)``: ``O(moves x segments)``, where scoring
    each moved decision costs ``O(moves x segments x offers)``.
    """
    o_idx = np.arange(scenario.n_offers)
    seg_menu = np.arange(scenario.n_segments) if scenario.n_menus > 1 else np.zeros(scenario.n_segments, int)
    lv = base[seg_menu]  # (S, O)
    on = lv != NOT_OFFERED
    k = np.where(on, lv, 0)
    vv = np.where(on, scenario.v[np.arange(scenario.n_segments)[:, None], o_idx[None, :], k], 0.0)
    margin = np.where(on, scenario.prices[o_idx[None, :], k] - scenario.costs[None, :], 0.0)
    D = scenario.v0 + vv.sum(axis=1)
    N = (margin * vv).sum(axis=1)
    sees = seg_menu[None, :] == menu[:, None]  # (n, S)
    kn = np.where(new >= 0, new, 0)
    v_new = np.where(new[:, None] >= 0, scenario.v[:, offer, kn].T, 0.0)  # (n, S)
    m_new = np.where(new >= 0, scenario.prices[offer, kn] - scenario.costs[offer], 0.0)[:, None]
    v_old, m_old = vv[:, offer].T, margin[:, offer].T
    D2 = D[None, :] - v_old + v_new
    N2 = N[None, :] - m_old * v_old + m_new * v_new
    delta = np.where(sees, N2 / D2 - N[None, :] / D[None, :], 0.0)
    return scenario.market_size * delta @ scenario.weights


def _menu_scenario(scenario: Scenario, s: int) -> Scenario:
    """Segment ``s`` alone (its own menu, its rules per menu): for per-menu rule checks."""
    return replace(scenario, v=scenario.v[s:s + 1], v0=scenario.v0[s:s + 1], weights=np.ones(1),
                   segment_ids=(scenario.segment_ids[s],), market_size=scenario.market_size * scenario.weights[s])


def move_feasibility(scenario: Scenario, base: np.ndarray, menu: np.ndarray, offer: np.ndarray,
                     new: np.ndarray, chunk: int | None = None) -> np.ndarray:
    """Whether each single move keeps every rule (:func:`bundleopt.optimize.evaluation.evaluate_many`
    on the moved decisions, ``chunk`` moves at a time (default: about 4 million levels held),
    so memory stays bounded).

    With personalised menus and no rule coupling menus (``_GLOBAL_RULES``, or the overall
    margin rate), a move on menu ``g`` can only change the rules of that menu: the moved
    menu is checked on its segment's own scenario (``S`` times less work) and the other
    menus keep their status at the base decision. Otherwise whole decisions are checked.
    """
    from bundleopt.optimize.evaluation import evaluate_many

    c = scenario.constraints
    active = set(c.active())
    if not active:
        return np.ones(len(menu), bool)
    coupled = any(r in active for r in _GLOBAL_RULES) or (
        "min_margin_rate" in active and c.margin_rate_scope == "overall")
    out = np.zeros(len(menu), bool)
    whole = scenario.n_menus == 1 or coupled
    if chunk is None:
        chunk = max(1, 4_000_000 // (scenario.n_offers * (scenario.n_menus if whole else 1)))
    if whole:
        for start in range(0, len(menu), chunk):
            sl = slice(start, start + chunk)
            lv = np.repeat(base[None], len(menu[sl]), axis=0)
            lv[np.arange(len(lv)), menu[sl], offer[sl]] = new[sl]
            out[sl] = evaluate_many(scenario, lv).feasible
        return out
    subs = [_menu_scenario(scenario, s) for s in range(scenario.n_segments)]
    menu_ok = np.array([bool(evaluate_many(subs[g], base[None, g:g + 1]).feasible[0]) for g in range(len(subs))])
    for g in range(len(subs)):
        others_ok = bool(np.delete(menu_ok, g).all())
        idx = np.flatnonzero(menu == g)
        if not others_ok:
            continue
        for start in range(0, len(idx), chunk):
            sel = idx[start:start + chunk]
            lv = np.repeat(base[None, g:g + 1], len(sel), axis=0)
            lv[np.arange(len(sel)), 0, offer[sel]] = new[sel]
            out[sel] = evaluate_many(subs[g], lv).feasible
    return out


def offer_reasons(scenario: Scenario, decision: Decision) -> pd.DataFrame:
    """One row per (menu, offered offer): contribution and the effect of each move (module docstring).

    Columns: ``menu`` (segment id, or ``"all"`` for one menu), ``offer``, ``price``,
    ``contribution`` (its expected profit on that menu), ``remove`` / ``price_down`` /
    ``price_up`` (change in the plan's profit; NaN where there is no such level) and
    ``remove_feasible`` / ``price_down_feasible`` / ``price_up_feasible``.
    Changes by :func:`move_changes` (closed form), rules by :func:`move_feasibility`.
    """
    from bundleopt.optimize import evaluate

    base_levels = np.asarray(decision.levels, dtype=int)
    if base_levels.shape[0] != scenario.n_menus:
        base_levels = np.tile(base_levels[:1], (scenario.n_menus, 1))
    ev = evaluate(scenario, Decision(base_levels))
    probs = ev.probabilities
    menu_of_seg = np.arange(scenario.n_segments) if scenario.personalised else np.zeros(scenario.n_segments, int)
    g_m, o_m, kind_m, new_m = _moves(scenario, base_levels)
    change = move_changes(scenario, base_levels, g_m, o_m, new_m)
    feasible = move_feasibility(scenario, base_levels, g_m, o_m, new_m)
    names = ("remove", "price_down", "price_up")
    rows = []
    for g in range(scenario.n_menus):
        segs = np.flatnonzero(menu_of_seg == g)
        for o in np.flatnonzero(base_levels[g] != NOT_OFFERED):
            price = float(scenario.prices[o, base_levels[g, o]])
            units = scenario.market_size * float(scenario.weights[segs] @ probs[segs, o])
            rows.append({"menu": scenario.segment_ids[g] if scenario.personalised else "all",
                         "offer": scenario.offer_ids[o], "price": price,
                         "contribution": units * (price - float(scenario.costs[o])),
                         **{n: np.nan for n in names}, **{f"{n}_feasible": False for n in names}})
    table = pd.DataFrame(rows)
    if len(g_m):
        # row of each (menu, offer): rows are in menu order, then offer order
        row_of = {(g, int(o)): i for i, (g, o) in enumerate(
            (g, o) for g in range(scenario.n_menus) for o in np.flatnonzero(base_levels[g] != NOT_OFFERED))}
        r = np.array([row_of[(int(g), int(o))] for g, o in zip(g_m, o_m, strict=True)])
        for kind, n in enumerate(names):
            sel = kind_m == kind
            table.loc[r[sel], n] = change[sel]
            table.loc[r[sel], f"{n}_feasible"] = feasible[sel]
    cols = ["menu", "offer", "price", "contribution", "remove", "price_down", "price_up",
            "remove_feasible", "price_down_feasible", "price_up_feasible"]
    return table.reindex(columns=cols)


def rule_costs(scenario: Scenario, profit: float, solve: Callable[[Scenario], Any] | None = None,
               ) -> pd.DataFrame:
    """Per rule family switched on: what it costs, re-solved without it, with bounds.

    Switching a rule off only enlarges the feasible set, so the plan itself is a decision of
    the re-solved problem: its profit ``P`` is a lower bound on ``profit_without`` whatever
    the re-solve finds (a re-solve stopped by its time limit may hold a worse incumbent),
    and the re-solve's proven bound an upper one. Columns: ``rule``, ``setting``,
    ``profit_without`` (the best decision known without the rule: the re-solve's incumbent
    or the plan), ``cost`` (``profit_without - P``, >= 0), ``cost_low`` / ``cost_high``
    (``cost`` and ``best_bound - P``: the rule's cost lies in between; equal up to the
    solver's gap when proved), ``gap`` (``(cost_high - cost_low) / |P|``), ``proved``,
    ``status`` (the re-solve's, or why none was needed).
    """
    from bundleopt.optimize import solve as default_solve

    solve = solve or default_solve
    rows = []
    for rule in scenario.constraints.active():
        setting = _setting(getattr(scenario.constraints, rule))
        why = vacuous_rule(scenario, rule)
        if why:  # the same problem without it: nothing to re-solve
            rows.append({"rule": rule, "setting": setting, "profit_without": float(profit), "cost": 0.0,
                         "cost_low": 0.0, "cost_high": 0.0, "gap": 0.0, "proved": True,
                         "status": f"not re-solved: {why}"})
            continue
        off = {rule: None}
        if rule == "max_cannibalisation":
            off["protected_products"] = None
        sol = solve(scenario.with_constraints(**off))
        rows.append({"rule": rule, "setting": setting, **_cost_bounds(sol, float(profit))})
    return pd.DataFrame(rows, columns=["rule", "setting", "profit_without", "cost", "cost_low", "cost_high",
                                       "gap", "proved", "status"])


def _cost_bounds(sol: Any, profit: float) -> dict[str, Any]:
    """``profit_without``, ``cost``, its bounds, ``gap``, ``proved`` and ``status`` of one re-solve
    without a rule (:func:`rule_costs`): the incumbent never below the plan, the bound from the
    solver (infinite when it proved none)."""
    found = float(getattr(sol, "profit", np.nan))
    best = max(profit, found) if np.isfinite(found) else profit
    bound = float(getattr(sol, "best_bound", np.nan))
    bound = max(bound, best) if np.isfinite(bound) else np.inf
    proved = sol.status == "optimal"
    status = sol.status if proved or np.isfinite(found) and found >= profit else (
        f"{sol.status}; the plan itself is the best decision known without the rule")
    low, high = best - profit, bound - profit
    scale = max(abs(profit), 1e-9)
    return {"profit_without": best, "cost": low, "cost_low": low, "cost_high": high,
            "gap": (high - low) / scale if np.isfinite(high) else np.inf, "proved": proved, "status": status}


def rule_cost_text(costs: pd.DataFrame) -> str:
    """One sentence per rule whose cost is not proved: between which bounds it lies, and why."""
    if costs is None or not len(costs) or "proved" not in costs:
        return ""
    out = []
    for row in costs[~costs["proved"].astype(bool)].itertuples():
        high = (f"{row.cost_high:,.2f} (the re-solve's proven bound; gap {row.gap:.2%} of the plan's profit)"
                if np.isfinite(row.cost_high) else "an unknown amount (the re-solve proved no bound)")
        out.append(f"Rule {row.rule} ({row.setting}): its cost is not proved (re-solve {row.status}); it costs "
                   f"at least {row.cost_low:,.2f} (the best decision found without it; the plan itself is one, "
                   f"so never less than 0) and at most {high}.")
    return " ".join(out)


def vacuous_rule(scenario: Scenario, rule: str) -> str:
    """Why ``rule`` cannot bind on any decision of ``scenario`` ("" when it can): then the
    problem without it is the same problem, and its cost is 0 without a re-solve (a re-solve
    could only differ by the solver's time limit)."""
    c = scenario.constraints
    n_bundles = int(scenario.is_bundle.sum())
    if rule == "max_offers" and scenario.n_offers <= c.max_offers:
        return f"{scenario.n_offers} offer(s), at most {c.max_offers} allowed"
    if rule == "max_bundles" and n_bundles <= c.max_bundles:
        return f"{n_bundles} bundle candidate(s), at most {c.max_bundles} allowed"
    if rule == "max_bundles_per_product":
        per = pd.Series([p for comp in scenario.components if len(comp) > 1 for p in comp]).value_counts()
        if (int(per.max()) if len(per) else 0) <= c.max_bundles_per_product:
            return "no product is in more bundle candidates than allowed"
    if rule in ("min_bundle_discount", "max_bundle_discount") and n_bundles == 0:
        return "no bundle candidate"
    if rule == "max_price_spread" and scenario.n_menus == 1:
        return "one menu for everybody"
    if rule == "stock" and not c.stock:
        return "no stock limit given"
    return ""


def _setting(value: Any) -> str:
    if isinstance(value, dict) or hasattr(value, "items"):
        return f"{len(value)} product(s)"
    return str(value)
