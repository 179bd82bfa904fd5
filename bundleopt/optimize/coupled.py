"""Personalised prices with rules that couple segments, by Lagrangian decomposition.

With one menu per segment, the overall margin rate, the cannibalisation caps and stock
are a handful of rows ``sum_s w_s sum_{o,k} g_r[o, k] P_s(o, k) >= b_r`` joining
otherwise independent segments (``P_s``: segment s's purchase probabilities). Here
(``formulations/coupled_decomposition.md``):

1. **Rows.** :func:`coupling_rows` writes each such rule as ``(g_r, b_r)``.
2. **Pricing.** For multipliers ``lam >= 0`` each segment solves its own best menu
   for the reward ``M w_s (p - c) + w_s sum_r lam_r g_r``: exactly by
   :func:`bundleopt.optimize.menu_oracle.best_menu` when its rules are a level mask and
   an offer cap, else by its projected LP (:class:`LpOracle`, an upper bound, exact
   when integral); the Lagrangian value
   ``L(lam) = sum_s V_s(lam) - lam . b`` bounds the optimum from above for *any*
   ``lam >= 0``.
3. **Multipliers** by column generation: the restricted master LP over the menus
   found so far (one convex combination per segment, the coupling rows, a penalised
   slack on each) gives the next ``lam`` (its row duals); it stops when the best
   ``L`` meets the master's value, on ``max_rounds`` or on the deadline.
4. **Repair.** A small MILP picks one menu per segment from those found, best
   profit subject to the coupling rows computed exactly: a plan that satisfies
   every rule (checked again by the caller with the exact evaluator).
5. When the decomposed optimum at ``lam = 0`` already satisfies the coupling rows it
   is optimal and returned at once.

Fairness couples menus level by level (pairs of segments' levels, not a sum row):
it is not dualised but split into a price window per offer (:func:`_solve_fair`,
:mod:`bundleopt.optimize.fair_windows`): the decomposition above with fairness left
out gives the bound (and the answer, when its plan is fair), and the same
decomposition restricted to searched windows gives a fair plan.
"""

from __future__ import annotations

import time

import numpy as np

from bundleopt.optimize.coupled_master import (
    Column,
    CoupledResult,
    CouplingRows,
    _column,
    _master_lp,
    _repair,
    coupling_rows,
)
from bundleopt.optimize.menu_oracle import best_menu, simple_rules
from bundleopt.optimize.rules import active_families, coupling_families
from bundleopt.optimize.segment_oracle import LpOracle, local_scenario
from bundleopt.scenario import NOT_OFFERED, Decision, Scenario

# Families whose rows join segments and that this module dualises.
DUALISED = frozenset({"cannibalisation", "stock", "margin_rate"})


def local_families(scenario: Scenario) -> set[str]:
    """Active rule families that act on each menu alone (the registry's coupling ones
    left out, :func:`bundleopt.optimize.rules.coupling_families`)."""
    return set(active_families(scenario)) - set(coupling_families(scenario))


def applies(scenario: Scenario) -> bool:
    """True when this decomposition solves ``scenario``: one menu per segment, two or
    more segments, at least one coupling rule, all of them dualisable or fairness; with
    fairness, per-menu rules that the exact oracle handles (a margin floor and an offer
    cap), since fairness is handled by price windows."""
    if not scenario.personalised or scenario.n_segments < 2:
        return False
    rules = set(coupling_families(scenario))
    if not rules or not rules <= DUALISED | {"fairness"}:
        return False
    if "fairness" in rules:  # by price windows: the segments' own rules must be simple
        return simple_rules(scenario, local_families(scenario))
    return True


def solve_coupled(scenario: Scenario, *, deadline: float | None = None, mip_gap: float = 1e-4,
                  threads: int | None = None, max_rounds: int = 500) -> CoupledResult:
    """Lagrangian decomposition of a personalised scenario with coupling rows
    (module docstring); with fairness across segments, :func:`_solve_fair`.
    ``deadline``: ``time.perf_counter()`` value to stop by."""
    if _fairness_on(scenario):
        return _solve_fair(scenario, deadline=deadline, mip_gap=mip_gap, threads=threads,
                           max_rounds=max_rounds)
    return _solve_rows(scenario, deadline=deadline, mip_gap=mip_gap, threads=threads,
                       max_rounds=max_rounds)


