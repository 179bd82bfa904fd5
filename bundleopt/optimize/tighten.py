"""Bound tightening on the no-purchase shares ``x[s]`` from an incumbent decision.

The McCormick rows of ``z = x y`` are only as tight as the bounds on ``x[s]``: with
``x[s]`` anywhere in ``[L_s, 1 / v0_s]`` (a factor 2-5 wide on random instances) the
LP relaxation lets every segment put its purchase share on its own favourite
offers. Any decision *better than the incumbent* has ``x[s]`` in a much narrower
range, and that range can be bounded cheaply from the LP relaxation
(``formulations/milp.md``, "Bound tightening"):

LP relaxation ``min c u  s.t.  r_lo <= A u <= r_hi, u_lo <= u <= u_hi`` (HiGHS
form, ``c = -profit``) with row duals ``pi``. Split the rows into those of segment s
(containing ``x[s]`` or ``z[s, .]``), those with ``y`` only, and the rest (other
segments' rows and rows linking segments). Dualising the rest with ``pi`` (any ``pi`` of the right
signs keeps this valid) gives, for every feasible ``u``,

    c u >= L(u) = red . u + pi . b  >= red_s . u_s + const_s,

``red = c - A_other^T pi``, ``const_s = pi . b + sum over the other segments'
columns of min(red_j u_lo_j, red_j u_hi_j)``. A decision better than the incumbent
has ``c u <= -profit_inc``, so it satisfies ``red_s . u_s <= -profit_inc - const_s``
with segment s's own rows and the y rows: a small LP (one segment and y) whose
minimum and maximum of ``x[s]`` bound ``x[s]``. If that LP is infeasible, nothing
beats the incumbent.

:func:`tighten_no_purchase` repeats this (rebuild with the new ranges, solve the LP
relaxation, bound again) while the root bound improves.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy.sparse as sp

from bundleopt.optimize.highs_backend import INF, CompiledModel, compile_model, new_highs

# Padding of the ranges, above HiGHS' LP tolerances (1e-7 in the conditioned model,
# where x[s] is scaled to about [0, 1]): relative, and absolute in solver units.
RANGE_PAD = 1e-6
# Relative slack on the profit cut "profit >= incumbent" (solver units), above the LP
# tolerances, so that round-off never cuts the incumbent's own neighbourhood off.
CUT_PAD = 1e-6
# HiGHS' simplex_strategy value for the primal simplex.
PRIMAL_SIMPLEX = 4
# Narrowest range handed to the MILP (hi / lo - 1). With near-point ranges HiGHS 1.15.1
# called the warm start optimal (tests/test_optimize_tighten.py, "infinite-bound": a
# range 1e-4 to 1e-2 wide still failed there, 3e-2 did not). Widening is always valid.
MIN_WIDTH = 0.05


def widen(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ranges containing ``[lo, hi]`` with ``hi - lo >= MIN_WIDTH * (lo + hi) / 2``,
    around the same midpoint."""
    mid = 0.5 * (lo + hi)
    half = np.maximum(0.5 * (hi - lo), 0.5 * MIN_WIDTH * mid)
    return np.minimum(lo, mid - half), np.maximum(hi, mid + half)


def padded(lo: float, hi: float, scale: float) -> tuple[float, float]:
    """Solver-unit ends ``[lo, hi]`` of an LP over ``x' = x / scale``, widened by
    ``RANGE_PAD`` relative and absolute (the LP's answers are exact only to its
    tolerances), in the model's units."""
    return ((lo - RANGE_PAD * (1.0 + abs(lo))) * scale, (hi + RANGE_PAD * (1.0 + abs(hi))) * scale)


def improving_cut(cm: CompiledModel, incumbent: float) -> float:
    """Right-hand side of ``cost . u' <= cut`` (solver units, objective offset left out)
    that every decision with profit at least ``incumbent`` meets, padded by ``CUT_PAD``."""
    cut = cm.solver_objective(incumbent) - cm.lp.offset_
    return cut + CUT_PAD * max(1.0, abs(cut))


