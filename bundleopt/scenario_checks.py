"""The checks :class:`bundleopt.scenario.Scenario` runs on its arrays and ids: shapes,
finite non-negative numbers, usable ids, components, list levels and magnitudes that
double precision can carry. Each raises a one-line ``ValueError`` naming the entry."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from bundleopt.checks import number

# Largest odds of buying against not buying in a segment, (sum of the offers' largest
# weights) / v0: beyond about 1e15 ~ 1 / (4.5 eps), v0 + sum v rounds to sum v in double
# precision, so the no-purchase share, and every rule or profit figure that depends on
# it, is lost in rounding. Such weights come from a utility with a wrong unit or sign.
_MAX_PURCHASE_ODDS = 1e15


def _check_shape(name: str, arr: np.ndarray, shape: tuple[int, ...]) -> None:
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")


def _check_finite_nonneg(name: str, arr: np.ndarray) -> None:
    bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0))
    if bad.size:
        raise ValueError(f"{name} must be finite and >= 0; bad entries at {bad[:5].tolist()}: {arr[bad[:5]]}")


def _check_hashable(name: str, ids: Any) -> None:
    """Ids are dictionary keys throughout (menus, tables): a list or array as an id is refused."""
    for i, x in enumerate(ids):
        try:
            hash(x)
        except TypeError:
            raise ValueError(f"{name}[{i}] = {x!r} is not a usable id (a {type(x).__name__}); "
                             "use strings or numbers") from None


def _nonneg_number(value: object) -> bool:
    try:
        return number("", value) >= 0
    except ValueError:
        return False


def _as_components(components: Any) -> tuple[tuple[Any, ...], ...]:
    """Components as a tuple of tuples of product ids; a string in place of a tuple is
    refused (``tuple("AB")`` would silently be the products ``"A"`` and ``"B"``)."""
    if isinstance(components, (str, bytes)) or not isinstance(components, Iterable):
        raise ValueError(f"components must be a sequence of tuples of product ids, got {components!r}")
    out = []
    for o, comp in enumerate(components):
        if isinstance(comp, (str, bytes)) or not isinstance(comp, Iterable):
            raise ValueError(f"components[{o}] must be a tuple of product ids, got {comp!r} "
                             f"(for a single product write ({comp!r},))")
        out.append(tuple(comp))
    return tuple(out)


def _check_list_level(list_level: Any, price_ok: np.ndarray, offer_ids: Sequence[Any]) -> np.ndarray:
    """``list_level`` as ints, each the index of an existing level of its offer's ladder;
    the message names the entry and its offer."""
    raw = np.asarray(list_level).reshape(-1)
    n_o, n_k = price_ok.shape
    _check_shape("list_level", raw, (n_o,))
    if raw.dtype.kind not in "iuf":
        raise ValueError(f"list_level must be whole numbers (ladder indices), got {raw[:10].tolist()}")
    for o, value in enumerate(raw):
        if not (np.isfinite(value) and value == np.round(value)):
            raise ValueError(f"list_level[{o}] (offer {offer_ids[o]!r}) = {value.item()!r} is not a whole number")
        if not 0 <= value < n_k:
            raise ValueError(f"list_level[{o}] (offer {offer_ids[o]!r}) = {int(value)} is outside the "
                             f"ladder's levels 0..{n_k - 1}")
        if not price_ok[o, int(value)]:
            raise ValueError(f"list_level[{o}] (offer {offer_ids[o]!r}) = {int(value)} points to a "
                             "missing level (its price is NaN)")
    return raw.astype(int)


def _check_magnitudes(v: np.ndarray, v0: np.ndarray, prices: np.ndarray, segment_ids: Sequence[Any]) -> None:
    """Refuse preference weights that double arithmetic cannot carry.

    Only ratios matter to the choice probabilities (``v`` and ``v0`` of a segment may be
    scaled together), so two things are refused per segment: sums or revenue terms
    ``p * (v0 + sum_o max_k v)`` that overflow, and purchase odds
    ``sum_o max_k v[s, o, k] / v0[s]`` above ``_MAX_PURCHASE_ODDS`` (1e15), where the
    no-purchase share is lost in rounding. A ``v0`` below the smallest normal double
    is refused for the same reason. A ``v0`` far from 1 is fine: the solver's model is
    conditioned (``bundleopt.optimize.conditioning``), and scaling a segment's ``v`` and
    ``v0`` together leaves the plan unchanged (tested).
    """
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        most = v.max(axis=2).sum(axis=1)
        total = v0 + most
        odds = most / v0
        revenue = total * np.nanmax(prices)
    for s, sid in enumerate(segment_ids):
        if not np.isfinite(revenue[s]) or v0[s] < np.finfo(float).tiny:
            raise ValueError(
                f"segment {sid!r}: preference weights overflow double arithmetic (v0 = {v0[s]:.3g}, "
                f"sum of the largest v = {most[s]:.3g}); only v / v0 matters, so divide the "
                "segment's v and v0 by a common factor"
            )
        if odds[s] > _MAX_PURCHASE_ODDS:
            raise ValueError(
                f"segment {sid!r}: preference weights {odds[s]:.3g} times the no-purchase weight v0 "
                f"(more than {_MAX_PURCHASE_ODDS:.0e}) leave the no-purchase share below double "
                "precision; check the utilities (a price coefficient's unit or sign?)"
            )
