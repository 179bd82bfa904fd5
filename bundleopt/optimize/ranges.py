"""Ranges of the no-purchase shares ``x[s]`` and the ladder pairs left out: what the
bound tightening narrows (``formulations/milp.md``, "Bound tightening").

A :class:`VariableRanges` is a claim about every decision at least as good as the
incumbent: its ``x[s]`` lies in ``[lo[s], hi[s]]`` and it uses no pair in
``excluded``. Two such claims hold together, so they combine by intersection
(:meth:`VariableRanges.intersect`): larger lower ends, smaller upper ends, the union
of the pairs left out. Nothing else ever changes a range, so the ranges only narrow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _frozen(values: np.ndarray) -> np.ndarray:
    out = np.array(values, dtype=float, copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class VariableRanges:
    """``lo[s] <= x[s] <= hi[s]`` (``-inf`` / ``inf``: no claim) and the ladder pairs
    ``(o, k)`` no decision worth finding uses. Immutable: the arrays are read-only copies."""

    lo: np.ndarray
    hi: np.ndarray
    excluded: frozenset[tuple[int, int]] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        lo, hi = _frozen(self.lo), _frozen(self.hi)
        if lo.shape != hi.shape or lo.ndim != 1:
            raise ValueError(f"ranges need two arrays of one shape (segments,), got {lo.shape} and {hi.shape}")
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)
        object.__setattr__(self, "excluded", frozenset(self.excluded))

    @classmethod
    def unbounded(cls, n_segments: int) -> VariableRanges:
        """No claim yet: every range ``(-inf, inf)``, no pair left out."""
        return cls(np.full(n_segments, -np.inf), np.full(n_segments, np.inf))

    def intersect(self, other: VariableRanges) -> VariableRanges:
        """Both claims at once: ``[max(lo), min(hi)]`` per segment, pairs of either left out."""
        return VariableRanges(np.maximum(self.lo, other.lo), np.minimum(self.hi, other.hi),
                              self.excluded | other.excluded)

    def narrowed_from(self, before: VariableRanges) -> np.ndarray:
        """Segments whose range is strictly narrower here than in ``before``."""
        return np.flatnonzero((self.lo > before.lo) | (self.hi < before.hi))

    def same_as(self, other: VariableRanges) -> bool:
        return (np.array_equal(self.lo, other.lo) and np.array_equal(self.hi, other.hi)
                and self.excluded == other.excluded)

    @property
    def bounded(self) -> bool:
        """Every segment has a finite range."""
        return bool(np.all(np.isfinite(self.lo)) and np.all(np.isfinite(self.hi)))

    @property
    def x_range(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(lo, hi)`` for :func:`bundleopt.optimize.model.build_model`, None without a claim."""
        if np.all(self.lo == -np.inf) and np.all(self.hi == np.inf):
            return None
        return self.lo, self.hi

    def widened(self, min_width: float) -> VariableRanges:
        """Finite ranges made at least ``min_width`` of their midpoint wide, around the
        same midpoint (``hi - lo >= min_width * (lo + hi) / 2``); a wider range is still
        valid. Ranges without a finite end are left as they are."""
        lo, hi = widen(self.lo, self.hi, min_width)
        finite = np.isfinite(self.lo) & np.isfinite(self.hi)
        return VariableRanges(np.where(finite, lo, self.lo), np.where(finite, hi, self.hi),
                              self.excluded)


def widen(lo: np.ndarray, hi: np.ndarray, min_width: float) -> tuple[np.ndarray, np.ndarray]:
    """Ranges containing ``[lo, hi]`` with ``hi - lo >= min_width * (lo + hi) / 2``,
    around the same midpoint (finite inputs)."""
    with np.errstate(invalid="ignore"):
        mid = 0.5 * (lo + hi)
        half = np.maximum(0.5 * (hi - lo), 0.5 * min_width * mid)
        return np.minimum(lo, mid - half), np.maximum(hi, mid + half)


__all__ = ["VariableRanges", "widen"]