@dataclass
class Tightening:
    """Outcome of :func:`tighten_no_purchase`.

    ``lo`` / ``hi``: bounds on ``x[s]`` that every decision with profit at least
    ``incumbent`` meets (None when none was found). ``exclude``: ladder pairs no such
    decision uses. ``proved_optimal``: no decision beats the incumbent (the
    relaxation with the profit cut is empty).
    ``root_bounds``: LP-relaxation bound before each round (and after the last).
    ``obbt_segments``: segments whose range full bound tightening narrowed at least
    once; ``obbt_passes``: its passes over every segment that ended;
    ``cut_short``: full bound tightening stopped at its deadline, not because another
    pass would narrow too little.
    """

    lo: np.ndarray | None
    hi: np.ndarray | None
    incumbent: float
    proved_optimal: bool = False
    exclude: frozenset[tuple[int, int]] = frozenset()
    root_bounds: list[float] = field(default_factory=list)
    seconds: float = 0.0
    obbt_segments: int = 0
    obbt_passes: int = 0
    cut_short: bool = False

    @property
    def x_range(self) -> tuple[np.ndarray, np.ndarray] | None:
        return None if self.lo is None or self.hi is None else (self.lo, self.hi)


def column_segments(cm: CompiledModel) -> np.ndarray:
    """Segment of each column (``x[s]`` and ``z[s, o, k]``), -1 for ``y`` and others."""
    seg = np.full(len(cm.columns), -1, dtype=int)
    for i, var in enumerate(cm.columns):
        name = var.parent_component().local_name
        if name == "x":
            seg[i] = int(var.index())
        elif name == "z":
            seg[i] = int(var.index()[0])
    return seg


def _matrix(lp: highspy.HighsLp) -> sp.csr_array:
    a = lp.a_matrix_
    csc = sp.csc_array((np.asarray(a.value_), np.asarray(a.index_), np.asarray(a.start_)),
                       shape=(lp.num_row_, lp.num_col_))
    return csc.tocsr()


LINKING = -2  # row holding columns of two or more segments (a cross-segment rule)


def row_segments(A: sp.csr_array, col_seg: np.ndarray) -> np.ndarray:
    """Segment of each row: the one segment whose columns it holds, -1 for rows on
    ``y`` only, :data:`LINKING` for rows holding several segments' columns (overall
    margin rate, cannibalisation, stock); those are always dualised."""
    coo = A.tocoo()
    seg = col_seg[coo.col]
    inside = seg >= 0
    n = A.shape[0]
    hi = np.full(n, -1)
    lo = np.full(n, np.iinfo(int).max)
    np.maximum.at(hi, coo.row[inside], seg[inside])
    np.minimum.at(lo, coo.row[inside], seg[inside])
    return np.where((hi >= 0) & (lo != hi), LINKING, hi)


def _sub_lp(A: sp.csr_array, rows: np.ndarray, cols: np.ndarray, cost: np.ndarray,
            lp: highspy.HighsLp) -> highspy.HighsLp:
    sub = A[rows][:, cols].tocsc()
    out = highspy.HighsLp()
    out.num_col_, out.num_row_ = len(cols), len(rows)
    out.col_cost_ = cost
    out.col_lower_ = np.asarray(lp.col_lower_)[cols]
    out.col_upper_ = np.asarray(lp.col_upper_)[cols]
    out.row_lower_ = np.asarray(lp.row_lower_)[rows]
    out.row_upper_ = np.asarray(lp.row_upper_)[rows]
    out.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    out.a_matrix_.start_ = sub.indptr.astype(np.int32)
    out.a_matrix_.index_ = sub.indices.astype(np.int32)
    out.a_matrix_.value_ = sub.data.astype(float)
    out.a_matrix_.num_col_, out.a_matrix_.num_row_ = len(cols), len(rows)
    return out


