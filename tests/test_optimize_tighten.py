"""Bound tightening of the no-purchase shares (``bundleopt.optimize.tighten``).

The ranges must hold every decision at least as good as the incumbent (checked by
enumerating every decision), and the tightened MILP must keep the exact optimum.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_optimize_core import FAST, small

from bundleopt.optimize.brute_force import brute_force
from bundleopt.optimize.evaluation import evaluate, evaluate_many, segment_outcomes
from bundleopt.optimize.highs_backend import compile_model, solve_compiled
from bundleopt.optimize.instances import random_instance
from bundleopt.optimize.milp import heuristic_start, solve_milp
from bundleopt.optimize.model import build_model
from bundleopt.optimize.schedule import Incumbent, TighteningOptions
from bundleopt.optimize.tighten import (
    LINKING,
    column_segments,
    lagrangian_ranges,
    obbt_ranges,
    row_segments,
)
from bundleopt.optimize.tighten_stages import Relaxation, tighten
from bundleopt.scenario import NOT_OFFERED, Constraints, Scenario


def all_uniform_decisions(sc: Scenario, mask: np.ndarray) -> np.ndarray:
    """Every menu using only the model's ladder pairs, shape (N, 1, O)."""
    options = [[NOT_OFFERED] + [k for k in range(sc.n_levels) if mask[o, k]] for o in range(sc.n_offers)]
    return np.array(list(itertools.product(*options)))[:, None, :]


def no_purchase_shares(sc: Scenario, levels: np.ndarray) -> np.ndarray:
    """x[s] = P(no purchase) / v0 = 1 / (v0 + sum of the offered attractions), shape (N, S)."""
    probs = segment_outcomes(sc, levels).probabilities
    return (1.0 - probs.sum(axis=2)) / sc.v0[None]


@FAST
@given(seed=st.integers(0, 10_000), card=st.integers(1, 3), worse=st.booleans())
def test_ranges_hold_every_decision_at_least_as_good_as_the_incumbent(seed: int, card: int,
                                                                      worse: bool) -> None:
    sc = random_instance(5, 3, 3, max_offers=card, seed=seed)
    incumbent, _ = heuristic_start(sc)
    profit = evaluate(sc, incumbent).profit
    if worse:  # a weaker incumbent leaves more decisions to cover
        profit *= 0.9
    model = build_model(sc)
    res = lagrangian_ranges(compile_model(model), profit)
    levels = all_uniform_decisions(sc, model.info.mask)
    batch = evaluate_many(sc, levels)
    good = batch.feasible & (batch.profit >= profit * (1 - 1e-9))
    if res is None:  # nothing beats the incumbent: it must be the optimum
        assert not worse
        assert batch.profit[batch.feasible].max() <= profit * (1 + 1e-7)
        return
    lo, hi = res.lo, res.hi
    assert res.root >= batch.profit[batch.feasible].max() * (1 - 1e-7)
    x = no_purchase_shares(sc, levels[good])
    assert np.all(x >= lo[None] * (1 - 1e-7)) and np.all(x <= hi[None] * (1 + 1e-7))
    # no decision at least as good as the incumbent uses a pair found unusable
    for o, k in res.off:
        assert not np.any(levels[good][:, 0, o] == k), (o, k)
    # and the ranges are tighter than the model's own bounds for some segment
    assert np.any(lo > model.info.lower * (1 + 1e-6)) or np.any(hi < model.info.upper * (1 - 1e-6))


@FAST
@given(seed=st.integers(0, 10_000), rule=st.sampled_from(["none", "cannibalisation", "stock", "margin"]))
def test_tightened_milp_equals_brute_force(seed: int, rule: str) -> None:
    constraints = {
        "none": Constraints(max_offers=2),
        "cannibalisation": Constraints(max_offers=3, max_cannibalisation=0.5),
        "stock": Constraints(max_offers=3, stock={"p0": 0.1}),
        "margin": Constraints(max_offers=3, min_margin_rate=0.45),
    }[rule]
    sc = random_instance(5, 3, 3, n_bundles=1, seed=seed, constraints=constraints, max_bundle_size=2)
    try:
        best = brute_force(sc)[1].profit
    except ValueError:  # no feasible decision
        return
    run = solve_milp(sc, threads=1, mip_gap=1e-9)
    assert run.decision is not None
    assert evaluate(sc, run.decision).profit == pytest.approx(best, rel=1e-6, abs=1e-9)
    assert run.result.bound >= best * (1 - 1e-6)


