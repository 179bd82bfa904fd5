"""Long-format choice data: validation at the boundary and packing into dense arrays.

A long-format frame has one row per (observation, alternative) with an observation id,
an alternative id, a 0/1 ``chosen`` column, an optional 0/1 availability column and
numeric feature columns. :func:`pack_long` checks it once and returns a
:class:`ChoiceArrays`: dense ``(N, J, K)`` design tensor, chosen index, availability
mask and the maps back to the frame's rows. Every user mistake becomes a ``ValueError``
that names the column and shows a sample of the offending rows; nothing downstream
(JAX, pandas) should see bad data.

(observation, alternative) pairs absent from the frame are unavailable. Features of
unavailable alternatives are never used: they may be NaN and are stored as 0.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

_SAMPLE_ROWS = 5


@dataclass(frozen=True)
class DesignColumn:
    """One column of the design tensor: a frame column, optionally restricted to one alt.

    ``X[n, j, k] = df[source]`` for the row of (n, j) when ``alt_code`` is ``None`` (a
    generic feature) or ``j == alt_code`` (an alternative-specific feature), else 0.
    """

    name: str
    source: str
    alt_code: int | None = None


@dataclass(frozen=True)
class ChoiceArrays:
    """Choice data packed into dense arrays (N observations, J alternatives, K columns).

    Attributes:
        X: ``(N, J, K)`` float64 design tensor, 0 where an alternative is unavailable.
        choice: ``(N,)`` int32 index of the chosen alternative (-1 when not given).
        avail: ``(N, J)`` bool availability.
        obs_ids: the N observation ids, in order of first appearance.
        alt_ids: the J alternative ids.
        row_obs, row_alt: ``(R,)`` codes of each frame row, to map results back.
    """

    X: np.ndarray
    choice: np.ndarray
    avail: np.ndarray
    obs_ids: pd.Index
    alt_ids: pd.Index
    row_obs: np.ndarray
    row_alt: np.ndarray

    @property
    def n_obs(self) -> int:
        return int(self.X.shape[0])

    def rows_from_dense(self, dense: np.ndarray) -> np.ndarray:
        """Gather an ``(N, J)`` array back to one value per frame row."""
        return np.asarray(dense)[self.row_obs, self.row_alt]


def _sample(df: pd.DataFrame, mask: np.ndarray, columns: Sequence[Hashable]) -> str:
    cols = list(dict.fromkeys(c for c in columns if c in df.columns))
    return df.loc[np.asarray(mask), cols].head(_SAMPLE_ROWS).to_string()


def check_columns(df: pd.DataFrame, **roles: object) -> None:
    """Raise ``ValueError`` when a named column (scalar or list, by role) is not in ``df``."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"expected a pandas DataFrame in long format, got {type(df).__name__}")
    missing: list[str] = []
    for role, value in roles.items():
        if value is None:
            continue
        names = [value] if isinstance(value, str | int) else list(value)  # type: ignore[arg-type]
        missing += [f"{role}={name!r}" for name in names if name not in df.columns]
    if missing:
        raise ValueError(
            f"unknown column(s): {', '.join(missing)}; the frame has columns {list(df.columns)}"
        )


def _binary(df: pd.DataFrame, column: str, role: str, context: Sequence[Hashable]) -> np.ndarray:
    """The column as bool, or a ``ValueError`` when it holds anything but 0/1."""
    values = df[column]
    if values.dtype == bool:
        return values.to_numpy()
    numeric = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isin(numeric, (0.0, 1.0))
    if bad.any():
        raise ValueError(
            f"{role} column {column!r} must hold only 0/1 (or True/False); "
            f"{int(bad.sum())} row(s) do not, e.g.\n{_sample(df, bad, context)}"
        )
    return numeric == 1.0


def _numeric(df: pd.DataFrame, column: str, context: Sequence[Hashable]) -> np.ndarray:
    values = df[column]
    if values.dtype == bool:
        return values.to_numpy(dtype=float)
    if not pd.api.types.is_numeric_dtype(values):
        coerced = pd.to_numeric(values, errors="coerce")
        bad = coerced.isna().to_numpy() & values.notna().to_numpy()
        if bad.any():
            raise ValueError(
                f"feature column {column!r} must be numeric; {int(bad.sum())} row(s) are not, "
                f"e.g.\n{_sample(df, bad, context)}"
            )
        values = coerced
    return values.to_numpy(dtype=float)


