"""The two stages of the bound tightening and their default schedule.

Both follow the contract of :mod:`bundleopt.optimize.schedule` (ranges valid for every
decision at least as good as the incumbent, or a proof that none beats it):

* :class:`LagrangianStage` (``"lagrangian"``): solve the LP relaxation of the model
  built with the current ranges, split its duals into one small LP per segment
  (:func:`bundleopt.optimize.tighten.lagrangian_ranges`) and leave out the ladder pairs
  no better decision uses (the incumbent's are kept);
* :class:`ObbtPass` (``"obbt"``): one pass of full bound tightening over the segments,
  in batches, the model rebuilt with the ranges proved so far before each batch
  (:func:`bundleopt.optimize.tighten.obbt_ranges`).

:func:`default_schedule` is the order :func:`bundleopt.solve` uses
(``formulations/milp.md``, "Passes on rebuilt models"): a Lagrangian round, then up to
``max_passes`` passes with a Lagrangian round before each pass whose ranges changed,
and a last Lagrangian round on the tightest model (it may run past the soft deadline,
never past the hard one).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import numpy as np

from bundleopt.optimize.highs_backend import CompiledModel, compile_model
from bundleopt.optimize.ranges import VariableRanges
from bundleopt.optimize.schedule import (
    Clock,
    Incumbent,
    Repeat,
    StageResult,
    Step,
    TighteningOptions,
    TighteningResult,
    run_stages,
)
from bundleopt.optimize.tighten import DeadlineReached, lagrangian_ranges, obbt_ranges

# build(x_range, exclude) -> a Pyomo model (or an already compiled one)
Build = Callable[[tuple[np.ndarray, np.ndarray] | None, frozenset[tuple[int, int]]], object]


@dataclass(frozen=True)
class Relaxation:
    """The model to tighten, as a function of the ranges: ``build(x_range, exclude)``
    returns it built with those ranges and without those pairs (a Pyomo model, compiled
    here, or a :class:`CompiledModel`); ``threads`` for each HiGHS instance."""

    build: Build
    threads: int | None = None

    def compiled(self, ranges: VariableRanges) -> CompiledModel:
        model = self.build(ranges.x_range, ranges.excluded)
        return model if isinstance(model, CompiledModel) else compile_model(model)


@dataclass(frozen=True)
class LagrangianStage:
    """Up to ``rounds`` rounds of the Lagrangian split, stopping when a round closes less
    than ``min_gain`` of the remaining root gap (module docstring)."""

    rounds: int = 1
    min_gain: float = 0.1
    name: str = "lagrangian"

    def __call__(self, relaxation: Relaxation, ranges: VariableRanges, incumbent: Incumbent,
                 deadline: float | None) -> StageResult:
        bounds: list[float] = []
        for _ in range(self.rounds):
            if Clock.passed(deadline):
                return StageResult(ranges, tuple(bounds), stopped_by_deadline=True)
            try:
                res = lagrangian_ranges(relaxation.compiled(ranges), incumbent.profit,
                                        threads=relaxation.threads, deadline=deadline)
            except DeadlineReached as exc:
                if exc.root is not None:  # the relaxation was solved: its bound stands
                    bounds.append(exc.root)
                return StageResult(ranges, tuple(bounds), stopped_by_deadline=True)
            if res is None:
                return StageResult(None, tuple(bounds))
            prev = bounds[-1] if bounds else None
            bounds.append(res.root)
            ranges = ranges.intersect(VariableRanges(res.lo, res.hi, res.off - incumbent.uses))
            if prev is not None and prev - res.root < self.min_gain * max(prev - incumbent.profit, 0.0):
                break
        return StageResult(ranges, tuple(bounds))


@dataclass(frozen=True)
class ObbtPass:
    """One pass of full bound tightening over ``order`` (e.g. heaviest segments first) in
    ``batches`` batches, ``workers`` LPs at once; a batch not finished by the deadline
    keeps the ranges it did not reach."""

    order: tuple[int, ...]
    batches: int = 2
    workers: int = 1
    name: str = "obbt"

    def __call__(self, relaxation: Relaxation, ranges: VariableRanges, incumbent: Incumbent,
                 deadline: float | None) -> StageResult:
        if not ranges.bounded or not self.order:  # full tightening starts from finite ranges
            return StageResult(ranges)
        step = -(-len(self.order) // self.batches)
        for start in range(0, len(self.order), step):
            if Clock.passed(deadline):
                return StageResult(ranges, stopped_by_deadline=True)
            part = list(self.order[start:start + step])
            res = obbt_ranges(relaxation.compiled(ranges), incumbent.profit, ranges.lo, ranges.hi,
                              order=part, deadline=deadline, workers=self.workers,
                              threads=relaxation.threads)
            if res is None:
                return StageResult(None)
            lo, hi, done = res
            ranges = ranges.intersect(VariableRanges(lo, hi))
            if done < len(part):
                return StageResult(ranges, stopped_by_deadline=True)
        return StageResult(ranges)


def default_schedule(options: TighteningOptions, order: Sequence[int],
                     threads: int | None = None) -> list[Step | Repeat]:
    """The schedule of :func:`bundleopt.solve` (module docstring); no full tightening
    when ``order`` is empty."""
    split = LagrangianStage(rounds=options.lagrangian_rounds, min_gain=options.min_gain)
    between = LagrangianStage(rounds=1)
    schedule: list[Step | Repeat] = [Step(split)]
    if len(order) and options.max_passes:
        passes = ObbtPass(tuple(int(s) for s in order), batches=options.batches,
                          workers=options.workers or threads or 1)
        schedule += [Repeat((Step(between, start_by="soft", end_by="hard", only_after_change=True),
                             Step(passes, start_by="soft", end_by="soft")),
                            times=options.max_passes, min_shrink=options.min_shrink),
                     Step(between, only_after_change=True)]
    return schedule


def tighten(relaxation: Relaxation, incumbent: Incumbent, n_segments: int, *,
            options: TighteningOptions | None = None, order: Collection[int] = (),
            clock: Clock | None = None) -> TighteningResult:
    """Run :func:`default_schedule` (``options``, default :class:`TighteningOptions`)
    from no claim on ``n_segments`` ranges, on ``clock`` (default: no deadline)."""
    schedule = default_schedule(options or TighteningOptions(), list(order), relaxation.threads)
    return run_stages(schedule, relaxation, VariableRanges.unbounded(n_segments), incumbent,
                      clock or Clock())


__all__ = ["LagrangianStage", "ObbtPass", "Relaxation", "default_schedule", "tighten"]