class DeadlineReached(RuntimeError):
    """A tightening LP was stopped by the deadline. ``root``: the LP relaxation's
    bound when it was solved before (a valid bound; the ranges were not finished)."""

    def __init__(self, message: str, root: float | None = None) -> None:
        super().__init__(message)
        self.root = root


def _solved(h: highspy.Highs, what: str, deadline: float | None = None) -> bool:
    """Run ``h``: True when optimal, False when infeasible; any other end is an error
    (:class:`DeadlineReached` when ``deadline``, a ``time.perf_counter()`` value,
    passed first)."""
    if deadline is not None:
        left = deadline - time.perf_counter()
        if left <= 0:
            raise DeadlineReached(f"{what}: deadline reached")
        h.setOptionValue("time_limit", float(h.getRunTime() + left))
    h.run()
    status = h.getModelStatus()
    if status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
        return False
    if status == highspy.HighsModelStatus.kTimeLimit:
        raise DeadlineReached(f"{what}: deadline reached")
    if status != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"{what} ended with {h.modelStatusToString(status)}")
    return True


@dataclass
class Ranges:
    """One round of :func:`lagrangian_ranges`: the LP bound ``root``, the ranges
    ``lo <= x[s] <= hi`` and the ladder pairs ``off`` that no decision better than
    the incumbent uses (reduced-cost test on the LP relaxation)."""

    root: float
    lo: np.ndarray
    hi: np.ndarray
    off: frozenset[tuple[int, int]]


def lagrangian_ranges(cm: CompiledModel, incumbent: float, *, threads: int | None = None,
                      deadline: float | None = None) -> Ranges | None:
    """Solve the LP relaxation of ``cm`` and bound every ``x[s]`` over the decisions
    with profit >= ``incumbent`` (module docstring).

    Returns the :class:`Ranges` (``root``: the relaxation's profit), or None when no
    decision can beat the incumbent. The duals must be a simplex vertex's: interior-
    point duals (no crossover) split the bound much worse (100 x 20 x 5: 2.87%
    instead of 2.45% root gap after 4 rounds). Raises :class:`DeadlineReached` when
    ``deadline`` (``time.perf_counter()``) passes before it ends.
    """
    lp = cm.lp
    A = _matrix(lp)
    col_seg = column_segments(cm)
    r_seg = row_segments(A, col_seg)
    h = new_highs(threads)
    h.setOptionValue("solver", "simplex")  # vertex duals (see above)
    h.passModel(lp)
    for j in range(lp.num_col_) if len(lp.integrality_) else ():
        h.changeColIntegrality(j, highspy.HighsVarType.kContinuous)
    if not _solved(h, "LP relaxation", deadline):
        return None
    value = h.getInfo().objective_function_value
    root = cm.model_objective(value)
    cut = improving_cut(cm, incumbent)  # improving: c u <= cut
    if value > cut + lp.offset_:  # relaxation bound below the incumbent
        return None
    try:
        return _split_bounds(cm, h, lp, A, col_seg, r_seg, root, cut, threads, deadline)
    except DeadlineReached as exc:
        raise DeadlineReached(str(exc), root=root) from None


