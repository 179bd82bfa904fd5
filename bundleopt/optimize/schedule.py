"""The bound tightening as stages with one contract, and the scheduler that runs them.

**Contract.** A stage is called as ``stage(relaxation, ranges, incumbent, deadline)``:
``relaxation`` builds the model's LP relaxation for given ranges, ``ranges`` are the
:class:`~bundleopt.optimize.ranges.VariableRanges` proved so far, ``incumbent`` the
profit of a feasible decision (and the pairs it uses), ``deadline`` a
``time.perf_counter()`` value (None: none). It returns a :class:`StageResult`: ranges
valid for every decision at least as good as the incumbent (it may use the ranges it
was given), or ``ranges=None``: a proof that no decision beats the incumbent. It
never runs past its deadline; stopped there, it returns what it proved so far.

**Scheduler.** :func:`run_stages` runs a list of :class:`Step` (and :class:`Repeat`
of steps) in order, intersects each result with the ranges so far (so the ranges
only narrow), stops at the first proof, skips a step whose start deadline has passed
or (``only_after_change``) whose stage saw these ranges already, and keeps one
:class:`~bundleopt.solution.StageRecord` per stage run (and one, with
``stopped_by_deadline`` and no time, for the first step kept from starting by a
deadline, unless a stage was stopped by one before). Its clock has two deadlines
(:class:`Clock`): ``soft``, a share of the time limit after which no long stage starts,
and ``hard``, after which nothing runs (the MILP's build must still fit).

Its settings are a :class:`TighteningOptions`, an argument of
:func:`bundleopt.solve`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from bundleopt.optimize.highs_backend import MIN_RANGE_WIDTH
from bundleopt.optimize.ranges import VariableRanges
from bundleopt.solution import StageRecord


@dataclass(frozen=True)
class TighteningOptions:
    """Settings of the bound tightening (``solve(..., tightening=TighteningOptions(...))``).

    ``enabled``: run it at all (MILP path, from a warm start). ``share``: share of the
    time limit (less one build) by which its long stages must end; the rest is HiGHS's.
    Measured at 100 x 20 x 5, seed 1 (``formulations/milp.md``): HiGHS's cut rounds
    close ~0.2 points of gap in their first ~20 s and then stall, while each segment's
    full tightening keeps narrowing the bound; 0.6 left 1.10% at 120 s, 0.8 1.08%.
    ``batches``: batches per pass of full bound tightening over the segments (the model
    is rebuilt with the narrowed ranges before each); at 100 x 20 x 5, 120 s: 2 batches
    0.57% gap, 3 1.02%, 4 0.98%, 10 0.89%, 1 1.15%. ``lagrangian_rounds`` and
    ``min_gain``: rounds of the Lagrangian split before full tightening, stopping when a
    round closes less than ``min_gain`` of the remaining root gap. ``max_passes``,
    ``min_shrink``: passes of full tightening, stopping when a pass shrinks no range by
    more than ``min_shrink`` of its width. ``min_width``: the narrowest range handed to
    the MILP, relative to its midpoint (a HiGHS workaround,
    :data:`bundleopt.optimize.highs_backend.MIN_RANGE_WIDTH`). ``builds_needed``: it
    runs only when the time left pays for that many builds of the model.
    ``bound_only_when_cut_short``: after a tightening stopped by its deadline, HiGHS's
    primal heuristics are off (the warm start is kept; the time goes to the bound).
    ``workers``: HiGHS instances solving full-tightening LPs at once (None: ``threads``
    of the solve, or 1).
    """

    enabled: bool = True
    share: float = 0.8
    batches: int = 2
    lagrangian_rounds: int = 1
    min_gain: float = 0.1
    max_passes: int = 4
    min_shrink: float = 0.05
    min_width: float = MIN_RANGE_WIDTH
    builds_needed: float = 3.0
    bound_only_when_cut_short: bool = True
    workers: int | None = None

    def __post_init__(self) -> None:
        from bundleopt.checks import flag, number

        def check(name: str, ok, what: str, integer: bool = False) -> None:
            value = getattr(self, name)
            if not ok(number(f"TighteningOptions.{name}", value, integer=integer)):
                raise ValueError(f"TighteningOptions.{name} must be {what}, got {value!r}")

        for name in ("enabled", "bound_only_when_cut_short"):
            flag(f"TighteningOptions.{name}", getattr(self, name))
        check("share", lambda v: 0 <= v <= 1, "in [0, 1]")
        check("batches", lambda v: v >= 1, "a whole number >= 1", integer=True)
        check("lagrangian_rounds", lambda v: v >= 1, "a whole number >= 1", integer=True)
        check("max_passes", lambda v: v >= 0, "a whole number >= 0", integer=True)
        for name in ("min_gain", "min_shrink", "min_width", "builds_needed"):
            check(name, lambda v: v >= 0, ">= 0")
        if self.workers is not None:
            check("workers", lambda v: v >= 1, "a whole number >= 1 or None", integer=True)


@dataclass(frozen=True)
class Incumbent:
    """A feasible decision's exact ``profit`` and the ladder pairs ``(o, k)`` it uses
    (never left out: the warm start must stay a point of the tightened model)."""

    profit: float
    uses: frozenset[tuple[int, int]] = frozenset()


@dataclass(frozen=True)
class Clock:
    """Deadlines (``time.perf_counter()`` values, None: none): ``soft`` for the long
    stages, ``hard`` for everything (``soft <= hard``)."""

    soft: float | None = None
    hard: float | None = None

    def at(self, which: Literal["soft", "hard"]) -> float | None:
        return self.soft if which == "soft" else self.hard

    @staticmethod
    def passed(deadline: float | None) -> bool:
        return deadline is not None and time.perf_counter() >= deadline


@dataclass(frozen=True)
class StageResult:
    """What a stage returns: ``ranges`` (None: proof that nothing beats the incumbent),
    the upper bounds on the profit it proved (``bounds``, one per LP relaxation
    solved) and whether its deadline stopped it."""

    ranges: VariableRanges | None
    bounds: tuple[float, ...] = ()
    stopped_by_deadline: bool = False

    @property
    def proved_optimal(self) -> bool:
        return self.ranges is None


class Stage(Protocol):
    """A tightening stage (module docstring)."""

    name: str

    def __call__(self, relaxation: object, ranges: VariableRanges, incumbent: Incumbent,
                 deadline: float | None) -> StageResult: ...


@dataclass(frozen=True)
class Step:
    """Run ``stage`` if ``start_by`` has not passed (and, when ``only_after_change``,
    if the ranges changed since a stage of that name last ran), until ``end_by``."""

    stage: Stage
    start_by: Literal["soft", "hard"] = "hard"
    end_by: Literal["soft", "hard"] = "hard"
    only_after_change: bool = False


@dataclass(frozen=True)
class Repeat:
    """``steps`` up to ``times`` times; stops after a repetition that shrank no range
    by more than ``min_shrink`` of its width (or when a step is stopped by its deadline)."""

    steps: tuple[Step, ...]
    times: int
    min_shrink: float = 0.0


@dataclass(frozen=True)
class TighteningResult:
    """The scheduler's outcome: the final ``ranges`` (as proved, not widened), whether
    nothing beats the incumbent, one record per stage run, every bound proved, whether
    a deadline cut the schedule short, and its seconds."""

    ranges: VariableRanges
    proved_optimal: bool
    records: tuple[StageRecord, ...]
    bounds: tuple[float, ...]
    stopped_by_deadline: bool
    seconds: float
    narrowed_sets: tuple[frozenset[int], ...] = field(default=(), repr=False)

    def narrowed_by(self, stage: str) -> int:
        """Segments whose range stages named ``stage`` narrowed at least once."""
        sets = [s for r, s in zip(self.records, self.narrowed_sets, strict=True) if r.stage == stage]
        return len(frozenset().union(*sets)) if sets else 0

    def completed(self, stage: str) -> int:
        """Runs of ``stage`` that ended without their deadline stopping them."""
        return sum(r.stage == stage and not r.stopped_by_deadline for r in self.records)


class _Run:
    """The scheduler's state while it runs (kept out of the stages)."""

    def __init__(self, relaxation: object, ranges: VariableRanges, incumbent: Incumbent,
                 clock: Clock) -> None:
        self.relaxation, self.ranges, self.incumbent, self.clock = relaxation, ranges, incumbent, clock
        self.records: list[StageRecord] = []
        self.sets: list[frozenset[int]] = []
        self.bounds: list[float] = []
        self.seen: dict[str, VariableRanges] = {}
        self.cut_short = False
        self.proved = False

    def step(self, step: Step) -> bool:
        """Run one step; False when the schedule must stop (a proof) or its repetition
        must (stopped by a deadline)."""
        name = step.stage.name
        if Clock.passed(self.clock.at(step.start_by)):
            if not self.cut_short:  # the first step a deadline kept from starting is recorded
                self._record(StageRecord(stage=name, narrowed=0, excluded=0, bound=None,
                                         proved_optimal=False, seconds=0.0, stopped_by_deadline=True),
                             frozenset())
            self.cut_short = True
            return False
        if step.only_after_change and name in self.seen and self.seen[name].same_as(self.ranges):
            return True
        t0 = time.perf_counter()
        res = step.stage(self.relaxation, self.ranges, self.incumbent, self.clock.at(step.end_by))
        seconds = time.perf_counter() - t0
        self.bounds.extend(res.bounds)
        before = self.ranges
        if res.ranges is not None:
            self.ranges = before.intersect(res.ranges)
        narrowed = frozenset(int(s) for s in self.ranges.narrowed_from(before))
        self._record(StageRecord(
            stage=name, narrowed=len(narrowed), excluded=len(self.ranges.excluded - before.excluded),
            bound=min(res.bounds) if res.bounds else None, proved_optimal=res.proved_optimal,
            seconds=seconds, stopped_by_deadline=res.stopped_by_deadline), narrowed)
        self.seen[name] = self.ranges
        if res.proved_optimal:
            self.proved = True
            return False
        if res.stopped_by_deadline:
            self.cut_short = True
            return False
        return True

    def _record(self, record: StageRecord, narrowed: frozenset[int]) -> None:
        self.records.append(record)
        self.sets.append(narrowed)

    def repeat(self, rep: Repeat) -> None:
        for _ in range(rep.times):
            width = self.ranges.hi - self.ranges.lo
            for step in rep.steps:
                if not self.step(step):
                    return
            with np.errstate(invalid="ignore"):
                if np.all(width - (self.ranges.hi - self.ranges.lo) <= rep.min_shrink * width):
                    return


def run_stages(schedule: Sequence[Step | Repeat], relaxation: object, ranges: VariableRanges,
               incumbent: Incumbent, clock: Clock | None = None) -> TighteningResult:
    """Run ``schedule`` from ``ranges`` on ``clock`` (default: no deadline; module docstring)."""
    t0 = time.perf_counter()
    run = _Run(relaxation, ranges, incumbent, clock or Clock())
    for item in schedule:
        if run.proved:
            break
        if isinstance(item, Repeat):
            run.repeat(item)
        else:
            run.step(item)
    return TighteningResult(ranges=run.ranges, proved_optimal=run.proved, records=tuple(run.records),
                            bounds=tuple(run.bounds), stopped_by_deadline=run.cut_short,
                            seconds=time.perf_counter() - t0, narrowed_sets=tuple(run.sets))


__all__ = ["Clock", "Incumbent", "Repeat", "Stage", "StageRecord", "StageResult", "Step",
           "TighteningOptions", "TighteningResult", "run_stages"]