def _fairness_on(scenario: Scenario) -> bool:
    """The spread rule joins the menus: personalised, two or more segments."""
    return scenario.constraints.max_price_spread is not None and scenario.personalised \
        and scenario.n_segments > 1


def _solve_rows(scenario: Scenario, *, within: np.ndarray | None = None, deadline: float | None = None,
                mip_gap: float = 1e-4, threads: int | None = None, max_rounds: int = 500
                ) -> CoupledResult:
    """The decomposition over the coupling rows (module docstring, steps 1-5), fairness
    left out (a relaxation: the bound holds for the fair problem too). ``within``: an
    (O, K) level mask every menu must also keep (the price windows of fairness)."""
    from bundleopt.optimize.families import level_mask

    t0 = time.perf_counter()
    sc = scenario
    S = sc.n_segments
    rows = coupling_rows(sc)
    local = local_families(sc)
    mask = level_mask(sc, local)
    if within is not None:
        mask = mask & within
    cap = sc.constraints.max_offers if "cardinality" in local else None
    margin = np.nan_to_num(sc.prices - sc.costs[:, None])
    base = sc.market_size * margin
    R = len(rows.b)
    simple = simple_rules(sc, local)
    lp_oracles: dict[int, LpOracle] = {}
    relaxed = set()  # segments priced by the relaxation (deadline before their LP was built)
    # rows normalised so that their largest possible |activity| is about 1
    norm = np.array([max(float(np.abs(np.where(mask, g, 0.0)).max()), 1e-300) for g in rows.g])
    pools: list[dict[bytes, Column]] = [{} for _ in range(S)]

    def price(lam: np.ndarray) -> tuple[float, int]:
        """Oracle for every segment at ``lam`` (row units); adds columns; returns L(lam)."""
        extra = np.tensordot(lam, rows.g, axes=1) if R else 0.0
        total, added = -float(lam @ (rows.b - rows.slack)) if R else 0.0, 0
        for s in range(S):
            reward = sc.weights[s] * (base + extra)
            if simple:
                _, ub, levels = best_menu(sc.v[s], float(sc.v0[s]), reward, mask, cap)
            elif s in lp_oracles or deadline is None or time.perf_counter() < deadline:
                if s not in lp_oracles:
                    lp_oracles[s] = LpOracle(sc, s, threads)
                ub, levels = lp_oracles[s](reward)
                relaxed.discard(s)
            else:  # no time to build its LP: the relaxation's bound, no menu
                _, ub, _ = best_menu(sc.v[s], float(sc.v0[s]), reward, mask, cap)
                levels = None
                relaxed.add(s)
            total += ub
            latest[s] = None if levels is None else levels.tobytes()
            if levels is None:
                exact[0] = False
                continue
            if not simple:
                col = _column(sc, s, levels, margin, rows)
                exact[0] = exact[0] and col.profit + float(lam @ col.act if R else 0.0) \
                    >= ub - 1e-9 * max(1.0, abs(ub))
            key = levels.tobytes()
            if key not in pools[s]:
                pools[s][key] = _column(sc, s, levels, margin, rows)
                added += 1
        return total, added

    from bundleopt.optimize.evaluation import evaluate

    def local_ok(s: int, levels: np.ndarray) -> bool:
        return evaluate(local_scenario(sc, s), Decision(levels[None])).feasible

    latest: list[bytes | None] = [None] * S  # each segment's menu from the last pricing
    nothing = np.full(sc.n_offers, NOT_OFFERED, dtype=int)
    for s in range(S):
        if simple or local_ok(s, nothing):
            pools[s][nothing.tobytes()] = _column(sc, s, nothing, margin, rows)
    lam = np.zeros(R)
    exact = [True]  # every oracle answer of the last pricing was its segment's optimum
    best_bound, _ = price(lam)
    zero_exact = exact[0] and len(relaxed) == 0 and all(key is not None for key in latest)
    best_lam = lam.copy()
    notes: list[str] = []
    first = [pools[s][key] for s, key in enumerate(latest)] if zero_exact else []
    zero_act = sum(c.act for c in first) if R and first else np.zeros(R)
    if zero_exact and (R == 0 or np.all(zero_act >= rows.b + 1e-9 * norm)):
        zero_plan = np.array([c.levels for c in first])
        profit = float(sum(c.profit for c in first))
        return CoupledResult(Decision(zero_plan), profit, best_bound, 0, True, False,
                             ["coupled decomposition: the per-segment optimum satisfies the "
                              "coupling rows; it is optimal"], time.perf_counter() - t0, lam)
    if not all(pools):
        missing = [str(sc.segment_ids[s]) for s, p in enumerate(pools) if not p]
        notes.append(f"coupled decomposition: no menu keeping the rules found for segment(s) "
                     f"{', '.join(missing[:5])}; Lagrangian bound {best_bound:.9g} only")
        return CoupledResult(None, float("nan"), best_bound, 0, False, bool(relaxed), notes,
                             time.perf_counter() - t0, lam)
    scale = max(best_bound, 1e-12 * sc.market_size, 1e-300)
    penalty = 1e4 * scale
    rounds, by_deadline, master = 0, False, -np.inf
    while rounds < max_rounds:
        rounds += 1
        if deadline is not None and time.perf_counter() >= deadline:
            by_deadline = True
            break
        master, duals = _master_lp(pools, rows, norm, penalty, threads)
        lam = np.maximum(duals, 0.0) / norm  # back to the rows' own units
        bound, added = price(lam)
        if bound < best_bound:
            best_bound, best_lam = bound, lam.copy()
        if best_bound - master <= 1e-7 * scale or added == 0:
            break
    # a richer pool around the best multipliers for the repair
    for f in (0.9, 0.99, 1.01, 1.1, 1.5):
        if deadline is not None and time.perf_counter() >= deadline:
            by_deadline = True
            break
        bound, _ = price(best_lam * f)
        best_bound = min(best_bound, bound)
    left = None if deadline is None else max(deadline - time.perf_counter(), 0.05)
    plan = _repair(sc, pools, rows, norm, left, mip_gap, threads)
    notes.append(f"coupled decomposition: {R} coupling row(s) dualised ({', '.join(rows.names[:3])}"
                 f"{', ...' if R > 3 else ''}), {rounds} column-generation round(s), "
                 f"{sum(len(p) for p in pools)} menus, Lagrangian bound {best_bound:.9g}, "
                 f"master LP {master:.9g}" + ("; stopped by the time limit" if by_deadline else ""))
    if plan is None:
        notes.append("coupled decomposition: no menus found combine into a plan that meets "
                     "the coupling rows")
        return CoupledResult(None, float("nan"), best_bound, rounds, False, by_deadline, notes,
                             time.perf_counter() - t0, best_lam)
    levels, profit = plan
    return CoupledResult(Decision(levels), profit, best_bound, rounds, False, by_deadline, notes,
                         time.perf_counter() - t0, best_lam)


