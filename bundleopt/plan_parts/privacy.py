"""Privacy: keyed pseudonyms for customer ids, and no personalised price for a small group.

* :func:`pseudonymise`: ``HMAC-SHA256(key, id)``, first 16 hex digits. Without the key
  a pseudonym cannot be turned back into an id, nor matched to one by hashing
  guesses; with the same key, two runs give the same pseudonym (a fresh random key,
  the default of the report, makes runs unlinkable).
* :func:`merge_small_segments`: a segment with fewer than ``min_size`` customers is
  merged into the segment whose mean customer profile is nearest (standardised
  features), smallest first, before menus are personalised: a personalised price then
  always applies to at least ``min_size`` customers.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = ["merge_small_segments", "new_key", "pseudonymise"]


def new_key() -> bytes:
    """A fresh random 32-byte key."""
    return secrets.token_bytes(32)


def pseudonymise(ids: Iterable[object], key: bytes | str) -> list[str]:
    """Keyed pseudonym of each id: the first 16 hex digits of ``HMAC-SHA256(key, str(id))``."""
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, bytes) or len(key) < 16:
        raise ValueError("the pseudonym key must be at least 16 bytes (e.g. bundleopt.plan_parts.privacy.new_key())")
    return [hmac.new(key, str(i).encode("utf-8"), hashlib.sha256).hexdigest()[:16] for i in ids]


def nearest_segment(assignments: pd.Series, features: pd.DataFrame, segment: int) -> int:
    """The segment whose mean customer is nearest to ``segment``'s (features standardised
    to mean 0, sd 1 over the customers; Euclidean distance between segment means)."""
    seg = assignments.astype(int)
    x = features.reindex(seg.index).astype(float)
    z = ((x - x.mean()) / x.std(ddof=0).replace(0, 1.0)).fillna(0.0)
    means = z.groupby(seg).mean()
    others = means.drop(index=segment)
    dist = np.linalg.norm(others.to_numpy() - means.loc[segment].to_numpy(), axis=1)
    return int(others.index[int(np.argmin(dist))])


def renumber(assignments: pd.Series) -> pd.Series:
    """Segments relabelled ``0..k-1`` in the order of their old labels."""
    codes = {old: new for new, old in enumerate(sorted(assignments.unique()))}
    return assignments.map(codes).astype(int)


def merge_small_segments(assignments: pd.Series, features: pd.DataFrame,
                         min_size: int) -> tuple[pd.Series, list[str]]:
    """``(assignments, notes)`` with every segment of fewer than ``min_size`` customers merged away.

    Segments are relabelled ``0..k-1`` in order of their old labels. Each small segment
    goes to the :func:`nearest_segment`. When every segment is small, all customers form
    one segment.
    """
    if not (isinstance(min_size, int) and not isinstance(min_size, bool) and min_size >= 1):
        raise ValueError(f"min_segment_size must be an integer >= 1, got {min_size!r}")
    seg = assignments.astype(int).copy()
    notes = []
    while seg.nunique() > 1:
        sizes = seg.value_counts()
        small = sizes[sizes < min_size]
        if small.empty:
            break
        s = int(small.sort_values(kind="stable").index[0])
        target = nearest_segment(seg, features, s)
        notes.append(f"segment {s} ({int(sizes[s])} customers, under {min_size}) merged into segment {target} "
                     "before prices were personalised")
        seg[seg == s] = target
    if notes:
        notes.append(f"segments renumbered 0..{seg.nunique() - 1} after merging")
    return renumber(seg), notes
