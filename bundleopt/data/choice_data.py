"""Long-format choice data from transactions: one observation per purchase occasion.

See ``formulations/choice_data.md`` for the model behind it. In short:

* **Offers** are the products (by default those bought at least once; or
  ``offers=``) and, optionally, bundles (a frame with ``bundle_id`` and
  ``components``, e.g. from :func:`bundleopt.candidates.mine_bundles`).
* **Purchase occasions.** Each order is split into occasions: bundles whose
  components are all in the basket are matched greedily (largest first, then in
  the order given), each becoming one occasion whose chosen alternative is the
  bundle; each remaining product line is one occasion choosing that product.
  Occasions whose product is not an offer are left out (counted in
  ``df.attrs["n_dropped_occasions"]``).
* **No-purchase occasions** come from ``sessions`` (a visit without an order is
  an occasion choosing :data:`NO_PURCHASE`) or, without sessions, from the
  market-size assumption ``purchase_share``: purchase occasions are that share of
  all occasions, so ``round(n_purchase * (1 - s) / s)`` no-purchase occasions are
  added, each copying the customer and time of a purchase occasion drawn at
  random (``random_state``).
* **Alternatives** of an occasion: every offer plus :data:`NO_PURCHASE` (price 0,
  always available). ``available`` is 1 for every offer (``availability="always"``),
  or only for offers with a listed price that period (``prices`` table) or sold in
  that period (``availability="sold"``). A bundle is available when all its
  components are (components need not be offers themselves; they must be in
  the catalog).
* **Prices.** The chosen alternative carries the price paid (for a bundle, the
  sum of its components' unit prices paid). Other alternatives carry the listed
  price of the period: from ``prices`` when given, else the median unit price
  paid that period, else the catalog list price; a bundle's listed price is the
  sum of its components' times ``list_price / components_price`` from the
  bundle frame (its discount), when those columns exist.

Code: the occasions in :mod:`bundleopt.data.occasions`, the listed prices in
:mod:`bundleopt.data.listed_prices`; this module assembles them (long format, or grouped
by menu) and re-exports :func:`purchase_occasions` and :func:`no_purchase_draws`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from bundleopt.data.listed_prices import _listed_prices
from bundleopt.data.occasions import (
    _no_purchase_occasions,
    _purchase_side,
    _visits_without_order,
    no_purchase_draws,
    purchase_occasions,
)
from bundleopt.data.schemas import NO_PURCHASE

__all__ = ["GroupedChoiceData", "build_choice_data", "build_menu_choices", "no_purchase_draws",
           "purchase_occasions"]


def _check_choice_args(
    sessions: pd.DataFrame | None, purchase_share: float | None, availability: str
) -> None:
    if sessions is None and purchase_share is None:
        raise ValueError(
            "build_choice_data: give sessions (visits, to observe no-purchase) or "
            "purchase_share (share of choice occasions that end in a purchase)"
        )
    if purchase_share is not None and not 0 < purchase_share <= 1:
        raise ValueError(f"purchase_share must be in (0, 1], got {purchase_share}")
    if availability not in ("always", "sold"):
        raise ValueError(f"availability must be 'always' or 'sold', got {availability!r}")


def build_choice_data(
    transactions: pd.DataFrame,
    catalog: pd.DataFrame,
    *,
    sessions: pd.DataFrame | None = None,
    purchase_share: float | None = None,
    bundles: pd.DataFrame | None = None,
    offers: Iterable[str] | None = None,
    prices: pd.DataFrame | None = None,
    availability: Literal["always", "sold"] = "always",
    period: str = "D",
    segments: pd.Series | Mapping[str, object] | None = None,
    random_state: int = 0,
    categorical: bool = True,
) -> pd.DataFrame:
    """Long-format choice data: one row per (purchase occasion, alternative).

    Parameters
    ----------
    transactions, catalog : validated frames (:func:`bundleopt.data.validate`).
    sessions : validated visits; those without an order become no-purchase occasions.
    purchase_share : market-size assumption used when ``sessions`` is None: the
        share of choice occasions that end in a purchase, in (0, 1]. One of
        ``sessions`` / ``purchase_share`` is required.
    bundles : bundle offers (``bundle_id``, ``components``; optional
        ``list_price``, ``components_price``).
    offers : product ids to keep as alternatives (default: those bought at least once).
    prices : listed prices per period: ``date``, ``product_id``, ``price``
        (optional ``available`` 0/1); missing (period, product) = not on sale.
    availability : without ``prices``, ``"always"`` (every offer on sale in every
        period) or ``"sold"`` (on sale in the periods it was sold).
    period : pandas frequency of the price / availability periods (default a day).
    segments : ``customer_id -> segment``, added as a ``segment`` column when given.
    random_state : seed of the no-purchase occasions drawn under ``purchase_share``.
    categorical : store ``obs``, ``alt`` and ``customer`` as pandas categoricals
        (7x less memory than strings; group with ``observed=True``), else as ``str``.

    Returns
    -------
    DataFrame with columns ``obs``, ``alt``, ``chosen`` (0/1), ``available`` (0/1),
    ``price``, ``customer``, ``timestamp``, ``is_bundle`` (0/1) (and ``segment``),
    sorted by occasion then alternative, exactly one chosen row per ``obs``, fit-able by
    ``MNL(features=["price"], reference=NO_PURCHASE).fit(df, obs="obs", alt="alt",
    choice="chosen", avail="available")``.
    """
    _check_choice_args(sessions, purchase_share, availability)

    occ, products, b, alts, n_dropped = _purchase_side(transactions, catalog, bundles, offers)
    none_occ = _no_purchase_occasions(occ, sessions, purchase_share, random_state)
    obs = pd.concat(
        [occ[["obs", "customer", "timestamp", "chosen_alt", "price"]], none_occ], ignore_index=True
    ).sort_values(["timestamp", "obs"], kind="stable", ignore_index=True)
    if len(obs) == 0:
        raise ValueError("build_choice_data: no purchase occasion among the offers")
    per = obs["timestamp"].dt.to_period(period)
    periods = pd.PeriodIndex(per.unique()).sort_values()
    listed, avail = _listed_prices(
        transactions, catalog, products, b, periods, prices, availability, period
    )

    # the rectangle: every occasion x every alternative
    n, j = len(obs), len(alts)
    p_code = periods.get_indexer(per)
    chosen_code = alts.get_indexer(obs["chosen_alt"])
    price = listed[p_code].copy()
    available = avail[p_code].copy()
    price[np.arange(n), chosen_code] = obs["price"].to_numpy(dtype=float)
    available[np.arange(n), chosen_code] = True
    chosen = np.zeros((n, j), dtype=np.int8)
    chosen[np.arange(n), chosen_code] = 1
    n_products = len(products)
    is_bundle = np.zeros(j, dtype=np.int8)
    is_bundle[1 + n_products :] = 1
    obs_ids = obs["obs"].to_numpy(dtype=object)
    cust_ids = obs["customer"].to_numpy(dtype=object)
    if categorical:
        obs_col = pd.Categorical.from_codes(
            np.repeat(np.arange(n), j), categories=pd.Index(obs_ids)
        )
        alt_col = pd.Categorical.from_codes(np.tile(np.arange(j), n), categories=alts)
        cust_codes, cust_uniques = pd.factorize(cust_ids)
        cust_col = pd.Categorical.from_codes(
            np.repeat(cust_codes, j), categories=pd.Index(cust_uniques)
        )
    else:
        obs_col = np.repeat(obs_ids, j)
        alt_col = np.tile(alts.to_numpy(dtype=object), n)
        cust_col = np.repeat(cust_ids, j)
    out = pd.DataFrame(
        {
            "obs": obs_col,
            "alt": alt_col,
            "chosen": chosen.ravel(),
            "available": available.ravel().astype(np.int8),
            "price": price.ravel(),
            "customer": cust_col,
            "timestamp": np.repeat(obs["timestamp"].to_numpy(), j),
            "is_bundle": np.tile(is_bundle, n),
        }
    )
    if segments is not None:
        seg = pd.Series(segments) if not isinstance(segments, pd.Series) else segments
        seg = seg.set_axis(seg.index.astype(str))
        out["segment"] = out["customer"].map(seg)
    out.attrs["n_dropped_occasions"] = n_dropped
    out.attrs["purchase_share"] = purchase_share if sessions is None else None
    return out


@dataclass(frozen=True)
class GroupedChoiceData:
    """Choice data grouped by menu, per segment (:func:`build_menu_choices`).

    ``menus``: segment -> :class:`~bundleopt.choice.grouped.MenuChoices` (no pseudo
    occasions); ``occasions`` / ``purchases``: occasions and purchase occasions per segment;
    ``n_unsegmented``: occasions of customers without a segment (left out);
    ``n_dropped_occasions``: purchase occasions whose product is not an offer (left out).
    """

    menus: dict
    occasions: pd.Series
    purchases: pd.Series
    n_unsegmented: int
    n_dropped_occasions: int


def build_menu_choices(
    transactions: pd.DataFrame,
    catalog: pd.DataFrame,
    *,
    segments: pd.Series | Mapping[str, object],
    sessions: pd.DataFrame | None = None,
    purchase_share: float | None = None,
    bundles: pd.DataFrame | None = None,
    offers: Iterable[str] | None = None,
    prices: pd.DataFrame | None = None,
    availability: Literal["always", "sold"] = "always",
    period: str = "D",
    random_state: int = 0,
) -> GroupedChoiceData:
    """The choice data of :func:`build_choice_data`, grouped by menu per segment.

    The same occasions, alternatives, listed prices and no-purchase draws (the same seed
    gives the same draws), without one row per (occasion, alternative): a segment's base
    menus are the periods (one listed price and availability vector each) and its records
    ``(period, chosen alternative, price paid, count)``; the no-purchase occasions of a
    period are one record with their count (``formulations/choice_data.md``). Memory grows
    with purchase occasions and periods x alternatives, not with occasions x alternatives
    nor with ``1 / purchase_share``. A segment without an occasion in these lines (a
    backtest window) has no entry in ``menus``.
    """
    from bundleopt.choice.grouped import MenuChoices, group_records

    _check_choice_args(sessions, purchase_share, availability)
    occ, products, b, alts, n_dropped = _purchase_side(transactions, catalog, bundles, offers)
    if len(occ) == 0 and sessions is None:
        raise ValueError("build_choice_data: no purchase occasion among the offers")
    # occasions: purchases (count 1) and no-purchase (copies of purchases, or visits)
    cust = occ["customer"].astype(str).to_numpy()
    stamp = occ["timestamp"]
    chosen = occ["chosen_alt"].to_numpy()
    price = occ["price"].to_numpy(dtype=float)
    if sessions is not None:
        none = _visits_without_order(sessions)
        n_cust = np.concatenate([cust, none["customer_id"].astype(str).to_numpy()])
        n_stamp = pd.concat([stamp, none["timestamp"]], ignore_index=True)
        n_chosen = np.concatenate([chosen, np.full(len(none), NO_PURCHASE, dtype=object)])
        n_price = np.concatenate([price, np.zeros(len(none))])
        n_count = np.ones(len(n_cust))
        is_none = np.concatenate([np.zeros(len(occ), bool), np.ones(len(none), bool)])
    else:
        draws = no_purchase_draws(len(occ), purchase_share, random_state)  # type: ignore[arg-type]
        n_cust = np.concatenate([cust, cust])
        n_stamp = pd.concat([stamp, stamp], ignore_index=True)
        n_chosen = np.concatenate([chosen, np.full(len(occ), NO_PURCHASE, dtype=object)])
        n_price = np.concatenate([price, np.zeros(len(occ))])
        n_count = np.concatenate([np.ones(len(occ)), draws.astype(float)])
        is_none = np.concatenate([np.zeros(len(occ), bool), np.ones(len(occ), bool)])
        keep = n_count > 0
        n_cust, n_chosen, n_price, n_count, is_none = (
            a[keep] for a in (n_cust, n_chosen, n_price, n_count, is_none)
        )
        n_stamp = n_stamp[keep].reset_index(drop=True)
    if len(n_cust) == 0:
        raise ValueError("build_choice_data: no purchase occasion among the offers")
    per = n_stamp.dt.to_period(period)
    periods = pd.PeriodIndex(per.unique()).sort_values()
    listed, avail = _listed_prices(
        transactions, catalog, products, b, periods, prices, availability, period
    )
    seg = pd.Series(segments) if not isinstance(segments, pd.Series) else segments
    seg = seg.set_axis(seg.index.astype(str))
    seg_of = pd.Series(n_cust).map(seg).to_numpy()
    unseg = pd.isna(seg_of)
    n_unsegmented = int(n_count[unseg].sum())
    # alternatives sorted as the long-format fit sorts them
    order = pd.Index(alts.astype(str)).sort_values()
    to_sorted = order.get_indexer(alts.astype(str))
    J = len(order)
    listed_s = np.zeros((len(periods), J))
    avail_s = np.zeros((len(periods), J), bool)
    listed_s[:, to_sorted] = listed
    avail_s[:, to_sorted] = avail
    p_code = periods.get_indexer(per)
    j_code = order.get_indexer(pd.Index(n_chosen).astype(str))
    menus: dict = {}
    occasions, purchases = {}, {}
    seg_ids = pd.unique(seg.dropna())
    for s in seg_ids:
        mask = (seg_of == s) & ~unseg
        if not mask.any():  # no occasion of this segment in these lines (a backtest window): no menus
            continue
        used, m_code = np.unique(p_code[mask], return_inverse=True)
        m, j, x, w = group_records(m_code, j_code[mask], n_price[mask], n_count[mask])
        menus[s] = MenuChoices(
            X=np.where(avail_s[used], listed_s[used], 0.0)[:, :, None], avail=avail_s[used],
            menu=m, choice=j, x_chosen=x, count=w, alt_ids=order, features=("price",),
        )
        occasions[s] = float(n_count[mask].sum())
        purchases[s] = float(n_count[mask & ~is_none].sum())
    return GroupedChoiceData(
        menus=menus, occasions=pd.Series(occasions, dtype=float),
        purchases=pd.Series(purchases, dtype=float), n_unsegmented=n_unsegmented,
        n_dropped_occasions=n_dropped,
    )