def _split_bounds(cm: CompiledModel, h: highspy.Highs, lp: highspy.HighsLp, A: sp.csr_array,
                  col_seg: np.ndarray, r_seg: np.ndarray, root: float, cut: float,
                  threads: int | None, deadline: float | None) -> Ranges | None:
    """The part of :func:`lagrangian_ranges` after the relaxation is solved in ``h``:
    split its duals into per-segment bound LPs."""
    pi = np.asarray(h.getSolution().row_dual, dtype=float)
    r_lo, r_hi = np.asarray(lp.row_lower_), np.asarray(lp.row_upper_)
    # keep only multipliers of the signs that make pi (A u - b) >= 0 on feasible u
    pi = np.where((pi > 0) & np.isfinite(r_lo), pi, 0.0) + np.where((pi < 0) & np.isfinite(r_hi), pi, 0.0)
    b_act = np.where(pi > 0, np.where(np.isfinite(r_lo), r_lo, 0.0), np.where(np.isfinite(r_hi), r_hi, 0.0))
    c = np.asarray(lp.col_cost_, dtype=float)
    c_lo, c_hi = np.asarray(lp.col_lower_), np.asarray(lp.col_upper_)
    off = _fixed_off(cm, A, c, pi, b_act, cut)
    n_seg = int(col_seg.max()) + 1
    lo, hi = np.empty(n_seg), np.empty(n_seg)
    y_cols = np.flatnonzero(col_seg < 0)
    x_col = {int(var.index()): i for i, var in enumerate(cm.columns)
             if var.parent_component().local_name == "x"}
    At = A.T.tocsr()
    for s in range(n_seg):
        other_rows = (r_seg != -1) & (r_seg != s)
        pi_o = np.where(other_rows, pi, 0.0)
        red = c - At @ pi_o
        other_cols = np.flatnonzero((col_seg >= 0) & (col_seg != s))
        const = float(pi_o @ b_act) + float(np.minimum(red[other_cols] * c_lo[other_cols],
                                                       red[other_cols] * c_hi[other_cols]).sum())
        own = np.flatnonzero(col_seg == s)
        cols = np.concatenate([y_cols, own])
        rows = np.flatnonzero(~other_rows)
        sub = _sub_lp(A, rows, cols, np.zeros(len(cols)), lp)
        hs = new_highs(threads)
        hs.passModel(sub)
        nz = np.flatnonzero(red[cols])
        hs.addRow(-INF, cut - const, len(nz), nz.astype(np.int32), red[cols][nz])
        x_local = len(y_cols) + int(np.flatnonzero(own == x_col[s])[0])
        ends = []
        for sign in (1.0, -1.0):
            cost = np.zeros(len(cols))
            cost[x_local] = sign
            hs.changeColsCost(len(cols), np.arange(len(cols), dtype=np.int32), cost)
            if not _solved(hs, "bound LP", deadline):
                return None
            ends.append(sign * hs.getInfo().objective_function_value)
        lo[s], hi[s] = padded(ends[0], ends[1], cm.scaling.col_scale[x_col[s]])
    return Ranges(root=root, lo=lo, hi=hi, off=off)


