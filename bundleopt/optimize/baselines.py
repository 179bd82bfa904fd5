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
    CouplingSpec,
    coupling_spec,
    segment_scenario,
    spread_compatible,
)
from bundleopt.optimize.evaluation import (
    BatchEvaluation,
    evaluate,
    evaluate_many,
    validate_decision,
)
from bundleopt.scenario import NOT_OFFERED, Decision, Scenario

# Candidates checked per call of evaluate_many in the greedy's feasible phase.
_GREEDY_BATCH = 64
# Moves screened at once on personalised menus.
_SCREEN_BATCH = 256
# Most moves evaluated per step while repairing an infeasible decision.
_REPAIR_MOVES = 2048


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
    discount band. Since every single is at list price, a bundle's component prices
    are list prices whether or not the singles are offered, so the band is checked
    once per bundle.

    Respects ``min_margin``, ``max_offers``, ``max_bundles``,
    ``max_bundles_per_product``, ``min/max_bundle_discount`` and ``max_price_spread``;
    not the margin rate, cannibalisation or stock rules.
    """
    o_idx = np.arange(scenario.n_offers)
    lvl = scenario.list_level
    allowed = scenario.allowed()[o_idx, lvl]
    v_list = scenario.v[:, o_idx, lvl]  # (S, O)
    standalone = scenario.weights @ (
        (scenario.prices[o_idx, lvl] - scenario.costs) * v_list / (scenario.v0[:, None] + v_list)
    )
    menu = np.full(scenario.n_offers, NOT_OFFERED)
    for o in np.argsort(-standalone, kind="stable"):
        if not allowed[o]:
            continue
        trial = menu.copy()
        trial[o] = lvl[o]
        if _menu_rules_ok(scenario, trial):
            menu = trial
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


def _menu_rules_ok(scenario: Scenario, menu: np.ndarray) -> bool:
    """Whether ``menu`` (O,) satisfies the per-menu count and bundle-price rules."""
    c = scenario.constraints
    sub = scenario.with_constraints(
        min_margin_rate=None, max_cannibalisation=None, protected_products=None,
        max_price_spread=None, stock=None,
    )
    if c.max_offers is None and c.max_bundles is None and c.max_bundles_per_product is None \
            and c.min_bundle_discount is None and c.max_bundle_discount is None:
        return True
    return bool(evaluate_many(sub, np.tile(menu, (scenario.n_menus, 1))[None]).feasible[0])


def _best_row(scenario: Scenario, batch: np.ndarray) -> np.ndarray:
    """The most profitable feasible decision of ``batch`` (N, G, O), else the most profitable."""
    res = evaluate_many(scenario, batch)
    profit = np.where(res.feasible, res.profit, -np.inf)
    if not res.feasible.any():
        profit = res.profit
    return batch[int(np.argmax(profit))]


def greedy_add_drop(
    scenario: Scenario,
    *,
    start: Decision | np.ndarray | None = None,
    max_iter: int | None = None,
    rel_tol: float = 1e-12,
    time_limit: float | None = None,
    repair_time_limit: float = 10.0,
) -> Decision:
    """Greedy local search over single (menu, offer, level) moves.

    Start from ``start`` (default: nothing offered; if that breaks a rule, e.g. a
    cannibalisation cap, only the protected singles at list price, then the status quo
    of all singles at list price; the first that satisfies every rule, else the one
    with the fewest violations). A move sets one offer on one menu
    to another allowed level, or removes it (add, change price, drop). Each step:

    * while the current decision is feasible, take the move with the largest expected
      profit among the moves whose result satisfies every rule
      (:func:`~bundleopt.optimize.evaluation.evaluate_many`), if it improves the profit by
      more than ``rel_tol * max(1, |profit|)``; otherwise stop (a local optimum);
    * while it is infeasible (e.g. the empty start under a cannibalisation cap), take
      the move that most reduces ``(number of violated rule instances, total normalised
      excess)`` lexicographically, ties broken by profit (among at most 2048 moves per
      step, a fixed pseudo-random sample when there are more); stop if none reduces it.

    Respects every rule once a feasible decision is reached (the returned decision is
    infeasible only when the infeasible phase got stuck; evaluate it to see the
    violations). Move profits are computed incrementally from the MNL sums
    ``A_s = v0[s] + sum vv`` and ``N_s = sum (p - c) vv``; rules are checked only for
    the most profitable candidates, in batches (for personalised menus, a move is first
    screened on its own menu: per-menu rules, spread against the other menus and the
    separable cross-segment sums, then confirmed on the whole decision). With
    ``time_limit`` (seconds) the search stops after that long with the current decision;
    the infeasible phase alone gives up after ``repair_time_limit`` seconds (it can be
    slow on large personalised instances that may have no feasible decision at all).
    """
    deadline = None if time_limit is None else time.perf_counter() + time_limit
    screen = _Screen(scenario) if scenario.n_menus > 1 else None
    if start is not None:
        levels = validate_decision(scenario, start).copy()
    else:
        levels = _default_start(scenario)
    current = evaluate_many(scenario, levels[None])
    repair_deadline = time.perf_counter() + repair_time_limit
    max_iter = 20 * scenario.n_menus * scenario.n_offers + 10 if max_iter is None else max_iter
    for _ in range(max_iter):
        if deadline is not None and time.perf_counter() > deadline:
            break
        moves, profits = _move_profits(scenario, levels)
        if current.feasible[0]:
            step = _best_feasible_move(scenario, levels, moves, profits, float(current.profit[0]),
                                       rel_tol, screen)
        elif time.perf_counter() > repair_deadline:
            break
        else:
            step = _best_repair_move(scenario, levels, moves, current)
        if step is None:
            break
        levels = _apply(levels, moves[step])
        current = evaluate_many(scenario, levels[None])
    return Decision(levels)


def _default_start(scenario: Scenario) -> np.ndarray:
    """The first of these that satisfies every rule, else the one with fewest violations:
    nothing offered; only the protected singles (cannibalisation) at list price; the
    status quo (every single at list price)."""
    empty = np.full((scenario.n_menus, scenario.n_offers), NOT_OFFERED)
    status_quo = validate_decision(scenario, scenario.status_quo())
    protected = empty.copy()
    c = scenario.constraints
    if c.max_cannibalisation is not None:
        single = scenario.single_offer()
        names = scenario.products if c.protected_products is None else c.protected_products
        offers = [single[p] for p in names if p in single]
        protected[:, offers] = scenario.list_level[offers]
    starts = np.stack([empty, protected, status_quo])
    res = evaluate_many(scenario, starts)
    if res.feasible.any():
        return starts[int(np.argmax(res.feasible))].copy()
    return starts[int(np.lexsort((res.infeasibility, res.n_violations))[0])].copy()


def _apply(levels: np.ndarray, move: np.ndarray) -> np.ndarray:
    """A copy of ``levels`` with ``levels[g, o] = k`` for ``move = (g, o, k)``."""
    out = levels.copy()
    g, o, k = (int(x) for x in move)
    out[g, o] = k
    return out


def _move_profits(scenario: Scenario, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every single move ``(g, o, k)`` (M, 3) and the expected profit after it (M,).

    Segment s's profit is ``N_s / A_s``; setting offer o to level k on the menu s sees
    changes ``A_s`` by ``v[s,o,k] - vv[s,o]`` and ``N_s`` by ``m[o,k] v[s,o,k] - m_cur vv[s,o]``.
    """
    n_s, n_o, n_k = scenario.v.shape
    allowed = scenario.allowed()
    margin = np.where(allowed, scenario.prices - scenario.costs[:, None], 0.0)  # (O, K)
    v_new = np.concatenate([np.where(allowed, scenario.v, 0.0), np.zeros((n_s, n_o, 1))], axis=2)
    m_new = np.concatenate([margin, np.zeros((n_o, 1))], axis=1)  # level index K = drop
    seg = np.arange(n_s) if scenario.n_menus > 1 else np.zeros(n_s, dtype=int)
    cur = levels[seg]  # (S, O)
    cur_idx = np.where(cur >= 0, cur, n_k)
    s_idx, o_idx = np.arange(n_s)[:, None], np.arange(n_o)[None, :]
    vv = v_new[s_idx, o_idx, cur_idx]  # (S, O)
    mm = m_new[o_idx, cur_idx] * np.ones((n_s, 1))
    big_a = scenario.v0 + vv.sum(axis=1)
    big_n = (mm * vv).sum(axis=1)
    d_a = v_new - vv[:, :, None]
    d_n = m_new[None] * v_new - (mm * vv)[:, :, None]
    new_seg = (big_n[:, None, None] + d_n) / (big_a[:, None, None] + d_a)  # (S, O, K+1)
    w = scenario.weights
    if scenario.n_menus == 1:
        total = np.einsum("s,sok->ok", w, new_seg)[None]  # (1, O, K+1)
    else:
        base = w @ (big_n / big_a)
        total = base + w[:, None, None] * (new_seg - (big_n / big_a)[:, None, None])
    valid = np.concatenate([allowed, np.ones((n_o, 1), dtype=bool)], axis=1)[None] & (
        np.arange(n_k + 1)[None, None, :] != np.where(levels >= 0, levels, n_k)[:, :, None]
    )
    g, o, k = np.nonzero(valid)
    moves = np.stack([g, o, np.where(k == n_k, NOT_OFFERED, k)], axis=1)
    return moves, scenario.market_size * total[g, o, k]