@FAST
@given(seed=st.integers(0, 10_000), card=st.integers(1, 3), worse=st.booleans(),
       workers=st.sampled_from([1, 2]))
def test_full_bound_tightening_holds_every_decision_at_least_as_good_as_the_incumbent(
        seed: int, card: int, worse: bool, workers: int) -> None:
    sc = random_instance(5, 3, 3, max_offers=card, seed=seed)
    incumbent, _ = heuristic_start(sc)
    profit = evaluate(sc, incumbent).profit * (0.9 if worse else 1.0)
    model = build_model(sc)
    lo0, hi0 = model.info.lower.copy(), model.info.upper.copy()
    res = obbt_ranges(compile_model(model), profit, lo0, hi0, order=[2, 0, 1], workers=workers)
    levels = all_uniform_decisions(sc, model.info.mask)
    batch = evaluate_many(sc, levels)
    good = batch.feasible & (batch.profit >= profit * (1 - 1e-9))
    if res is None:  # the relaxation with the cut is empty: nothing beats the incumbent
        assert not worse
        assert batch.profit[batch.feasible].max() <= profit * (1 + 1e-7)
        return
    lo, hi, done = res
    assert done == 3
    assert np.all(lo >= lo0) and np.all(hi <= hi0)  # never wider than given
    x = no_purchase_shares(sc, levels[good])
    assert np.all(x >= lo[None] * (1 - 1e-7)) and np.all(x <= hi[None] * (1 + 1e-7))
    # at least as tight as the per-segment split on the same model
    split = lagrangian_ranges(compile_model(model), profit)
    if split is not None:
        assert np.all(lo >= split.lo * (1 - 1e-6)) and np.all(hi <= split.hi * (1 + 1e-6))


@FAST
@given(seed=st.integers(0, 10_000), card=st.integers(1, 3), worse=st.booleans(),
       batch=st.sampled_from([1, 2, 3]))
