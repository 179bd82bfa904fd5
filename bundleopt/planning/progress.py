"""The planner's clock: seconds per stage and the progress callback (share of the job done)."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["STEPS", "ProgressCallback", "StageClock"]

#: ``progress(step, fraction)``: called when a step starts (``fraction`` of the job done, 0..1).
ProgressCallback = Callable[[str, float], None]

#: each stage's name and its share of the whole job (for progress bars)
STEPS = (
    ("validating data", 0.02),
    ("segmenting customers", 0.18),
    ("mining bundle candidates", 0.05),
    ("building choice data", 0.05),
    ("fitting choice models", 0.45),
    ("building the scenario", 0.02),
    ("solving", 0.15),
    ("evaluating baselines", 0.08),
)


class StageClock:
    """Times the stages of :data:`STEPS` in order and reports progress as each starts."""

    def __init__(self, progress: ProgressCallback | None = None) -> None:
        self.progress = progress
        self.timings: dict[str, float] = {}
        self.done = 0.0  # share of the job done once the current stage ends
        self._stage = -1
        self._started = time.perf_counter()

    def start(self, name: str) -> None:
        """Stage ``name`` (one of :data:`STEPS`, the next in order) starts now."""
        i = self._stage + 1
        if STEPS[i][0] != name:
            raise RuntimeError(f"stage {name!r} started out of order (expected {STEPS[i][0]!r})")
        self._lap()
        self._stage = i
        if self.progress is not None:
            self.progress(name, self.done)
        self.done += STEPS[i][1]

    def part_done(self, label: str, share_of_stage: float) -> None:
        """Progress within the current stage (``share_of_stage`` of it finished)."""
        if self.progress is not None:
            self.progress(label, self.done - STEPS[self._stage][1] * (1 - share_of_stage))

    def counter(self, label: str, total: int) -> Callable[[object], None]:
        """A callback for the ``total`` parts of the current stage: each call reports one
        more part done as ``"label (n/total)"``."""
        done = [0]

        def one_more(_part: object) -> None:
            done[0] += 1
            self.part_done(f"{label} ({done[0]}/{total})", done[0] / total)

        return one_more

    def finish(self) -> dict[str, float]:
        """The last stage ends: seconds per stage and their ``total``."""
        self._lap()
        self._stage = len(STEPS)
        self.timings["total"] = sum(self.timings.values())
        if self.progress is not None:
            self.progress("done", 1.0)
        return self.timings

    def _lap(self) -> None:
        now = time.perf_counter()
        if 0 <= self._stage < len(STEPS):
            self.timings[STEPS[self._stage][0]] = now - self._started
        self._started = now
