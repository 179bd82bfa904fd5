"""The bound tightening's stages and scheduler (optimize/schedule.py, tighten_stages.py,
ranges.py; formulations/milp.md, "Bound tightening").

The scheduler is tested with fake stages (order, intersection, deadlines, early proof);
each real stage by enumeration: the ranges it returns hold every decision at least as
good as the incumbent, and it claims a proof only when none beats the incumbent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_optimize_core import FAST
from test_optimize_tighten import all_uniform_decisions, no_purchase_shares

import bundleopt
from bundleopt.optimize.evaluation import evaluate, evaluate_many
from bundleopt.optimize.instances import random_instance
from bundleopt.optimize.milp import heuristic_start
from bundleopt.optimize.model import build_model
from bundleopt.optimize.ranges import VariableRanges
from bundleopt.optimize.schedule import (
    Clock,
    Incumbent,
    Repeat,
    StageResult,
    Step,
    TighteningOptions,
    run_stages,
)
from bundleopt.optimize.tighten_stages import LagrangianStage, ObbtPass, Relaxation

# ---------------------------------------------------------------- ranges


def test_ranges_intersect_and_never_change_in_place() -> None:
    a = VariableRanges(np.array([0.0, 1.0]), np.array([2.0, 3.0]), {(0, 1)})
    b = VariableRanges(np.array([0.5, 0.0]), np.array([5.0, 2.5]), {(1, 0)})
    c = a.intersect(b)
    assert np.array_equal(c.lo, [0.5, 1.0]) and np.array_equal(c.hi, [2.0, 2.5])
    assert c.excluded == {(0, 1), (1, 0)}
    assert list(c.narrowed_from(a)) == [0, 1] and list(a.narrowed_from(c)) == []
    assert np.array_equal(a.lo, [0.0, 1.0])  # unchanged
    with pytest.raises(ValueError):
        a.lo[0] = 7.0  # read-only
    with pytest.raises(AttributeError):
        a.lo = np.zeros(2)  # frozen


def test_unbounded_ranges_make_no_claim_and_widening_keeps_them() -> None:
    free = VariableRanges.unbounded(3)
    assert free.x_range is None and not free.bounded
    assert free.widened(0.05).x_range is None
    tight = VariableRanges(np.array([1.0, 2.0]), np.array([1.000002, 3.0]))
    wide = tight.widened(0.05)
    assert np.all(wide.lo <= tight.lo) and np.all(wide.hi >= tight.hi)
    assert wide.hi[0] - wide.lo[0] >= 0.05 * 1.000001 * (1 - 1e-12)
    assert wide.lo[1] == 2.0 and wide.hi[1] == 3.0


def test_ranges_refuse_arrays_of_different_shapes() -> None:
    with pytest.raises(ValueError, match="one shape"):
        VariableRanges(np.zeros(2), np.zeros(3))


# ---------------------------------------------------------------- scheduler, fake stages


@dataclass
class Fake:
    """A stage returning fixed ranges (None: a proof), recording its calls."""

    name: str
    lo: list[float] | None
    hi: list[float] | None = None
    excluded: frozenset = frozenset()
    bound: float | None = None
    stopped: bool = False
    calls: list = field(default_factory=list)

    def __call__(self, relaxation, ranges, incumbent, deadline):
        self.calls.append((ranges, deadline))
        out = None if self.lo is None else VariableRanges(np.array(self.lo), np.array(self.hi),
                                                          self.excluded)
        return StageResult(out, () if self.bound is None else (self.bound,), self.stopped)


def test_stages_run_in_order_and_their_ranges_are_intersected() -> None:
    order = []
    a = Fake("a", [0.0, 0.0], [2.0, 4.0], frozenset({(0, 0)}), bound=10.0)
    b = Fake("b", [1.0, -5.0], [9.0, 3.0], bound=9.0)  # wider on some ends: never widens
    for stage in (a, b):
        stage.calls = order
    res = run_stages([Step(a), Step(b)], None, VariableRanges.unbounded(2), Incumbent(1.0))
    assert [r.stage for r in res.records] == ["a", "b"]
    assert np.array_equal(order[1][0].lo, [0.0, 0.0])  # b saw a's ranges
    assert np.array_equal(res.ranges.lo, [1.0, 0.0]) and np.array_equal(res.ranges.hi, [2.0, 3.0])
    assert res.ranges.excluded == {(0, 0)}
    assert [(r.narrowed, r.excluded, r.bound) for r in res.records] == [(2, 1, 10.0), (2, 0, 9.0)]
    assert res.bounds == (10.0, 9.0) and not res.proved_optimal and not res.stopped_by_deadline


def test_a_proof_stops_the_schedule() -> None:
    a, proof, c = Fake("a", [0.0], [1.0]), Fake("proof", None), Fake("c", [0.0], [0.5])
    res = run_stages([Step(a), Repeat((Step(proof),), times=3), Step(c)], None,
                     VariableRanges.unbounded(1), Incumbent(1.0))
    assert res.proved_optimal and len(proof.calls) == 1 and not c.calls
    assert res.records[-1].proved_optimal and res.records[-1].stage == "proof"


def test_deadlines_skip_steps_and_each_stage_gets_its_own() -> None:
    now = time.perf_counter()
    clock = Clock(soft=now - 1.0, hard=now + 100.0)
    late, last = Fake("late", [0.0], [1.0]), Fake("last", [0.0], [2.0])
    res = run_stages([Step(late, start_by="soft"), Step(last, end_by="hard")], None,
                     VariableRanges.unbounded(1), Incumbent(1.0), clock)
    assert not late.calls and last.calls[0][1] == clock.hard
    assert res.stopped_by_deadline
    assert [(r.stage, r.stopped_by_deadline, r.seconds) for r in res.records][0] == ("late", True, 0.0)
    # a step may start before the soft deadline and run until the hard one
    early = Fake("early", [0.0], [1.0])
    run_stages([Step(early, start_by="soft", end_by="hard")], None, VariableRanges.unbounded(1),
               Incumbent(1.0), Clock(soft=now + 50.0, hard=now + 100.0))
    assert early.calls[0][1] == now + 100.0


def test_a_stage_stopped_by_its_deadline_ends_its_repetition_but_not_the_schedule() -> None:
    cut = Fake("cut", [0.0], [1.0], stopped=True)
    after = Fake("after", [0.2], [0.9])
    res = run_stages([Repeat((Step(cut),), times=5), Step(after)], None,
                     VariableRanges.unbounded(1), Incumbent(1.0))
    assert len(cut.calls) == 1 and len(after.calls) == 1
    assert res.stopped_by_deadline and res.records[0].stopped_by_deadline
    assert np.array_equal(res.ranges.lo, [0.2])  # what the cut stage proved is kept


def test_only_after_change_and_repeat_until_nothing_shrinks() -> None:
    @dataclass
    class Halving:
        name: str = "halve"
        calls: int = 0

        def __call__(self, relaxation, ranges, incumbent, deadline):
            self.calls += 1
            mid = (ranges.lo + ranges.hi) / 2
            return StageResult(VariableRanges(ranges.lo, mid if self.calls < 3 else ranges.hi))

    halve, check = Halving(), Fake("check", [-1.0], [100.0])
    res = run_stages([Step(check), Repeat((Step(check, only_after_change=True), Step(halve)),
                                          times=10, min_shrink=0.1)],
                     None, VariableRanges(np.array([0.0]), np.array([8.0])), Incumbent(1.0))
    # halve narrows twice, then nothing: the repetition stops after the third round
    assert halve.calls == 3
    assert np.array_equal(res.ranges.hi, [2.0])
    # "check" ran first, then only in rounds that followed a change (rounds 2 and 3)
    assert [r.stage for r in res.records] == ["check", "halve", "check", "halve", "check", "halve"]


# ---------------------------------------------------------------- options


def test_tightening_options_are_checked_in_one_line() -> None:
    for bad in ({"share": 1.5}, {"batches": 0}, {"min_width": -1.0}, {"enabled": "yes"},
                {"workers": 0}, {"share": float("nan")}, {"max_passes": 1.5}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            TighteningOptions(**bad)
    with pytest.raises(ValueError, match="TighteningOptions"):
        bundleopt.solve(random_instance(3, 1, 2, seed=0), tightening={"share": 0.5})
    assert bundleopt.TighteningOptions is TighteningOptions


# ---------------------------------------------------------------- real stages, enumeration


def _good(sc, profit):
    levels = all_uniform_decisions(sc, build_model(sc).info.mask)
    batch = evaluate_many(sc, levels)
    good = batch.feasible & (batch.profit >= profit * (1 - 1e-9))
    return levels, batch, good


def _check_contract(sc, res: StageResult, profit: float, given_ranges: VariableRanges) -> None:
    levels, batch, good = _good(sc, profit)
    if res.proved_optimal:  # nothing beats the incumbent
        assert batch.profit[batch.feasible].max() <= profit * (1 + 1e-7)
        return
    ranges = given_ranges.intersect(res.ranges)
    x = no_purchase_shares(sc, levels[good])
    assert np.all(x >= ranges.lo[None] * (1 - 1e-7)) and np.all(x <= ranges.hi[None] * (1 + 1e-7))
    for o, k in ranges.excluded:
        assert not np.any(levels[good][:, 0, o] == k), (o, k)
    for bound in res.bounds:
        assert bound >= batch.profit[batch.feasible].max() * (1 - 1e-7)


def _instance(seed: int, card: int, worse: bool):
    sc = random_instance(5, 3, 3, max_offers=card, seed=seed)
    incumbent, _ = heuristic_start(sc)
    profit = evaluate(sc, incumbent).profit * (0.9 if worse else 1.0)
    relaxation = Relaxation(lambda r, e: build_model(sc, x_range=r, exclude=e), threads=1)
    return sc, profit, relaxation


@FAST
@given(seed=st.integers(0, 10_000), card=st.integers(1, 3), worse=st.booleans(),
       rounds=st.sampled_from([1, 2]))
def test_lagrangian_stage_keeps_every_decision_at_least_as_good(seed, card, worse, rounds) -> None:
    sc, profit, relaxation = _instance(seed, card, worse)
    start = VariableRanges.unbounded(sc.n_segments)
    res = LagrangianStage(rounds=rounds, min_gain=0.0)(relaxation, start, Incumbent(profit), None)
    assert not res.stopped_by_deadline
    _check_contract(sc, res, profit, start)
    if not res.proved_optimal:  # and from the ranges it proved, a second call still holds
        again = LagrangianStage()(relaxation, res.ranges, Incumbent(profit), None)
        _check_contract(sc, again, profit, res.ranges)


@FAST
@given(seed=st.integers(0, 10_000), card=st.integers(1, 3), worse=st.booleans(),
       batches=st.sampled_from([1, 2, 3]))
def test_obbt_pass_keeps_every_decision_at_least_as_good(seed, card, worse, batches) -> None:
    sc, profit, relaxation = _instance(seed, card, worse)
    model = build_model(sc)
    start = VariableRanges(model.info.lower, model.info.upper)
    res = ObbtPass((2, 0, 1), batches=batches)(relaxation, start, Incumbent(profit), None)
    assert not res.stopped_by_deadline
    _check_contract(sc, res, profit, start)


def test_stages_keep_the_incumbents_pairs_and_stop_at_a_passed_deadline() -> None:
    sc, profit, relaxation = _instance(3, 2, False)
    incumbent, _ = heuristic_start(sc)
    uses = frozenset((o, int(k)) for o, k in enumerate(incumbent.levels[0]) if k >= 0)
    res = LagrangianStage()(relaxation, VariableRanges.unbounded(3), Incumbent(profit, uses), None)
    if not res.proved_optimal:
        assert not (res.ranges.excluded & uses)
    past = time.perf_counter() - 1.0
    start = VariableRanges(build_model(sc).info.lower, build_model(sc).info.upper)
    for stage in (LagrangianStage(), ObbtPass((0, 1, 2))):
        out = stage(relaxation, start, Incumbent(profit), past)
        assert out.stopped_by_deadline and out.ranges.same_as(start) and not out.bounds
