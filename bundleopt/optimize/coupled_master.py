"""The master side of the Lagrangian decomposition of rules that couple segments
(:mod:`bundleopt.optimize.coupled`): the coupling rows, the per-segment columns, the
master LP over them (multipliers, bound) and the repair MILP that picks one column per
segment keeping the coupling rows. ``formulations/coupled_decomposition.md``."""

from __future__ import annotations

from dataclasses import dataclass, field

import highspy
import numpy as np

from bundleopt.optimize.conditioning import LinearProgram
from bundleopt.optimize.highs_backend import INF, new_highs, to_highs
from bundleopt.scenario import NOT_OFFERED, Decision, Scenario

__all__ = ["Column", "CoupledResult", "CouplingRows", "coupling_rows"]


@dataclass(frozen=True)
class CouplingRows:
    """Rows ``sum_s w_s sum_{o,k} g[r, o, k] P_s(o, k) >= b[r]``, with names.
    ``slack[r]``: how far below ``b[r]`` the exact evaluator still calls the rule kept
    (its tolerance, :func:`bundleopt.optimize.evaluation.evaluate`); the Lagrangian bound
    uses ``b - slack`` so that it bounds every decision the evaluator accepts."""

    g: np.ndarray  # (R, O, K)
    b: np.ndarray  # (R,)
    names: tuple[str, ...]
    slack: np.ndarray | None = None


def coupling_rows(scenario: Scenario, tol: float = 1e-9) -> CouplingRows:
    """The coupling rules of ``scenario`` as rows over the purchase probabilities
    (same tolerances-free maths as :mod:`bundleopt.optimize.evaluation`):

    * overall margin rate m: ``g = (1 - m) p - c``, ``b = 0``;
    * cannibalisation of product j (single offer o_j): ``g[o_j, :] = 1``,
      ``b = (1 - gamma) ref[o_j]`` (rows with ``b <= 0`` always hold: left out);
    * stock of product j: ``g[o, :] = -M n_jo``, ``b = -stock_j``.

    ``slack`` from the evaluator's tolerance ``tol`` (normalised excesses): margin rate
    ``tol max(1, highest price)`` (its excess is divided by ``max(1, revenue)``),
    cannibalisation ``tol``, stock ``tol max(1, stock_j)``.
    """
    sc = scenario
    c = sc.constraints
    shape = (sc.n_offers, sc.prices.shape[1])
    g, b, names, slack = [], [], [], []
    if c.min_margin_rate is not None and c.margin_rate_scope == "overall":
        g.append(np.nan_to_num((1 - c.min_margin_rate) * sc.prices - sc.costs[:, None]))
        b.append(0.0)
        names.append("min_margin_rate")
        slack.append(tol * max(1.0, float(np.nanmax(np.where(np.isfinite(sc.prices), sc.prices, 0.0)))))
    if c.max_cannibalisation is not None:
        single = sc.single_offer()
        protected = [p for p in sc.products if p in single] if c.protected_products is None \
            else list(c.protected_products)
        ref = sc.reference_sales()
        for p in protected:
            o = single[p]
            floor = (1 - c.max_cannibalisation) * ref[o]
            if floor <= 0:
                continue
            row = np.zeros(shape)
            row[o, :] = 1.0
            g.append(row)
            b.append(float(floor))
            names.append(f"max_cannibalisation[{p!r}]")
            slack.append(tol)
    for p, units in (c.stock or {}).items():
        row = np.zeros(shape)
        for o, comp in enumerate(sc.components):
            n = comp.count(p)
            if n:
                row[o, :] = -sc.market_size * n
        g.append(row)
        b.append(-float(units))
        names.append(f"stock[{p!r}]")
        slack.append(tol * max(1.0, float(units)))
    g_arr = np.array(g) if g else np.zeros((0, *shape))
    return CouplingRows(g=g_arr, b=np.array(b, dtype=float), names=tuple(names),
                        slack=np.array(slack, dtype=float))


@dataclass
class Column:
    """One segment's menu: levels (O,), exact profit, coupling-row activities (R,)."""

    levels: np.ndarray
    profit: float
    act: np.ndarray


@dataclass
class CoupledResult:
    """Outcome of :func:`solve_coupled`: the repaired plan (None: none found), its
    exact profit, the best Lagrangian bound, rounds, and notes."""

    decision: Decision | None
    profit: float
    bound: float
    rounds: int
    optimal_at_zero: bool
    stopped_by_deadline: bool
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    lam: np.ndarray | None = None  # the multipliers of the best bound (row units)


def _column(sc: Scenario, s: int, levels: np.ndarray, margin: np.ndarray, rows: CouplingRows) -> Column:
    on = np.flatnonzero(levels != NOT_OFFERED)
    k = levels[on]
    vv = sc.v[s, on, k]
    prob = vv / (sc.v0[s] + vv.sum())
    profit = float(sc.market_size * sc.weights[s] * (prob * margin[on, k]).sum())
    act = sc.weights[s] * (rows.g[:, on, k] @ prob) if len(rows.b) else np.zeros(0)
    return Column(levels.copy(), profit, np.asarray(act, dtype=float))