# Shares of the time to the deadline: the relaxed decomposition (fairness left out,
# the bound), then the window search; the window-restricted decomposition gets the rest.
FAIR_RELAXED_SHARE = 0.4
FAIR_SEARCH_SHARE = 0.3


def _solve_fair(scenario: Scenario, *, deadline: float | None, mip_gap: float,
                threads: int | None, max_rounds: int, outer: int = 3) -> CoupledResult:
    """Fairness across segments (``max_price_spread`` delta) by price windows
    (:mod:`bundleopt.optimize.fair_windows`, ``formulations/coupled_decomposition.md``).

    1. **Bound.** The decomposition over the other coupling rows with fairness left out
       (:func:`_solve_rows`): a relaxation, so its Lagrangian bound holds for the fair
       problem. When its plan keeps the spread rule, it is returned at once.
    2. **Windows.** A fair plan is a window ``[p_a, (1 + delta) p_a]`` per offer and
       menus inside the windows; with the windows fixed each segment is exact again.
       :func:`~bundleopt.optimize.fair_windows.search_windows` picks windows for the
       segments' Lagrangian rewards at the relaxed multipliers.
    3. **Repair.** The decomposition restricted to the windows (a level mask): its plan
       keeps every rule. With other coupling rows, the windows are searched again at
       the restricted problem's multipliers (up to ``outer`` times) while time is left;
       the best plan is kept.
    """
    from bundleopt.optimize.evaluation import RULE_TOL
    from bundleopt.optimize.fair_windows import (
        price_windows,
        search_windows,
        spread_excess,
        window_cut,
        window_mask,
    )
    from bundleopt.optimize.families import level_mask

    t0 = time.perf_counter()
    sc = scenario
    delta = float(sc.constraints.max_price_spread)
    local = local_families(sc)
    if not simple_rules(sc, local):
        raise ValueError("fairness across segments is decomposed only when the per-menu rules "
                         "are a margin floor and an offer cap")

    def until(share: float) -> float | None:
        return None if deadline is None else time.perf_counter() + share * (deadline - time.perf_counter())

    relaxed = _solve_rows(sc, deadline=until(FAIR_RELAXED_SHARE), mip_gap=mip_gap, threads=threads,
                          max_rounds=max_rounds)
    notes = [f"fairness (max_price_spread {delta:g}): decomposed with the spread rule left out "
             f"first; its bound {relaxed.bound:.9g} holds for the fair problem", *relaxed.notes]
    fair_plan = relaxed.decision is not None and \
        spread_excess(sc.prices, relaxed.decision.levels, delta) <= 0
    if fair_plan and relaxed.bound - relaxed.profit <= mip_gap * max(abs(relaxed.profit), 1e-300):
        notes.append("fairness: the decomposed optimum keeps the spread rule; returned as it is")
        relaxed.notes = notes
        relaxed.seconds = time.perf_counter() - t0
        return relaxed
    mask = level_mask(sc, local)
    cap = sc.constraints.max_offers if "cardinality" in local else None
    win = price_windows(sc.prices, mask, delta)
    rows = coupling_rows(sc)
    base = sc.market_size * np.nan_to_num(sc.prices - sc.costs[:, None])
    lam = relaxed.lam if relaxed.lam is not None else np.zeros(len(rows.b))
    bound_win = price_windows(sc.prices, mask, delta, rtol=RULE_TOL)  # every accepted plan inside
    bound = relaxed.bound
    best: CoupledResult | None = relaxed if fair_plan else None  # a fair plan, not proved optimal
    anchors, rounds, tried = None, relaxed.rounds, set()
    for _ in range(outer):
        extra = np.tensordot(lam, rows.g, axes=1) if len(rows.b) else 0.0
        reward = sc.weights[:, None, None] * (base + extra)[None]
        upper, cut = window_cut(sc.v, sc.v0, reward, mask, bound_win, cap)
        bound = min(bound, upper - (float(lam @ (rows.b - rows.slack)) if len(rows.b) else 0.0) - cut)
        anchors, _, _ = search_windows(sc.v, sc.v0, reward, mask, win, cap, start=anchors,
                                       deadline=until(FAIR_SEARCH_SHARE))
        if anchors.tobytes() in tried:
            break
        tried.add(anchors.tobytes())
        res = _solve_rows(sc, within=window_mask(win, anchors), deadline=deadline,
                          mip_gap=mip_gap, threads=threads, max_rounds=max_rounds)
        rounds += res.rounds
        if res.decision is not None and (best is None or res.profit > best.profit):
            best = res
        if not len(rows.b) or res.lam is None or \
                (deadline is not None and time.perf_counter() >= deadline):
            break
        lam = res.lam
    stopped = relaxed.stopped_by_deadline or (deadline is not None and time.perf_counter() >= deadline)
    if best is None:
        notes.append("fairness: no plan inside the price windows searched meets the coupling rows")
        return CoupledResult(None, float("nan"), bound, rounds, False, stopped, notes,
                             time.perf_counter() - t0, relaxed.lam)
    n_win = int((anchors >= 0).sum())
    notes.append(f"fairness: one price window per offer ({n_win} offers), {len(tried)} window "
                 f"vector(s) solved; plan {best.profit:.9g}"
                 + (" (the decomposed plan, which keeps the spread rule)" if best is relaxed else "")
                 + f", bound with the window cut {bound:.9g}")
    return CoupledResult(best.decision, best.profit, bound, rounds, False, stopped, notes,
                         time.perf_counter() - t0, relaxed.lam)


__all__ = ["CoupledResult", "CouplingRows", "applies", "coupling_rows", "local_families",
           "solve_coupled"]
