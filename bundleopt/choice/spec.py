"""The utility specification shared by MNL and latent-class MNL: which parameters exist.

``V[n, j] = ASC_j + sum_f beta_f x_f[n, j] + sum_{(f, a): a = j} beta_{f,a} x_f[n, j]``:
one constant per non-reference alternative (``ASC_<alt>``), one generic coefficient per
feature in ``features`` (``<feature>``), and one alternative-specific coefficient per
``(feature, alt)`` in ``features_by_alt`` (``<feature>_<alt>``), in that order.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bundleopt.choice.long_format import DesignColumn, validate_alt_mapping


@dataclass(frozen=True)
class Specification:
    """A linear-in-parameters utility specification, resolved against the alternatives."""

    features: tuple[str, ...]
    asc: bool
    reference: Hashable | None
    features_by_alt: tuple[tuple[Hashable, tuple[str, ...]], ...]

    @classmethod
    def create(
        cls,
        features: Sequence[str] | None,
        asc: bool = True,
        reference: Hashable | None = None,
        features_by_alt: Mapping[Hashable, Sequence[str]] | None = None,
    ) -> Specification:
        if isinstance(features, str):
            features = [features]
        by_alt = tuple((a, tuple([f] if isinstance(f, str) else f)) for a, f in (features_by_alt or {}).items())
        return cls(tuple(features or ()), bool(asc), reference, by_alt)

    def reference_alt(self, alt_ids: pd.Index) -> Hashable:
        """The alternative whose constant is fixed at 0 (default: the first id)."""
        if self.reference is None:
            return alt_ids[0]
        if self.reference not in alt_ids:
            raise ValueError(f"reference={self.reference!r} is not an alternative of the data (known: {list(alt_ids)})")
        return self.reference

    def asc_alts(self, alt_ids: pd.Index) -> list[Hashable]:
        """Alternatives with a free constant, in id order."""
        if not self.asc:
            return []
        ref = self.reference_alt(alt_ids)
        return [a for a in alt_ids if a != ref]

    def design_columns(self, alt_ids: pd.Index) -> list[DesignColumn]:
        """Columns of ``X`` (generic features first, then alternative-specific ones)."""
        validate_alt_mapping(alt_ids, dict(self.features_by_alt), "features_by_alt")
        cols = [DesignColumn(name=f, source=f) for f in self.features]
        for a, feats in self.features_by_alt:
            code = int(alt_ids.get_loc(a))
            cols += [DesignColumn(name=f"{f}_{a}", source=f, alt_code=code) for f in feats]
        names = [c.name for c in cols]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicated coefficient names in the specification: {names}")
        return cols

    def asc_matrix(self, alt_ids: pd.Index) -> np.ndarray:
        """``A`` (J, n_asc): ``A[j, i] = 1`` when constant i belongs to alternative j."""
        alts = self.asc_alts(alt_ids)
        A = np.zeros((len(alt_ids), len(alts)))
        for i, a in enumerate(alts):
            A[alt_ids.get_loc(a), i] = 1.0
        return A

    def param_names(self, alt_ids: pd.Index) -> list[str]:
        """``ASC_<alt>`` ..., generic features, ``<feature>_<alt>`` ..."""
        return [f"ASC_{a}" for a in self.asc_alts(alt_ids)] + [c.name for c in self.design_columns(alt_ids)]

    def used_columns(self) -> list[str]:
        return list(dict.fromkeys([*self.features, *(f for _, fs in self.features_by_alt for f in fs)]))
