"""Fairness across personalised segments as a choice of one price window per offer.

The rule ``max_price_spread`` (delta) asks that, for every offer o and every two
segments both offered it, ``p_s <= (1 + delta) p_s'``. Equivalently the prices of o in
use lie in one *window* ``[p_a, (1 + delta) p_a]`` anchored at one of o's levels ``a``
(the lowest price in use). Once a window is fixed for every offer, the rule is a
level mask shared by all segments, and each segment is again its own exact problem
(:func:`bundleopt.optimize.menu_oracle.best_menu`): the fair optimum is the best
window vector. This module holds the window arithmetic and a search over window
vectors guided by the segments' Dinkelbach values; the orchestration (bound, rows
that join segments, repair) is :func:`bundleopt.optimize.coupled.solve_coupled`
(``formulations/coupled_decomposition.md``, "Fairness across segments").
"""

from __future__ import annotations

import time

import numpy as np

from bundleopt.optimize.menu_oracle import best_menu
from bundleopt.scenario import NOT_OFFERED


def price_windows(prices: np.ndarray, mask: np.ndarray, delta: float, rtol: float = 0.0) -> np.ndarray:
    """(O, A, K) windows: ``win[o, a, k]`` is True when level k of offer o is allowed
    and ``p_a <= p_k <= (1 + delta) p_a`` (anchor a an allowed level of o). Only the
    maximal windows are kept (a window whose levels lie inside another's can never do
    better); the others, and the anchors that are not allowed, are all False.

    With ``rtol = 0`` the comparison is the evaluator's own (``p_k <= (1 + delta) p_a``
    in floating point), so every plan inside a window keeps the rule exactly; the bound
    uses ``rtol`` = the evaluator's tolerance (``p_k <= (1 + delta) p_a (1 + rtol)``), so
    that its windows hold every plan the evaluator accepts.
    """
    p = np.where(mask, prices, np.nan)
    lo = p[:, :, None]  # anchor a
    hi = p[:, None, :]  # level k
    with np.errstate(invalid="ignore"):
        win = (hi >= lo) & (hi <= (1.0 + delta) * lo * (1.0 + rtol))
    win &= mask[:, None, :] & mask[:, :, None]
    # drop windows inside another (the later of two equal ones)
    sub = np.all(~win[:, :, None, :] | win[:, None, :, :], axis=3)  # sub[o, a, b]: W_a <= W_b
    n_a = win.shape[1]
    later = np.arange(n_a)[:, None] > np.arange(n_a)[None, :]  # a after b
    strict = sub & ~np.swapaxes(sub, 1, 2)
    dominated = np.any((strict | (sub & np.swapaxes(sub, 1, 2) & later[None])) & ~np.eye(n_a, dtype=bool)[None],
                       axis=2)
    win[dominated] = False
    return win


def spread_excess(prices: np.ndarray, levels: np.ndarray, delta: float) -> float:
    """Largest ``(max_s p_s - cap) / cap`` with ``cap = (1 + delta) min_s p_s`` over
    offers (segments offered it), the evaluator's normalised excess: <= 0 when the plan
    ``levels`` (S, O) keeps the spread rule exactly."""
    on = levels != NOT_OFFERED
    used = _prices_of(prices, levels)
    any_on = on.any(axis=0)
    if not any_on.any():
        return -np.inf
    hi = np.nanmax(used[:, any_on], axis=0)
    lo = np.nanmin(used[:, any_on], axis=0)
    cap = (1.0 + delta) * lo
    return float(np.max((hi - cap) / cap))