def _master_lp(pools: list[dict[bytes, Column]], rows: CouplingRows, norm: np.ndarray,
               penalty: float, threads: int | None) -> tuple[float, np.ndarray]:
    """Restricted master LP: ``max sum profit u - penalty sum slack`` s.t. one convex
    combination per segment and ``sum act u + slack >= b`` (rows normalised).
    Returns its value and the coupling rows' duals (>= 0, profit per normalised unit)."""
    cols, entries_r, entries_c, vals = _column_entries(pools, norm)
    S, R = len(pools), len(rows.b)
    n = len(cols) + R
    cost = np.concatenate([[-c.profit for _, c in cols], np.full(R, penalty)])
    for r in range(R):
        entries_r.append(S + r)
        entries_c.append(len(cols) + r)
        vals.append(1.0)
    h = _lp(cost, np.zeros(n), np.full(n, INF), entries_r, entries_c, vals,
            np.concatenate([np.ones(S), rows.b / norm]),
            np.concatenate([np.ones(S), np.full(R, INF)]), threads)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"coupled master LP ended with {h.modelStatusToString(h.getModelStatus())}")
    value = -h.getInfo().objective_function_value
    duals = np.asarray(h.getSolution().row_dual, dtype=float)[S:]
    return value, duals


def _column_entries(pools: list[dict[bytes, Column]], norm: np.ndarray
                    ) -> tuple[list[tuple[int, Column]], list[int], list[int], list[float]]:
    """The pools' menus as columns of the master LP and the repair MILP, and their
    matrix entries: 1 in the convexity row of their segment, ``act / norm`` in the
    coupling rows (row ``S + r``)."""
    cols = [(s, c) for s, p in enumerate(pools) for c in p.values()]
    S = len(pools)
    er, ec, vals = [], [], []
    for j, (s, c) in enumerate(cols):
        er.append(s)
        ec.append(j)
        vals.append(1.0)
        for r in np.flatnonzero(c.act):
            er.append(S + r)
            ec.append(j)
            vals.append(c.act[r] / norm[r])
    return cols, er, ec, vals


def _lp(cost: np.ndarray, lo: np.ndarray, hi: np.ndarray, er: list[int], ec: list[int],
        vals: list[float], r_lo: np.ndarray, r_hi: np.ndarray, threads: int | None,
        integer: np.ndarray | None = None) -> highspy.Highs:
    import scipy.sparse as sp

    A = sp.csc_array((vals, (er, ec)), shape=(len(r_lo), len(cost)))
    prog = LinearProgram(c=np.asarray(cost, dtype=float), offset=0.0, A=A, row_lo=r_lo,
                         row_hi=r_hi, col_lo=lo, col_hi=hi)
    h = new_highs(threads)
    h.passModel(to_highs(prog, [] if integer is None else list(integer)))
    return h


def _repair(sc: Scenario, pools: list[dict[bytes, Column]], rows: CouplingRows, norm: np.ndarray,
            time_limit: float | None, mip_gap: float, threads: int | None
            ) -> tuple[np.ndarray, float] | None:
    """One menu per segment from the pools: the best profit whose coupling rows hold
    exactly (recomputed in floating point; a plan HiGHS returns within its
    tolerances but not exactly is refused, and the rows tightened by that excess)."""
    cols, er, ec, vals = _column_entries(pools, norm)
    S, R = len(pools), len(rows.b)
    n = len(cols)
    shift = np.full(R, 1e-9)
    for _ in range(4):
        h = _lp(-np.array([c.profit for _, c in cols]), np.zeros(n), np.ones(n), er, ec, vals,
                np.concatenate([np.ones(S), rows.b / norm + shift]),
                np.concatenate([np.ones(S), np.full(R, INF)]), threads, integer=np.ones(n, bool))
        h.setOptionValue("mip_rel_gap", float(mip_gap) / 10)
        h.setOptionValue("mip_feasibility_tolerance", 1e-9)
        h.setOptionValue("primal_feasibility_tolerance", 1e-9)
        if time_limit is not None:
            h.setOptionValue("time_limit", float(time_limit))
        h.run()
        if h.getInfo().primal_solution_status != 2:
            return None
        u = np.asarray(h.getSolution().col_value) > 0.5
        chosen = [cols[j] for j in np.flatnonzero(u)]
        if len(chosen) != S or len({s for s, _ in chosen}) != S:
            return None
        act = sum(c.act for _, c in chosen) if R else np.zeros(0)
        short = (rows.b - act) / norm
        if np.all(short <= 0):
            levels = np.array([c.levels for _, c in sorted(chosen, key=lambda t: t[0])])
            return levels, float(sum(c.profit for _, c in chosen))
        shift = shift + np.maximum(short, 0) * 2 + 1e-9
    return None