def obbt_ranges(cm: CompiledModel, incumbent: float, lo: np.ndarray, hi: np.ndarray, *,
                order: Collection[int], deadline: float | None = None, workers: int = 1,
                threads: int | None = None) -> tuple[np.ndarray, np.ndarray, int] | None:
    """Full optimisation-based bound tightening of ``x[s]`` on the LP relaxation of ``cm``.

    For each segment s in ``order``: ``min x[s]`` and ``max x[s]`` over the LP
    relaxation with the profit cut ``profit >= incumbent``. Stronger than the split of
    :func:`lagrangian_ranges` (no multipliers are fixed) but one LP of the whole model
    per end: 100 x 20 x 5 takes ~4 s per LP, and one round over every segment narrows
    the root gap from 2.39% to 0.82% (``benchmarks/obbt_probe.py``). The LPs are
    warm-started from one another (dual simplex for the first, then primal: only the
    objective changes), each adds the ranges already proved (any worker's) as bounds on
    those ``x`` columns, they are shared out over ``workers`` HiGHS instances in threads
    (highspy releases the GIL while it solves), and stop at ``deadline``
    (``time.perf_counter()``); an end not reached keeps its old value.

    Returns the new ``(lo, hi, number of segments done)``, or None when the relaxation
    with the cut is empty (nothing beats the incumbent).
    """
    lp = cm.lp
    n = lp.num_col_
    cost = np.asarray(lp.col_cost_, dtype=float)
    nz = np.flatnonzero(cost).astype(np.int32)
    cut = improving_cut(cm, incumbent)  # improving: cost . u <= cut
    scale = cm.scaling.col_scale
    x_col = {int(var.index()): i for i, var in enumerate(cm.columns)
             if var.parent_component().local_name == "x"}
    lo, hi = lo.copy(), hi.copy()
    queue = list(order)
    finished: list[int] = []
    lock = threading.Lock()
    empty = threading.Event()

    def remaining() -> float | None:
        return None if deadline is None else deadline - time.perf_counter()

    def work() -> int:
        done = 0
        h = new_highs(threads)
        h.setOptionValue("solver", "simplex")
        h.passModel(lp)
        for j in range(n) if len(lp.integrality_) else ():
            h.changeColIntegrality(j, highspy.HighsVarType.kContinuous)
        h.addRow(-INF, cut, len(nz), nz, cost[nz])
        h.changeColsCost(n, np.arange(n, dtype=np.int32), np.zeros(n))
        applied: set[int] = set()  # segments whose narrowed range this instance has
        while not empty.is_set():
            with lock:
                if not queue:
                    return done
                s = queue.pop(0)
                fresh = [(t, lo[t], hi[t]) for t in finished if t not in applied]
            for t, t_lo, t_hi in fresh:  # ranges other LPs proved: a tighter relaxation
                h.changeColBounds(x_col[t], t_lo / scale[x_col[t]], t_hi / scale[x_col[t]])
                applied.add(t)
            ends = []
            for sign in (1.0, -1.0):
                left = remaining()
                if left is not None and left <= 0:
                    return done
                if left is not None:
                    # HiGHS' time limit counts the instance's run time over all its solves
                    h.setOptionValue("time_limit", float(h.getRunTime() + left))
                h.changeColCost(x_col[s], sign)
                h.run()
                status = h.getModelStatus()
                value = sign * h.getInfo().objective_function_value  # read before the next change
                h.changeColCost(x_col[s], 0.0)
                # only the objective changes from one LP to the next, so the last basis
                # stays primal feasible: primal simplex from there (~15% fewer seconds)
                h.setOptionValue("simplex_strategy", PRIMAL_SIMPLEX)
                if status in (highspy.HighsModelStatus.kInfeasible,
                              highspy.HighsModelStatus.kUnboundedOrInfeasible):
                    empty.set()
                    return done
                if status != highspy.HighsModelStatus.kOptimal:  # time limit: keep the old end
                    return done
                ends.append(value)
            with lock:
                end_lo, end_hi = padded(ends[0], ends[1], scale[x_col[s]])
                lo[s] = max(lo[s], end_lo)
                hi[s] = min(hi[s], end_hi)
                finished.append(s)
            done += 1
        return done

    if workers <= 1:
        counts = [work()]
    else:
        with ThreadPoolExecutor(int(workers)) as pool:
            counts = list(pool.map(lambda _: work(), range(int(workers))))
    if empty.is_set():
        return None
    return lo, hi, sum(counts)


Build = Callable[[tuple[np.ndarray, np.ndarray] | None, frozenset[tuple[int, int]]], object]


def _lagrangian_round(build: Build, incumbent: float, out: Tightening, keep: frozenset[tuple[int, int]],
                      threads: int | None, deadline: float | None = None) -> Ranges | None:
    """One round of :func:`lagrangian_ranges` on the model built with ``out``'s ranges
    and left-out pairs, folded into ``out`` (ranges intersected, pairs added except
    those in ``keep``, root bound appended). None, with ``out.proved_optimal`` set,
    when nothing beats the incumbent. Raises :class:`DeadlineReached` (``out``
    unchanged) when ``deadline`` passes first."""
    if deadline is not None and time.perf_counter() >= deadline:
        raise DeadlineReached("Lagrangian round: deadline reached")
    model = build(out.x_range, out.exclude)  # keep it alive: columns refer back to it
    try:
        res = lagrangian_ranges(compile_model(model), incumbent, threads=threads, deadline=deadline)
    except DeadlineReached as exc:
        if exc.root is not None:  # the relaxation was solved: its bound stands
            out.root_bounds.append(exc.root)
        raise
    del model
    if res is None:
        out.proved_optimal = True
        return None
    out.exclude = out.exclude | (res.off - keep)
    out.root_bounds.append(res.root)
    if out.lo is None:
        out.lo, out.hi = res.lo, res.hi
    else:
        out.lo, out.hi = np.maximum(res.lo, out.lo), np.minimum(res.hi, out.hi)
    return res


