"""The greedy add/drop heuristic (:func:`greedy_add_drop`): the strongest baseline and the
MILP's warm start. From a start menu it applies the best profitable move (add an offer,
drop one, move a price one ladder step) while one exists; moves that would break a rule
are screened out (exactly, with :func:`bundleopt.optimize.evaluation.evaluate_many`), and
an infeasible start is first repaired. ``formulations/evaluation_and_baselines.md``."""

from __future__ import annotations

import time

import numpy as np

from bundleopt.optimize.brute_force import (
    CouplingSpec,
    coupling_spec,
    segment_scenario,
    spread_compatible,
)
from bundleopt.optimize.evaluation import (
    BatchEvaluation,
    evaluate_many,
    validate_decision,
)
from bundleopt.scenario import NOT_OFFERED, Decision, Scenario

__all__ = ["greedy_add_drop"]

# Candidates checked per call of evaluate_many in the greedy's feasible phase.
_GREEDY_BATCH = 64
# Moves screened at once on personalised menus.
_SCREEN_BATCH = 256
# Most moves evaluated per step while repairing an infeasible decision.
_REPAIR_MOVES = 2048


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
