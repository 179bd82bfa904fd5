"""Baseline decisions the MILP is compared against (each returns a ``Decision``).

Evaluate any of them with :func:`bundleopt.optimize.evaluation.evaluate`. Which rules
each baseline respects is stated in its docstring; every baseline only proposes
ladder levels that pass :meth:`Scenario.allowed` (existing levels above the
per-offer margin floor), so ``min_margin`` always holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from bundleopt.optimize.brute_force import (
    segment_scenario,
)
from bundleopt.optimize.evaluation import (
    evaluate,
    evaluate_many,
    rule_excess,
    validate_decision,
)
from bundleopt.optimize.greedy import greedy_add_drop
from bundleopt.optimize.rule_checks import RULE_TOL
from bundleopt.scenario import NOT_OFFERED, Decision, Scenario


def naive_linear(scenario: Scenario) -> Decision:
    """The source's "maximise sum of sales x price", with sales held at reference levels.

    With ``s_o = Scenario.reference_sales()[o]`` fixed (all singles at list price, no
    bundles), the objective ``sum_o s_o p[o, k(o)]`` is a sum of independent,
    non-decreasing functions of each offer's price: it is maximised by putting every
    offer at its top allowed price (and is unbounded if prices are continuous and
    unbounded). Customers' reaction to price is ignored, which is why the model is
    trivial. Offers with ``s_o = 0`` (every bundle) add nothing and are left off;
    with ``max_offers = C`` the C offers with the largest ``s_o * p_top`` are kept
    (the naive model's own optimum). The same menu is used for every segment.

    Respects ``min_margin``, ``max_offers``, ``max_bundles``,
    ``max_bundles_per_product``, the bundle discount rules (no bundles) and
    ``max_price_spread`` (one price per offer); not the margin rate, cannibalisation
    or stock rules (cannibalisation holds when the list level is the top allowed one
    and no single is cut by ``max_offers``).
    """
    top = _top_allowed(scenario)
    ref = scenario.reference_sales()
    o_idx = np.arange(scenario.n_offers)
    value = np.where(top >= 0, ref * scenario.prices[o_idx, np.maximum(top, 0)], 0.0)
    keep = [int(o) for o in np.argsort(-value, kind="stable") if value[o] > 0]
    if scenario.constraints.max_offers is not None:
        keep = keep[: scenario.constraints.max_offers]
    menu = np.full(scenario.n_offers, NOT_OFFERED)
    menu[keep] = top[keep]
    return _same_menu(scenario, menu)


def naive_objective(scenario: Scenario, decision: Decision | np.ndarray) -> float:
    """The naive model's objective ``M * sum_s w_s sum_o s_o p[o, k_s(o)]`` (sales fixed).

    ``s_o`` are the reference sales; offers that are not on the menu count 0.
    """
    levels = validate_decision(scenario, decision)
    ref = scenario.reference_sales()
    seg = np.arange(scenario.n_segments) if scenario.n_menus > 1 else np.zeros(scenario.n_segments, int)
    on = levels[seg] >= 0
    price = np.where(on, scenario.prices[np.arange(scenario.n_offers), np.where(on, levels[seg], 0)], 0.0)
    return float(scenario.market_size * scenario.weights @ (price @ ref))


def list_price_all(scenario: Scenario) -> Decision:
    """Every offer (singles and bundles) at its list price, one menu for everybody.

    An offer whose list level fails the per-offer margin floor is left off. When a
    rule limits the menu, offers are taken in decreasing order of their standalone
    expected profit ``sum_s w_s (p_o - c_o) v[s,o,list] / (v0[s] + v[s,o,list])``
    (the profit if it were the only offer), skipping any offer whose addition would
    break ``max_offers``, ``max_bundles``, ``max_bundles_per_product`` or the bundle
    discount band; the singles of ``must_offer`` products are taken first. Since every
    single is at list price, a bundle's component prices are list prices whether or not
    the singles are offered, so the band is checked once per bundle (one evaluation of
    the full menu) and the counts are kept as offers are added: ``O(O)`` work, not one
    evaluation per offer.

    Respects ``min_margin``, ``max_offers``, ``max_bundles``,
    ``max_bundles_per_product``, ``min/max_bundle_discount``, ``must_offer`` (when the
    products' list levels pass the margin floor and fit the caps) and
    ``max_price_spread``; not the margin rate, cannibalisation or stock rules.
    """
    o_idx = np.arange(scenario.n_offers)
    lvl = scenario.list_level
    allowed = scenario.allowed()[o_idx, lvl]
    v_list = scenario.v[:, o_idx, lvl]  # (S, O)
    standalone = scenario.weights @ (
        (scenario.prices[o_idx, lvl] - scenario.costs) * v_list / (scenario.v0[:, None] + v_list)
    )
    c = scenario.constraints
    full = np.where(allowed, lvl, NOT_OFFERED)
    band = rule_excess(scenario, np.tile(full, (scenario.n_menus, 1))[None], families=("no_arbitrage",))
    ok = allowed.copy()
    for excess in band.values():  # (1, menus, O): the same for every menu (list prices)
        ok &= ~(excess[0] > RULE_TOL).any(axis=0)
    single = scenario.single_offer()
    first = [single[p] for p in (c.must_offer or ()) if p in single]
    taken = set(first)
    order = first + [int(o) for o in np.argsort(-standalone, kind="stable") if o not in taken]
    n_on = n_bundles = 0
    per_product: dict[str, int] = {}
    menu = np.full(scenario.n_offers, NOT_OFFERED)
    for o in order:
        if not ok[o] or menu[o] != NOT_OFFERED:
            continue
        if c.max_offers is not None and n_on + 1 > c.max_offers:
            break  # full: nothing else fits
        products = set(scenario.components[o]) if scenario.is_bundle[o] else set()
        if scenario.is_bundle[o]:
            if c.max_bundles is not None and n_bundles + 1 > c.max_bundles:
                continue
            cap = c.max_bundles_per_product
            if cap is not None and any(per_product.get(p, 0) + 1 > cap for p in products):
                continue
        menu[o] = lvl[o]
        n_on += 1
        n_bundles += int(scenario.is_bundle[o])
        for p in products:
            per_product[p] = per_product.get(p, 0) + 1
    return _same_menu(scenario, menu)


def revenue_ordered(scenario: Scenario, level: str | int = "list") -> Decision:
    """Best nested margin-ordered assortment at fixed prices (Talluri & van Ryzin 2004).

    Each offer's price is fixed at ``level``: ``"list"`` (its list level), ``"top"`` /
    ``"bottom"`` (its highest / lowest allowed level) or an int ladder index; offers
    whose fixed level is not allowed are left out. Offers are sorted by margin
    ``p_o - c_o`` (revenue when costs are 0: for one MNL segment at fixed prices the
    optimal unconstrained assortment is such a prefix) and the nested sets
    ``{o_1}, {o_1, o_2}, ...`` and the empty set are compared:

    * uniform prices: the prefix with the best expected profit over the segment
      mixture that satisfies every rule;
    * personalised prices: per segment, the prefix with the best profit for that
      segment that satisfies the per-menu rules; if the combined decision breaks a
      cross-segment rule, the uniform choice is used for every segment instead.

    When no prefix is feasible the most profitable one is returned (infeasible).
    Respects every rule when some prefix satisfies them (nested sets can miss feasible
    decisions that skip an offer).
    """
    fixed = _fixed_levels(scenario, level)
    o_idx = np.arange(scenario.n_offers)
    margin = np.where(fixed >= 0, scenario.prices[o_idx, np.maximum(fixed, 0)] - scenario.costs, -np.inf)
    order = [int(o) for o in np.argsort(-margin, kind="stable") if fixed[o] >= 0]
    prefixes = np.full((len(order) + 1, scenario.n_offers), NOT_OFFERED)
    for i in range(1, len(order) + 1):
        prefixes[i, order[:i]] = fixed[order[:i]]
    uniform = _best_row(scenario, np.repeat(prefixes[:, None, :], scenario.n_menus, axis=1))
    if scenario.n_menus == 1:
        return Decision(uniform)
    per_segment = np.stack(
        [_best_row(segment_scenario(scenario, s), prefixes[:, None, :])[0] for s in range(scenario.n_segments)]
    )
    if evaluate_many(scenario, per_segment[None]).feasible[0]:
        return Decision(per_segment)
    return Decision(uniform)


BASELINES: dict[str, Callable[[Scenario], Decision]] = {
    "naive_linear": naive_linear,
    "list_price_all": list_price_all,
    "revenue_ordered": revenue_ordered,
    "greedy_add_drop": lambda scenario: greedy_add_drop(scenario),
}


def compare_baselines(scenario: Scenario) -> pd.DataFrame:
    """Every baseline's decision evaluated: one row per baseline (name, profit,
    revenue, units, feasible, n_violations, seconds)."""
    rows = []
    for name, make in BASELINES.items():
        t0 = time.perf_counter()
        decision = make(scenario)
        seconds = time.perf_counter() - t0
        ev = evaluate(scenario, decision)
        rows.append(dict(baseline=name, profit=ev.profit, revenue=ev.revenue, units=ev.units,
                         feasible=ev.feasible, n_violations=len(ev.violations), seconds=seconds))
    return pd.DataFrame(rows)


def _same_menu(scenario: Scenario, menu: np.ndarray) -> Decision:
    """A decision giving ``menu`` (O,) to every menu of the scenario."""
    return Decision(np.tile(menu, (scenario.n_menus, 1)))


def _top_allowed(scenario: Scenario) -> np.ndarray:
    """(O,) level with the highest allowed price per offer, NOT_OFFERED if none."""
    price = np.where(scenario.allowed(), scenario.prices, -np.inf)
    top = np.argmax(price, axis=1)
    return np.where(np.isfinite(price.max(axis=1)), top, NOT_OFFERED)


def _fixed_levels(scenario: Scenario, level: str | int) -> np.ndarray:
    """(O,) the level each offer is fixed at for :func:`revenue_ordered`, or NOT_OFFERED."""
    allowed = scenario.allowed()
    o_idx = np.arange(scenario.n_offers)
    if level == "list":
        fixed = scenario.list_level.copy()
    elif level in ("top", "bottom"):
        sign = 1.0 if level == "top" else -1.0
        price = np.where(allowed, sign * np.nan_to_num(scenario.prices), -np.inf)
        fixed = np.argmax(price, axis=1)
    elif isinstance(level, (int, np.integer)) and not isinstance(level, bool) and 0 <= level < scenario.n_levels:
        fixed = np.full(scenario.n_offers, int(level))
    else:
        raise ValueError(
            f"level must be 'list', 'top', 'bottom' or a ladder index 0..{scenario.n_levels - 1}, got {level!r}"
        )
    return np.where(allowed[o_idx, fixed], fixed, NOT_OFFERED)


def _best_row(scenario: Scenario, batch: np.ndarray) -> np.ndarray:
    """The most profitable feasible decision of ``batch`` (N, G, O), else the most profitable."""
    res = evaluate_many(scenario, batch)
    profit = np.where(res.feasible, res.profit, -np.inf)
    if not res.feasible.any():
        profit = res.profit
    return batch[int(np.argmax(profit))]


__all__ = ["BASELINES", "compare_baselines", "greedy_add_drop", "list_price_all", "naive_linear",
           "naive_objective", "revenue_ordered"]