def _prices_of(prices: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """(S, O) price of each segment's level (NaN where not offered)."""
    o = np.arange(prices.shape[0])[None, :]
    k = np.where(levels == NOT_OFFERED, 0, levels)
    return np.where(levels == NOT_OFFERED, np.nan, prices[o, k])


def anchors_of(prices: np.ndarray, levels: np.ndarray, win: np.ndarray) -> np.ndarray:
    """(O,) for a fair plan ``levels`` (S, O): for each offer a kept window holding
    every level in use (-1 when the offer is offered nowhere)."""
    used = np.zeros(win.shape[::2], dtype=bool)  # (O, K)
    s_idx, o_idx = np.nonzero(levels != NOT_OFFERED)
    used[o_idx, levels[s_idx, o_idx]] = True
    fits = np.all(~used[:, None, :] | win, axis=2) & win.any(axis=2)
    anchors = np.where(fits.any(axis=1), np.argmax(fits, axis=1), -1)
    anchors[~used.any(axis=1)] = -1
    return anchors


def window_mask(win: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """(O, K) levels allowed by the windows ``anchors`` (-1: the offer is not offered)."""
    o = np.arange(win.shape[0])
    out = win[o, np.maximum(anchors, 0)].copy()
    out[anchors < 0] = False
    return out


def segment_menus(v: np.ndarray, v0: np.ndarray, reward: np.ndarray, allowed: np.ndarray,
                  cap: int | None) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Each segment's exact best menu within ``allowed`` (O, K) for ``reward`` (S, O, K):
    ``(sum of values, levels (S, O), values t (S,), denominators v0 + sum v (S,))``."""
    S, n_o = v.shape[:2]
    levels = np.full((S, n_o), NOT_OFFERED, dtype=int)
    t = np.zeros(S)
    den = np.asarray(v0, dtype=float).copy()
    for s in range(S):
        t[s], _, levels[s] = best_menu(v[s], float(v0[s]), reward[s], allowed, cap)
        on = np.flatnonzero(levels[s] != NOT_OFFERED)
        den[s] += float(v[s, on, levels[s, on]].sum())
    return float(t.sum()), levels, t, den


def window_scores(v: np.ndarray, reward: np.ndarray, mask: np.ndarray, win: np.ndarray,
                  t: np.ndarray, den: np.ndarray, cap: int | None) -> np.ndarray:
    """(O, A) first-order value of giving offer o the window a, all segments together.

    Segment s's best value t_s is the root of ``h_s(t) = v0_s t`` with
    ``h_s(t) = sum_o max(0, max_k v (r - t))``; a change ``dh`` of one offer's term
    moves the root by about ``dh / D_s`` (``D_s = v0_s + sum of the menu's v``, the
    slope of ``v0 t - h(t)``). So the score of window a is
    ``sum_s max(0, max_{k in W_a} v[s,o,k] (r[s,o,k] - t_s) - theta_s) / D_s``, with
    ``theta_s`` the term of the C-th best offer when an offer cap C binds (an offer
    that enters displaces it).
    """
    S = v.shape[0]
    score = np.zeros(win.shape[:2])
    for s in range(S):
        g = np.where(mask, v[s] * (reward[s] - t[s]), -np.inf)
        theta = 0.0
        if cap is not None:
            top = g.max(axis=1)
            top = top[top > 0]
            if len(top) > cap:
                theta = float(np.partition(top, len(top) - cap - 1)[len(top) - cap - 1])
        g = np.maximum(g - theta, 0.0) / den[s]
        score += np.max(np.where(win, g[:, None, :], 0.0), axis=2)
    return score


def window_cut(v: np.ndarray, v0: np.ndarray, reward: np.ndarray, mask: np.ndarray,
               win: np.ndarray, cap: int | None, refine: int = 30) -> tuple[float, float]:
    """``(U, cut)``: ``U = sum_s`` of the segments' best-menu bounds with every level
    allowed, and ``cut >= 0`` such that every choice of one window per offer has
    ``sum_s V_s(windows) <= U - cut`` (``V_s``: segment s's best menu value within the
    windows, for the per-probability ``reward`` (S, O, K)).

    Why (``formulations/coupled_decomposition.md``): let ``t_s`` be segment s's
    Dinkelbach value and ``G[o, a] = max(0, max_{k in W_a} v (r - t_s))``,
    ``G[o] = G[o, all levels]``. A menu S inside the windows has
    ``F(S) - t_s = x(S) / D(S)`` with ``x(S) = sum_S v (r - t_s) - v0 t_s <= h(t_s; W) - v0 t_s``
    and ``D(S) = v0 + sum_S v``. A best menu holds only levels with ``r > t_s(W) >= 0``,
    so ``D <= Dbar_s = v0 + `` (the C largest of) ``max_{k: r > 0} v[o, k]``; hence
    ``F <= t_s + phi(x)`` with ``phi(x) = x / v0`` for ``x > 0``, ``x / Dbar`` below:
    convex, slopes in ``[1 / Dbar, 1 / v0]``. With ``T`` the C best offers by ``G[o]``
    and ``theta`` the C-th value (0 without a binding cap),
    ``h(t_s; W) <= h(t_s) - Delta_s(W)``, ``Delta_s(W) = sum_{o in T} (G[o] - max(G[o, a_o], theta)) >= 0``,
    so ``V_s(W) <= ub_s - Delta_s(W) / Dbar_s``: separable over offers, and
    ``cut = sum_o min_a sum_s Delta_s[o, a] / Dbar_s`` (shrunk by 1e-9 against rounding).

    ``Dbar_s`` is narrowed to the levels with ``r > tau_s``: either ``t_s(W) < tau_s``,
    or the best menu's levels have ``r > tau_s``. With ``tau_s <= ub_s - Delta_max / Dbar_s(tau_s)``
    (``Delta_max = sum_o max_a Delta_s[o, a]``, found by ``refine`` bisection steps),
    ``tau_s`` is below ``ub_s - Delta_s(W) / Dbar_s(tau_s)`` for every W, so the latter
    bounds ``V_s(W)`` in both cases.
    """
    S = v.shape[0]
    total, per = 0.0, np.zeros(win.shape[:2])
    has = win.any(axis=2)
    for s in range(S):
        t, ub, _ = best_menu(v[s], float(v0[s]), reward[s], mask, cap)
        total += ub
        usable = mask & (v[s] > 0) & np.isfinite(reward[s])
        g = np.where(usable, v[s] * (reward[s] - t), 0.0).clip(0.0)
        g_all = g.max(axis=1)
        g_win = np.max(np.where(win, g[:, None, :], 0.0), axis=2)
        theta, in_t = 0.0, g_all > 0
        if cap is not None and in_t.sum() > cap:
            order = np.argsort(-g_all, kind="stable")[:cap]
            in_t = np.zeros_like(in_t)
            in_t[order] = True
            theta = float(g_all[order[-1]])
        delta = np.where(in_t[:, None], g_all[:, None] - np.maximum(g_win, theta), 0.0).clip(0.0)
        worst = float(np.where(has, delta, 0.0).max(axis=1).sum())

        def dbar(tau: float, s: int = s, usable: np.ndarray = usable) -> float:
            vmax = np.where(usable & (reward[s] > tau), v[s], 0.0).max(axis=1)
            return float(v0[s]) + (float(vmax.sum()) if cap is None
                                   else float(np.sort(vmax)[::-1][:cap].sum()))

        # largest tau with tau <= ub - worst / Dbar(tau): then t_s(W) >= tau or not, the
        # bound ub - Delta_s(W) / Dbar(tau) holds (module docstring of window_cut)
        lo, hi = 0.0, max(ub, 0.0)
        for _ in range(refine):
            mid = 0.5 * (lo + hi)
            if mid <= ub - worst / dbar(mid):
                lo = mid
            else:
                hi = mid
        per += delta / dbar(lo)
    per = np.where(has, per, np.inf).min(axis=1)  # offers without any level: no cut
    cut = float(per[np.isfinite(per)].sum()) * (1.0 - 1e-9)
    return total, max(cut, 0.0)


def search_windows(v: np.ndarray, v0: np.ndarray, reward: np.ndarray, mask: np.ndarray,
                   win: np.ndarray, cap: int | None, *, start: np.ndarray | None = None,
                   deadline: float | None = None, max_iter: int = 30
                   ) -> tuple[np.ndarray, float, np.ndarray]:
    """A good window per offer for the per-probability ``reward`` (S, O, K):
    ``(anchors (O,), value, levels (S, O))``, the value exact (each segment's best
    menu within the windows).

    From the segments' unrestricted best menus (or the windows ``start``), repeat:
    score every window (:func:`window_scores`) at the current menus' values and
    denominators, move every offer to its best-scoring window (keeping the current one
    on ties), re-solve the segments exactly. The best window vector seen is kept; it
    stops when the windows repeat, after ``max_iter`` rounds or at ``deadline``.
    """
    n_o = v.shape[1]
    allowed = mask if start is None else window_mask(win, start)
    value, levels, t, den = segment_menus(v, v0, reward, allowed, cap)
    best: tuple[np.ndarray, float, np.ndarray] | None = None
    if start is not None:
        best = (start.copy(), value, levels)
    current = start
    seen: set[bytes] = set() if start is None else {start.tobytes()}
    for _ in range(max_iter):
        if best is not None and deadline is not None and time.perf_counter() >= deadline:
            break
        score = window_scores(v, reward, mask, win, t, den, cap)
        score = np.where(win.any(axis=2), score, -np.inf)
        anchors = np.argmax(score, axis=1)
        if current is not None:  # keep the current window on ties
            o = np.arange(n_o)
            keep = (current >= 0) & (score[o, np.maximum(current, 0)] >= score[o, anchors])
            anchors = np.where(keep, current, anchors)
        anchors = np.where(np.isfinite(score[np.arange(n_o), anchors]), anchors, -1)
        key = anchors.tobytes()
        if key in seen:
            break
        seen.add(key)
        value, levels, t, den = segment_menus(v, v0, reward, window_mask(win, anchors), cap)
        if best is None or value > best[1]:
            best = (anchors.copy(), value, levels)
        current = anchors
    assert best is not None
    return best


__all__ = ["anchors_of", "price_windows", "search_windows", "segment_menus", "spread_excess",
           "window_cut", "window_mask", "window_scores"]
