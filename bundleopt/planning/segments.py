"""Stage 2 of the planner: customer features and segments (KMeans, the number chosen by
silhouette unless given), with small segments merged first when menus are personalised
(privacy: no personalised price for a group under ``min_segment_size`` customers)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bundleopt.planning.config import PlanConfig

__all__ = ["Segmentation", "segment_customers"]


@dataclass(frozen=True)
class Segmentation:
    """Customer id -> segment, each segment's mean features, the features' importance
    (mutual information with the segments), the sorted segment ids and notes."""

    assignments: pd.Series
    profiles: pd.DataFrame
    importance: pd.Series
    segment_ids: list[int]
    notes: tuple[str, ...]
    features: pd.DataFrame | None = None  # per customer: what the segments were formed on

    def merged(self, segment: int, why: str) -> Segmentation:
        """These segments with ``segment`` merged into the nearest one
        (:func:`bundleopt.plan_parts.privacy.nearest_segment`), renumbered ``0..k-2``; the
        note says which and ``why``."""
        from bundleopt.plan_parts.privacy import nearest_segment, renumber

        if self.features is None or len(self.segment_ids) < 2:
            raise ValueError("cannot merge: one segment, or no customer features kept")
        seg = self.assignments.astype(int).copy()
        target = nearest_segment(seg, self.features, segment)
        n = int((seg == segment).sum())
        seg[seg == segment] = target
        seg = renumber(seg)
        profiles = self.features.reindex(seg.index).groupby(seg.to_numpy()).mean()
        note = (f"segment {segment} ({n} customers) merged into segment {target}: {why}; "
                f"segments renumbered 0..{seg.nunique() - 1}")
        return Segmentation(seg, profiles, self.importance, sorted(int(s) for s in seg.unique()),
                            (*self.notes, note), self.features)


def segment_customers(tx: pd.DataFrame, catalog: pd.DataFrame, config: PlanConfig) -> Segmentation:
    """Segments of the customers of ``tx`` (:class:`bundleopt.segment.CustomerSegmenter`)."""
    from bundleopt.segment import CustomerSegmenter, customer_features

    feats = customer_features(tx, catalog)
    k = config.n_segments
    if k is not None and k > len(feats):
        raise ValueError(f"n_segments={k} but the data has only {len(feats)} customers")
    model = CustomerSegmenter(n_segments=k, k_range=config.k_range, random_state=config.random_state,
                              n_init=4, threads=config.threads)
    if k is None and len(feats) < 3:
        model.set_params(n_segments=1)
    model.fit(feats)
    assignments = model.segments_.astype(int)
    profiles = model.profiles_
    notes: list[str] = []
    if config.personalised:
        from bundleopt.plan_parts.privacy import merge_small_segments

        assignments, merged = merge_small_segments(assignments, feats, config.min_segment_size)
        if merged:
            notes += merged
            profiles = feats.reindex(assignments.index).groupby(assignments.to_numpy()).mean()
    seg_ids = sorted(int(s) for s in assignments.unique())
    return Segmentation(assignments, profiles, model.importance_, seg_ids, tuple(notes), feats)