def pack_long(
    df: pd.DataFrame,
    *,
    obs: str,
    alt: str,
    columns: Sequence[DesignColumn],
    choice: str | None = None,
    avail: str | None = None,
    alt_ids: pd.Index | None = None,
    min_avail: int = 2,
) -> ChoiceArrays:
    """Validate a long-format frame and pack it into :class:`ChoiceArrays`.

    Args:
        df: one row per (observation, alternative).
        obs, alt: observation and alternative id columns.
        columns: the design columns (``X[..., k]``), see :class:`DesignColumn`.
        choice: 0/1 chosen column; ``None`` when predicting.
        avail: optional 0/1 availability column (absent = every listed row available).
        alt_ids: the known alternatives (from fitting); ``None`` = the sorted ids in ``df``.
        min_avail: fewest available alternatives an observation may have (2 to fit a
            model, 1 to predict).

    Raises:
        ValueError: unknown columns, duplicated (obs, alt) rows, non-0/1 choice or
            availability, non-numeric or NaN features on available rows, alternatives
            unknown to the model, observations with fewer than two available
            alternatives, observations without exactly one chosen available alternative.
    """
    sources = [c.source for c in columns]
    check_columns(df, obs=obs, alt=alt, choice=choice, avail=avail, features=sources)
    context: list[Hashable] = [obs, alt, *([choice] if choice else []), *([avail] if avail else [])]
    if len(df) == 0:
        raise ValueError("the choice frame is empty")
    for key in (obs, alt):
        if df[key].isna().any():
            bad = df[key].isna().to_numpy()
            raise ValueError(f"id column {key!r} has missing values, e.g.\n{_sample(df, bad, context)}")

    obs_codes, obs_uniques = pd.factorize(df[obs], sort=False)
    if alt_ids is None:
        alt_ids = pd.Index(pd.unique(df[alt])).sort_values()
    alt_codes = alt_ids.get_indexer(df[alt])
    if (alt_codes < 0).any():
        bad = alt_codes < 0
        raise ValueError(
            f"alternative column {alt!r} holds ids unknown to the model (known: {list(alt_ids)}), "
            f"e.g.\n{_sample(df, bad, context)}"
        )
    n_obs, n_alt, n_rows = len(obs_uniques), len(alt_ids), len(df)
    obs_codes = obs_codes.astype(np.int64)
    alt_codes = alt_codes.astype(np.int64)
    flat = obs_codes * n_alt + alt_codes
    counts = np.bincount(flat, minlength=n_obs * n_alt)
    if counts.max() > 1:
        bad = counts[flat] > 1
        raise ValueError(
            f"columns ({obs!r}, {alt!r}) must identify rows; {int(bad.sum())} rows repeat a pair, "
            f"e.g.\n{_sample(df, bad, context)}"
        )

    row_avail = np.ones(n_rows, bool) if avail is None else _binary(df, avail, "availability", context)
    row_chosen = None if choice is None else _binary(df, choice, "choice", context)

    # the design tensor, column by column; NaN is an error only where the value is used
    row_features = np.empty((n_rows, len(columns)), dtype=np.float64)
    for k, col in enumerate(columns):
        values = _numeric(df, col.source, context + [col.source])
        used = row_avail if col.alt_code is None else row_avail & (alt_codes == col.alt_code)
        bad = used & ~np.isfinite(values)
        if bad.any():
            raise ValueError(
                f"feature column {col.source!r} has {int(bad.sum())} NaN/inf value(s) on available "
                f"rows, e.g.\n{_sample(df, bad, context + [col.source])}"
            )
        row_features[:, k] = np.where(used, values, 0.0)

    n_avail = np.bincount(obs_codes, weights=row_avail, minlength=n_obs)
    if (n_avail < min_avail).any():
        bad = (n_avail < min_avail)[obs_codes]
        raise ValueError(
            f"{int((n_avail < min_avail).sum())} observation(s) in {obs!r} have fewer than "
            f"{min_avail} available alternative(s), e.g.\n{_sample(df, bad, context)}"
        )
    choice_idx = np.full(n_obs, -1, dtype=np.int32)
    if row_chosen is not None:
        chosen_ok = row_chosen & row_avail
        n_chosen = np.bincount(obs_codes, weights=chosen_ok, minlength=n_obs)
        if (n_chosen != 1).any() or (row_chosen & ~row_avail).any():
            bad_obs = (n_chosen != 1) | (
                np.bincount(obs_codes, weights=row_chosen & ~row_avail, minlength=n_obs) > 0
            )
            bad = bad_obs[obs_codes]
            raise ValueError(
                f"choice column {choice!r} must mark exactly one chosen available alternative per "
                f"observation; {int(bad_obs.sum())} observation(s) do not, e.g.\n"
                f"{_sample(df, bad, context)}"
            )
        choice_idx[obs_codes[chosen_ok]] = alt_codes[chosen_ok]

    dense_avail = np.zeros(n_obs * n_alt, dtype=bool)
    if n_rows == n_obs * n_alt and np.array_equal(flat, np.arange(n_rows)):
        X = row_features.reshape(n_obs, n_alt, len(columns))  # balanced and sorted: no scatter
        dense_avail = row_avail.reshape(n_obs, n_alt).copy()
    else:
        X = np.zeros((n_obs * n_alt, len(columns)), dtype=np.float64)
        X[flat] = row_features
        X = X.reshape(n_obs, n_alt, len(columns))
        dense_avail[flat] = row_avail
        dense_avail = dense_avail.reshape(n_obs, n_alt)
    return ChoiceArrays(
        X=X,
        choice=choice_idx,
        avail=dense_avail,
        obs_ids=pd.Index(obs_uniques),
        alt_ids=alt_ids,
        row_obs=obs_codes,
        row_alt=alt_codes,
    )


def validate_alt_mapping(
    alt_ids: pd.Index, mapping: Mapping[Hashable, object] | None, what: str
) -> None:
    """Raise ``ValueError`` when ``mapping`` is keyed by alternatives not in ``alt_ids``."""
    if not mapping:
        return
    unknown = [a for a in mapping if a not in alt_ids]
    if unknown:
        raise ValueError(f"{what} names alternative(s) {unknown} not in the data (known: {list(alt_ids)})")