def _candidates(levels: np.ndarray, moves: np.ndarray) -> np.ndarray:
    """(M, G, O) decisions, one per move."""
    out = np.repeat(levels[None], len(moves), axis=0)
    out[np.arange(len(moves)), moves[:, 0], moves[:, 1]] = moves[:, 2]
    return out


def _best_feasible_move(
    scenario: Scenario,
    levels: np.ndarray,
    moves: np.ndarray,
    profits: np.ndarray,
    current: float,
    rel_tol: float,
    screen: _Screen | None = None,
) -> int | None:
    """Index of the most profitable improving move that keeps every rule, or None."""
    improving = np.flatnonzero(profits > current + rel_tol * max(1.0, abs(current)))
    order = improving[np.argsort(-profits[improving], kind="stable")]
    if screen is None:
        return _first_feasible(scenario, levels, moves, order)
    if len(order) and evaluate_many(scenario, _candidates(levels, moves[order[:1]])).feasible[0]:
        return int(order[0])
    screen.reset(levels)
    for start in range(1, len(order), _SCREEN_BATCH):  # screen lazily, best moves first
        part = order[start : start + _SCREEN_BATCH]
        found = _first_feasible(scenario, levels, moves, part[screen.passes(levels, moves[part])])
        if found is not None:
            return found
    return None