def _obbt_passes(build: Build, incumbent: float, out: Tightening, keep: frozenset[tuple[int, int]],
                 order: list[int], deadline: float | None,
                 batch: int, max_passes: int, min_shrink: float, workers: int,
                 threads: int | None, hard_deadline: float | None = None) -> None:
    """Full bound tightening in passes over ``order``, ``batch`` segments at a time,
    updating ``out`` in place.

    Before each batch the model is rebuilt with the ranges proved so far: the
    McCormick coefficients of ``z = x y`` (``U_s``, ``L_sok``, ``L'_so``) and the
    tangent cuts then use the narrowed ranges, not just the ``x`` column bounds, and
    the next LPs are much tighter (100 x 20 x 5, seed 1: one pass on the model of the
    Lagrangian ranges leaves a 1.12% root gap, a second pass on the rebuilt model
    0.49%, a third 0.19%; ``formulations/milp.md``). At the start of every pass after
    the first, and once at the end (even past ``deadline``: one LP), a Lagrangian round
    runs on the rebuilt model (:func:`_lagrangian_round`): on the tighter model its
    reduced-cost test leaves out many ladder pairs (about half of 437 at 100 x 20 x 5
    after one and a half passes), so the next LPs and the MILP are smaller. A rebuild
    costs a build, a hand-off and a cold first LP, hence batches, not one segment at a
    time. Passes stop after ``max_passes``, when one shrinks no segment's range by more
    than ``min_shrink`` of its width, at ``deadline`` (``out.cut_short``), or when the
    relaxation with the profit cut is empty (``out.proved_optimal``). Nothing runs
    past ``hard_deadline`` (the final Lagrangian round included).
    """
    step = max(1, int(batch))
    narrowed: set[int] = set()
    fresh = False  # ranges narrowed since the last Lagrangian round
    for _ in range(max_passes):
        width = out.hi - out.lo
        for start in range(0, len(order), step):
            if deadline is not None and time.perf_counter() >= deadline:
                out.cut_short = True
                break
            if fresh and start == 0:
                try:
                    if _lagrangian_round(build, incumbent, out, keep, threads, hard_deadline) is None:
                        return
                except DeadlineReached:
                    out.cut_short = True
                    break
                fresh = False
            part = order[start:start + step]
            model = build(out.x_range, out.exclude)  # keep it alive: columns refer back to it
            res = obbt_ranges(compile_model(model), incumbent, out.lo, out.hi, order=part,
                              deadline=deadline, workers=workers, threads=threads)
            del model
            if res is None:
                out.proved_optimal = True
                return
            lo, hi, done = res
            newly = np.flatnonzero((lo > out.lo) | (hi < out.hi))
            narrowed |= {int(t) for t in newly}
            fresh = fresh or len(newly) > 0
            out.lo, out.hi = lo, hi
            out.obbt_segments = len(narrowed)
            if done < len(part):
                out.cut_short = True
                break
        if out.cut_short:
            break
        out.obbt_passes += 1
        if np.all(width - (out.hi - out.lo) <= min_shrink * width):
            break
    if fresh:  # leave out the pairs the tightest model rules out
        try:
            _lagrangian_round(build, incumbent, out, keep, threads, hard_deadline)
        except DeadlineReached:
            out.cut_short = True