def test_passes_of_full_bound_tightening_on_rebuilt_models_hold_every_good_decision(
        seed: int, card: int, worse: bool, batch: int) -> None:
    """Rebuilt models (narrowed McCormick coefficients), Lagrangian rounds between the
    passes and at the end: the ranges still hold, and no pair left out is used by any
    decision at least as good as the incumbent."""
    sc = random_instance(5, 3, 3, max_offers=card, seed=seed)
    incumbent, _ = heuristic_start(sc)
    profit = evaluate(sc, incumbent).profit * (0.9 if worse else 1.0)
    opts = TighteningOptions(batches=-(-3 // batch), max_passes=3, min_shrink=0.0)
    tight = tighten(Relaxation(lambda r, e: build_model(sc, x_range=r, exclude=e)), Incumbent(profit),
                    sc.n_segments, options=opts, order=[2, 0, 1])
    levels = all_uniform_decisions(sc, build_model(sc).info.mask)
    batch_eval = evaluate_many(sc, levels)
    good = batch_eval.feasible & (batch_eval.profit >= profit * (1 - 1e-9))
    if tight.proved_optimal:
        assert not worse
        assert batch_eval.profit[batch_eval.feasible].max() <= profit * (1 + 1e-7)
        return
    # fewer than 3 passes: a pass narrowed nothing
    assert 1 <= tight.completed("obbt") <= 3 and not tight.stopped_by_deadline
    for ranges in (tight.ranges, tight.ranges.widened(opts.min_width)):  # as proved, as handed over
        x = no_purchase_shares(sc, levels[good])
        assert np.all(x >= ranges.lo[None] * (1 - 1e-7)) and np.all(x <= ranges.hi[None] * (1 + 1e-7))
        for o, k in ranges.excluded:
            assert not np.any(levels[good][:, 0, o] == k), (o, k)
    # every root bound after the first is still a bound on the optimum
    assert min(tight.bounds) >= batch_eval.profit[batch_eval.feasible].max() * (1 - 1e-7)
    assert tight.bounds == tuple(r.bound for r in tight.records if r.bound is not None)


def test_a_second_pass_on_the_rebuilt_model_narrows_the_ranges_further() -> None:
    sc = random_instance(20, 5, 3, max_offers=4, seed=3)
    incumbent, _ = heuristic_start(sc)
    profit = evaluate(sc, incumbent).profit

    def run(passes: int):  # the ranges as proved (TighteningResult.ranges, not widened)
        return tighten(Relaxation(lambda r, e: build_model(sc, x_range=r, exclude=e)), Incumbent(profit),
                       sc.n_segments, order=range(sc.n_segments),
                       options=TighteningOptions(batches=1, max_passes=passes, min_shrink=0.0))

    one, two = run(1), run(2)
    if one.proved_optimal or two.proved_optimal:
        pytest.skip("the tightening already proved the incumbent optimal on this instance")
    assert (one.completed("obbt"), two.completed("obbt")) == (1, 2)
    a, b = one.ranges, two.ranges
    assert np.all(b.lo >= a.lo * (1 - 1e-9)) and np.all(b.hi <= a.hi * (1 + 1e-9))
    assert np.sum(b.hi - b.lo) < 0.95 * np.sum(a.hi - a.lo)
    # the round after the passes bounds the root well below the first round's
    assert two.bounds[-1] < two.bounds[0] - 1e-9
    assert two.bounds[-1] >= profit * (1 - 1e-9)
    assert [r.stage for r in two.records] == ["lagrangian", "obbt", "lagrangian", "obbt", "lagrangian"]


def test_full_bound_tightening_stops_at_its_deadline_and_keeps_unreached_ranges() -> None:
    sc = random_instance(12, 4, 3, max_offers=3, seed=1)
    incumbent, _ = heuristic_start(sc)
    model = build_model(sc)
    lo0, hi0 = model.info.lower.copy(), model.info.upper.copy()
    import time

    res = obbt_ranges(compile_model(model), evaluate(sc, incumbent).profit, lo0, hi0,
                      order=[0, 1, 2, 3], deadline=time.perf_counter() - 1.0)
    assert res is not None
    lo, hi, done = res
    assert done == 0 and np.array_equal(lo, lo0) and np.array_equal(hi, hi0)


def test_a_tightening_cut_short_turns_highs_heuristics_off_and_keeps_the_optimum(monkeypatch) -> None:
    import importlib

    milp_mod = importlib.import_module("bundleopt.optimize.milp")
    sc = random_instance(12, 4, 3, max_offers=3, seed=1)
    seen = []
    real = milp_mod.solve_compiled
    monkeypatch.setattr(milp_mod, "solve_compiled",
                        lambda *a, **k: seen.append(k.get("options")) or real(*a, **k))
    # share 0: full tightening's deadline at once
    run = solve_milp(sc, threads=1, time_limit=60.0, mip_gap=1e-9,
                     tightening=TighteningOptions(share=0.0))
    if any(r.proved_optimal for r in run.tightening):
        pytest.skip("the split rounds already proved the warm start optimal")
    assert [(r.stage, r.stopped_by_deadline) for r in run.tightening] == [("lagrangian", False),
                                                                          ("lagrangian", True)]
    assert seen and seen[0]["mip_heuristic_effort"] == 0.0
    off = solve_milp(sc, threads=1, time_limit=60.0, mip_gap=1e-9,
                     tightening=TighteningOptions(share=0.0, bound_only_when_cut_short=False))
    assert len(seen) == 2 and seen[1] is None  # the option turns it off
    assert evaluate(sc, off.decision).profit == pytest.approx(evaluate(sc, run.decision).profit, rel=1e-6)
    plain = solve_milp(sc, threads=1, tighten=False, mip_gap=1e-9)
    assert evaluate(sc, run.decision).profit == pytest.approx(evaluate(sc, plain.decision).profit, rel=1e-6)


def test_rows_are_split_by_segment_and_linking_rows_are_marked() -> None:
    sc = random_instance(5, 3, 3, max_offers=2, seed=0,
                         constraints=Constraints(max_offers=2, max_cannibalisation=0.5))
    cm = compile_model(build_model(sc))  # arrays only: the model may go
    from bundleopt.optimize.tighten import _matrix

    A = _matrix(cm.lp)
    col_seg = column_segments(cm)
    seg = row_segments(A, col_seg)
    assert set(np.unique(col_seg)) == {-1, 0, 1, 2}
    assert {-1, 0, 1, 2, LINKING} <= set(np.unique(seg))  # cannibalisation rows link segments
    for r in np.flatnonzero(seg >= 0)[:50]:
        cols = A.indices[A.indptr[r]:A.indptr[r + 1]]
        assert set(col_seg[cols]) - {-1} == {seg[r]}


def test_tightening_narrows_the_root_gap_on_a_coupled_instance() -> None:
    sc = random_instance(20, 5, 3, max_offers=4, seed=3)
    incumbent, _ = heuristic_start(sc)
    profit = evaluate(sc, incumbent).profit
    tight = tighten(Relaxation(lambda r, e: build_model(sc, x_range=r, exclude=e)), Incumbent(profit),
                    sc.n_segments, options=TighteningOptions(lagrangian_rounds=3, min_gain=0.0))
    if tight.proved_optimal:
        pytest.skip("the first LP already proved the incumbent optimal on this instance")
    assert len(tight.bounds) >= 2 and [r.stage for r in tight.records] == ["lagrangian"]
    assert tight.bounds[-1] < tight.bounds[0] - 1e-9
    assert tight.bounds[-1] >= profit * (1 - 1e-9)
    assert tight.records[0].bound == min(tight.bounds)


def test_solve_records_the_tightening() -> None:
    sc = random_instance(12, 4, 3, max_offers=3, seed=1)
    run = solve_milp(sc, threads=1)
    log = run.tightening
    assert log and log[0].stage == "lagrangian" and log[0].bound is not None
    assert any(r.stage == "obbt" for r in log) or log[-1].proved_optimal
    assert not any(r.stopped_by_deadline for r in log)  # no time limit
    assert run.root_bound == pytest.approx(max(min(r.bound for r in log if r.bound is not None),
                                               evaluate(sc, run.incumbent).profit))
    from bundleopt.optimize import solve

    assert solve(sc, threads=1).tightening_log  # and the Solution carries it
    off = solve(sc, threads=1, tightening=TighteningOptions(enabled=False))
    assert off.tightening_log == () and off.profit == pytest.approx(evaluate(sc, run.decision).profit, rel=1e-6)
    plain = solve_milp(sc, threads=1, tighten=False)
    assert evaluate(sc, run.decision).profit == pytest.approx(evaluate(sc, plain.decision).profit, rel=1e-6)


def _lost_start_instance() -> Scenario:
    """3 offers, 2 segments, personalised, cannibalisation cap: with feasibility
    tolerances of 1e-9, HiGHS 1.15.1 lost the optimum of the tightened model (and the
    warm start)."""
    return random_instance(3, 2, 2, n_bundles=1, seed=500, personalised=True,
                           constraints=Constraints(max_cannibalisation=0.8), consideration=0.8,
                           max_bundle_size=2, synergy=1.0)


@pytest.mark.parametrize("sc", [
    _lost_start_instance(),
    # at 1e-9 with presolve off, HiGHS returned a worse decision as "optimal" here
    random_instance(4, 2, 2, n_bundles=1, seed=98, personalised=True, synergy=1.0, max_bundle_size=2,
                    constraints=Constraints(max_offers=3, max_cannibalisation=0.5)),
    # at 1e-9 with presolve on, HiGHS returned the (worse) warm start as "optimal" here
    random_instance(5, 3, 3, n_bundles=1, seed=426, max_bundle_size=2,
                    constraints=Constraints(max_offers=3, stock={"p0": 0.1})),
    # at 1e-7, a near-point range (hi/lo = 1 + 2e-6): HiGHS said "optimal" for the warm
    # start (1.15.1 with an infinite bound, 1.16.0 with a finite one); the ranges are now
    # widened to TighteningOptions.min_width
    small(1440, personalised=True, n_offers=5, n_segments=3, n_levels=3, max_offers=2),
], ids=["lost-warm-start", "no-presolve-lost-optimum", "kept-warm-start", "infinite-bound"])
def test_keeps_the_optimum_where_tight_highs_tolerances_lost_it(sc: Scenario) -> None:
    best = brute_force(sc)[1].profit
    run = solve_milp(sc, threads=1, mip_gap=1e-9)
    assert evaluate(sc, run.decision).profit == pytest.approx(best, rel=1e-9)


def test_highs_dual_fixing_probing_is_off_where_it_cut_the_optimum_off() -> None:
    # full bound tightening gave these ranges (already 5% wide); HiGHS 1.16.0's presolve
    # rule "dual-fixing probing" then cut the optimum off: "optimal" at 3.2075, where
    # fixing y to the brute-force decision gives a feasible 3.2276
    sc = small(2999, personalised=True, n_offers=3, n_segments=2, n_levels=3, max_price_spread=0.0)
    x_range = (np.array([0.10481771985145241, 0.15635241572600206]),
               np.array([0.1263522707100405, 0.16725901022967632]))
    best = brute_force(sc)[1].profit
    result = solve_compiled(compile_model(build_model(sc, x_range=x_range)), threads=1, mip_gap=1e-9)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(best, rel=1e-6)


def test_falls_back_to_the_untightened_model_when_highs_loses_the_warm_start(monkeypatch) -> None:
    # HiGHS's first answer (on the tightened model) loses the warm start, as HiGHS 1.15.1
    # did at 1e-9 feasibility tolerances: the untightened model must be solved instead
    import importlib

    milp_mod = importlib.import_module("bundleopt.optimize.milp")
    real = milp_mod.solve_compiled
    calls = []

    def lossy(cm, **kwargs):
        res = real(cm, **kwargs)
        calls.append(res.status)
        if len(calls) == 1:
            res.objective = 0.5 * res.objective
        return res

    monkeypatch.setattr(milp_mod, "solve_compiled", lossy)
    sc = _lost_start_instance()
    best = brute_force(sc)[1].profit
    run = solve_milp(sc, threads=1, mip_gap=1e-9)
    assert len(calls) == 2  # solved again, without the tightening
    assert evaluate(sc, run.decision).profit == pytest.approx(best, rel=1e-9)
    assert run.result.bound >= best * (1 - 1e-6)


def test_widen_contains_the_range_and_makes_it_at_least_min_width() -> None:
    from bundleopt.optimize.highs_backend import MIN_RANGE_WIDTH as MIN_WIDTH
    from bundleopt.optimize.ranges import widen

    lo, hi = np.array([1.0, 2.0, 0.5]), np.array([1.000002, 3.0, 0.51])
    wlo, whi = widen(lo, hi, MIN_WIDTH)
    assert np.all(wlo <= lo) and np.all(whi >= hi)
    assert np.all(whi - wlo >= MIN_WIDTH * 0.5 * (lo + hi) * (1 - 1e-12))
    assert wlo[1] == lo[1] and whi[1] == hi[1]  # already wide enough: unchanged


def test_solves_with_different_thread_counts_in_one_process() -> None:
    # HiGHS keeps one scheduler per calling thread: threads=1 after threads=2 in the same
    # thread ended with no status ("Not Set") until highs_backend.set_threads reset it
    sc = random_instance(12, 4, 3, max_offers=3, seed=1)
    results = [solve_milp(sc, threads=t).result for t in (2, 1, None, 1)]
    with ThreadPoolExecutor(1) as pool:  # another thread, another count, then back here
        results.append(pool.submit(lambda: solve_milp(sc, threads=2).result).result())
    results.append(solve_milp(sc, threads=1).result)
    assert all(r.status == "optimal" for r in results), [r.status for r in results]
    assert max(r.objective for r in results) == pytest.approx(min(r.objective for r in results), rel=1e-6)