def _first_feasible(scenario: Scenario, levels: np.ndarray, moves: np.ndarray, order: np.ndarray) -> int | None:
    """The first move of ``order`` whose result satisfies every rule, or None."""
    start, size = 0, 1
    while start < len(order):
        batch = order[start : start + size]
        ok = evaluate_many(scenario, _candidates(levels, moves[batch])).feasible
        if ok.any():
            return int(batch[np.argmax(ok)])
        start, size = start + size, min(4 * size, _GREEDY_BATCH)
    return None


class _Screen:
    """Fast necessary checks of single moves on personalised menus.

    A move on menu g changes only segment g's outcome: it must satisfy the per-menu
    rules (:func:`segment_scenario`), keep the spread against every other menu, and keep
    the separable cross-segment sums ``sum_s r_s <= b`` (:func:`coupling_terms`). Each
    ``r_s`` is ``w_s sum_o vv[s,o] L[o, k(o)] / A_s`` with ``A_s = v0[s] + sum_o vv[s,o]``
    and per-(offer, level) rows ``L`` (margin rate: ``m p - (p - c)``; cannibalisation:
    ``-1`` on protected singles; stock: ``M n_oj``), so a move's effect is a rank-one
    update. Moves that pass are confirmed on the whole decision by the caller.
    """

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.delta = scenario.constraints.max_price_spread
        spec = coupling_spec(scenario)
        self.bound = spec.bound
        self.rows = self._coupling_rows(scenario, spec)  # (O, K+1, R), level K = off
        # per-menu rules other than the per-segment margin rate do not depend on the
        # segment: one scenario checks every menu (min_margin holds: levels are allowed)
        self.menu_scenario = segment_scenario(scenario, 0).with_constraints(min_margin_rate=None)
        self.menu_rules = any(name != "min_margin" for name in self.menu_scenario.constraints.active())
        c = scenario.constraints
        seg_rate = c.min_margin_rate if c.margin_rate_scope == "segment" else None
        self.rate_rows = None  # (O, K+1): m p - (p - c), 0 for "off" (level K)
        if seg_rate is not None:
            price = np.nan_to_num(scenario.prices)
            rows = seg_rate * price - (price - scenario.costs[:, None])
            self.rate_rows = np.concatenate([rows, np.zeros((scenario.n_offers, 1))], axis=1)
        self.vv = np.zeros((scenario.n_segments, scenario.n_offers))
        self.base = np.zeros((scenario.n_segments, len(self.bound)))
        self.denom = np.ones(scenario.n_segments)

    @staticmethod
    def _coupling_rows(sc: Scenario, spec: CouplingSpec) -> np.ndarray:
        n_o, n_k = sc.n_offers, sc.n_levels
        price = np.concatenate([np.nan_to_num(sc.prices), np.zeros((n_o, 1))], axis=1)
        cols = []
        if spec.rate is not None:
            cols.append((spec.rate * price - (price - sc.costs[:, None]))[:, :, None])
        protected = np.zeros((n_o, len(spec.protected)))
        protected[spec.protected, np.arange(len(spec.protected))] = -1.0
        cols.append(np.repeat(protected[:, None, :], n_k + 1, axis=1))
        cols.append(np.repeat(spec.stock_units[:, None, :], n_k + 1, axis=1))
        rows = np.concatenate(cols, axis=2)
        rows[:, n_k, :] = 0.0
        return rows

    def reset(self, levels: np.ndarray) -> None:
        """Record each segment's MNL sums for the current decision."""
        sc = self.scenario
        n_k = sc.n_levels
        idx = np.where(levels >= 0, levels, n_k)  # (S, O)
        v = np.concatenate([sc.v, np.zeros((sc.n_segments, sc.n_offers, 1))], axis=2)
        s_idx, o_idx = np.arange(sc.n_segments)[:, None], np.arange(sc.n_offers)[None, :]
        self.vv = v[s_idx, o_idx, idx]
        self.denom = sc.v0 + self.vv.sum(axis=1)
        self.base = np.einsum("so,sor->sr", self.vv, self.rows[o_idx, idx])
        self.idx = idx

    def passes(self, levels: np.ndarray, moves: np.ndarray) -> np.ndarray:
        """(M,) bool: the moves that pass the screen."""
        ok = np.ones(len(moves), dtype=bool)
        if self.menu_rules:
            menus = levels[moves[:, 0]].copy()
            menus[np.arange(len(moves)), moves[:, 1]] = moves[:, 2]
            ok &= evaluate_many(self.menu_scenario, menus[:, None, :]).feasible
        if self.rate_rows is not None:
            ok &= self._segment_rate_ok(moves)
        if len(self.bound):
            ok &= self._coupling_ok(moves)
        if self.delta is not None:
            ok &= self._spread_ok(levels, moves)
        return ok

    def _segment_rate_ok(self, moves: np.ndarray) -> np.ndarray:
        """Per-segment margin rate after each move: ``sum_o vv (m p - (p - c)) <= 0``."""
        sc = self.scenario
        g, o, k = moves[:, 0], moves[:, 1], moves[:, 2]
        o_idx = np.arange(sc.n_offers)[None, :]
        base = (self.vv * self.rate_rows[o_idx, self.idx]).sum(axis=1)  # (S,)
        v_new = np.where(k >= 0, sc.v[g, o, np.maximum(k, 0)], 0.0)
        k_new = np.where(k >= 0, k, sc.n_levels)
        after = base[g] - self.vv[g, o] * self.rate_rows[o, self.idx[g, o]] + v_new * self.rate_rows[o, k_new]
        return after <= 1e-12 * np.maximum(1.0, self.denom[g])

    def _coupling_ok(self, moves: np.ndarray) -> np.ndarray:
        """Separable cross-segment sums after each move, by a rank-one update."""
        sc = self.scenario
        g, o, k = moves[:, 0], moves[:, 1], moves[:, 2]
        k_new = np.where(k >= 0, k, sc.n_levels)
        v_new = np.where(k >= 0, sc.v[g, o, np.maximum(k, 0)], 0.0)
        v_old = self.vv[g, o]
        w = sc.weights
        usage = w[:, None] * self.base / self.denom[:, None]  # (S, R)
        total = usage.sum(axis=0)
        base_new = (self.base[g] - v_old[:, None] * self.rows[o, self.idx[g, o]]
                    + v_new[:, None] * self.rows[o, k_new])
        usage_new = w[g, None] * base_new / (self.denom[g] - v_old + v_new)[:, None]
        after = total - usage[g] + usage_new
        return np.all(after <= self.bound + 1e-12 * (1.0 + np.abs(self.bound)), axis=1)

    def _spread_ok(self, levels: np.ndarray, moves: np.ndarray) -> np.ndarray:
        """Spread of the moved offer against its price on the other menus (the current
        decision is feasible, so no other offer can break the spread)."""
        sc = self.scenario
        g, o, k = moves[:, 0], moves[:, 1], moves[:, 2]
        current = np.where(levels >= 0, sc.prices[np.arange(sc.n_offers), np.maximum(levels, 0)], np.nan)
        others = current[:, o].T.copy()  # (M, G)
        others[np.arange(len(moves)), g] = np.nan
        new = np.where(k >= 0, sc.prices[o, np.maximum(k, 0)], np.nan)
        return spread_compatible(others, new[:, None], self.delta, 1e-9)


def _best_repair_move(
    scenario: Scenario, levels: np.ndarray, moves: np.ndarray, current: BatchEvaluation
) -> int | None:
    """Index of the move that most reduces (violations, excess), ties by profit, or None.

    At most ``_REPAIR_MOVES`` moves are evaluated: all of them when there are fewer,
    else a fixed pseudo-random sample (seeded by the iteration state).
    """
    if len(moves) == 0:
        return None
    pool = np.arange(len(moves))
    if len(pool) > _REPAIR_MOVES:
        rng = np.random.default_rng(int(np.abs(levels).sum()) + len(moves))
        pool = np.sort(rng.choice(len(moves), size=_REPAIR_MOVES, replace=False))
    res = evaluate_many(scenario, _candidates(levels, moves[pool]))
    top = int(np.lexsort((-res.profit, res.infeasibility, res.n_violations))[0])
    cur = (int(current.n_violations[0]), float(current.infeasibility[0]))
    new = (int(res.n_violations[top]), float(res.infeasibility[top]))
    return int(pool[top]) if new < cur else None