def _fixed_off(cm: CompiledModel, A: sp.csr_array, c: np.ndarray, pi: np.ndarray,
               b_act: np.ndarray, cut: float) -> frozenset[tuple[int, int]]:
    """Pairs ``(o, k)`` whose ``y`` is 0 in every decision with ``c u <= cut``.

    With ``d = c - A^T pi`` every feasible u has ``c u >= pi . b + sum_j d_j u_j``;
    over the box this is at least ``base = pi . b + sum_j min(d_j lo_j, d_j hi_j)``,
    and forcing ``y_j = 1`` raises it by ``d_j - min(0, d_j)`` (``y_j`` in [0, 1]).
    When that exceeds ``cut``, ``y_j = 0``. A pair is returned when this holds on
    every menu.
    """
    lp = cm.lp
    d = c - A.T @ pi
    lo, hi = np.asarray(lp.col_lower_), np.asarray(lp.col_upper_)
    base = float(pi @ b_act) + float(np.minimum(d * lo, d * hi).sum())
    gain = d - np.minimum(0.0, d)
    verdict: dict[tuple[int, int], bool] = {}
    for i, var in enumerate(cm.columns):
        if var.parent_component().local_name != "y":
            continue
        _, o, k = var.index()
        ok = bool(base + gain[i] > cut) and lo[i] == 0.0
        verdict[(o, k)] = verdict.get((o, k), True) and ok
    return frozenset(pair for pair, ok in verdict.items() if ok)


def tighten_no_purchase(
    build: Build,
    incumbent: float,
    *,
    keep: Collection[tuple[int, int]] = (),
    max_rounds: int = 4,
    min_gain: float = 0.1,
    time_budget: float | None = None,
    threads: int | None = None,
    obbt_order: Collection[int] = (),
    obbt_budget: float | None = None,
    workers: int = 1,
    obbt_batch: int = 5,
    max_passes: int = 4,
    min_shrink: float = 0.05,
    deadline: float | None = None,
) -> Tightening:
    """Narrow the ranges of ``x[s]`` and drop unusable ladder pairs, round by round.

    ``build(x_range, exclude)`` returns the Pyomo model built with those ranges and
    without those pairs. Each round compiles it, solves its LP relaxation, bounds
    ``x[s]`` and finds pairs no better decision uses (:func:`lagrangian_ranges`);
    pairs in ``keep`` (the incumbent's) are never dropped. It stops after
    ``max_rounds``, when a round closes less than ``min_gain`` of the remaining
    root gap, or when ``time_budget`` seconds are spent. Then, for the segments in
    ``obbt_order`` (e.g. heaviest first) and until ``obbt_budget`` seconds from the
    start, full bound tightening (:func:`obbt_ranges`, ``workers`` LPs at once) in
    batches of ``obbt_batch`` segments, the model rebuilt with the ranges proved so far
    before each batch (:func:`_obbt_passes`). The ranges returned are widened to at
    least ``MIN_WIDTH`` of their midpoint (:func:`widen`). Nothing runs past
    ``deadline`` (``time.perf_counter()``): every LP gets the time left as its HiGHS
    time limit, the clock is read before each build and between LPs, and what was
    proved before it stays (``cut_short``).
    """
    t0 = time.perf_counter()
    out = Tightening(lo=None, hi=None, incumbent=incumbent)
    keep = frozenset(keep)
    for _ in range(max_rounds):
        prev = out.root_bounds[-1] if out.root_bounds else None
        try:
            res = _lagrangian_round(build, incumbent, out, keep, threads, deadline)
        except DeadlineReached:
            out.cut_short = True
            break
        if res is None:
            break
        if prev is not None and prev - res.root < min_gain * max(prev - incumbent, 0.0):
            break
        if time_budget is not None and time.perf_counter() - t0 > time_budget:
            break
    if obbt_order and not out.proved_optimal and out.lo is not None:
        soft = None if obbt_budget is None else t0 + obbt_budget
        if deadline is not None:
            soft = deadline if soft is None else min(soft, deadline)
        _obbt_passes(build, incumbent, out, keep, list(obbt_order), soft, obbt_batch,
                     max_passes, min_shrink, workers, threads, deadline)
    if out.lo is not None:
        out.lo, out.hi = widen(out.lo, out.hi)
    out.seconds = time.perf_counter() - t0
    return out


__all__ = ["DeadlineReached", "Ranges", "Tightening", "column_segments", "lagrangian_ranges", "obbt_ranges", "row_segments",
           "tighten_no_purchase"]
