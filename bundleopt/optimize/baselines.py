"""Baseline decisions the MILP is compared against (each returns a ``Decision``).

Evaluate any of them with :func:`bundleopt.optimize.evaluate.evaluate`. Which rules
each baseline respects is stated in its docstring; every baseline only proposes
ladder levels that pass :meth:`Scenario.allowed` (existing levels above the
per-offer margin floor), so ``min_margin`` always holds.
"""

from __future__ import annotations

import numpy as np

from bundleopt.optimize.evaluate import evaluate_many, validate_decision
from bundleopt.scenario import NOT_OFFERED, Decision, Scenario

# Candidates checked per call of evaluate_many in the greedy's feasible phase.
_GREEDY_BATCH = 64


def greedy_add_drop(
    scenario: Scenario,
    *,
    start: Decision | np.ndarray | None = None,
    max_iter: int | None = None,
    rel_tol: float = 1e-12,
) -> Decision:
    """Greedy local search over single (menu, offer, level) moves.

    Start from ``start`` (default: nothing offered). A move sets one offer on one menu
    to another allowed level, or removes it (add, change price, drop). Each step:

    * while the current decision is feasible, take the move with the largest expected
      profit among the moves whose result satisfies every rule
      (:func:`~bundleopt.optimize.evaluate.evaluate_many`), if it improves the profit by
      more than ``rel_tol * max(1, |profit|)``; otherwise stop (a local optimum);
    * while it is infeasible (e.g. the empty start under a cannibalisation cap), take
      the move that most reduces ``(number of violated rule instances, total normalised
      excess)`` lexicographically, ties broken by profit; stop if none reduces it.

    Respects every rule once a feasible decision is reached (the returned decision is
    infeasible only when the infeasible phase got stuck; evaluate it to see the
    violations). Move profits are computed incrementally from the MNL sums
    ``A_s = v0[s] + sum vv`` and ``N_s = sum (p - c) vv``; rules are checked only for
    the most profitable candidates, in batches.
    """
    levels = (
        np.full((scenario.n_menus, scenario.n_offers), NOT_OFFERED)
        if start is None
        else validate_decision(scenario, start).copy()
    )
    max_iter = 20 * scenario.n_menus * scenario.n_offers + 10 if max_iter is None else max_iter
    current = evaluate_many(scenario, levels[None])
    for _ in range(max_iter):
        moves, profits = _move_profits(scenario, levels)
        if current.feasible[0]:
            step = _best_feasible_move(scenario, levels, moves, profits, float(current.profit[0]), rel_tol)
        else:
            step = _best_repair_move(scenario, levels, moves, current)
        if step is None:
            break
        levels = _apply(levels, moves[step])
        current = evaluate_many(scenario, levels[None])
    return Decision(levels)


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
) -> int | None:
    """Index of the most profitable improving move that keeps every rule, or None."""
    improving = np.flatnonzero(profits > current + rel_tol * max(1.0, abs(current)))
    order = improving[np.argsort(-profits[improving], kind="stable")]
    start, size = 0, 1
    while start < len(order):
        batch = order[start : start + size]
        ok = evaluate_many(scenario, _candidates(levels, moves[batch])).feasible
        if ok.any():
            return int(batch[np.argmax(ok)])
        start, size = start + size, min(4 * size, _GREEDY_BATCH)
    return None


def _best_repair_move(scenario: Scenario, levels: np.ndarray, moves: np.ndarray, current) -> int | None:
    """Index of the move that most reduces (violations, excess), ties by profit, or None."""
    if len(moves) == 0:
        return None
    res = evaluate_many(scenario, _candidates(levels, moves))
    key = np.lexsort((-res.profit, res.infeasibility, res.n_violations))
    best = int(key[0])
    cur = (int(current.n_violations[0]), float(current.infeasibility[0]))
    new = (int(res.n_violations[best]), float(res.infeasibility[best]))
    return best if new < cur else None
