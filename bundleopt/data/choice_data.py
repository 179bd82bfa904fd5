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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from bundleopt.data.schemas import NO_PURCHASE

__all__ = ["GroupedChoiceData", "build_choice_data", "build_menu_choices", "purchase_occasions"]


def _bundle_table(bundles: pd.DataFrame | None) -> pd.DataFrame:
    if bundles is None or len(bundles) == 0:
        return pd.DataFrame({"bundle_id": [], "components": [], "ratio": []})
    missing = [c for c in ("bundle_id", "components") if c not in bundles.columns]
    if missing:
        raise ValueError(f"bundles: missing column(s) {missing}")
    b = bundles.drop_duplicates("bundle_id")[["bundle_id", "components"]].copy()
    b["bundle_id"] = b["bundle_id"].astype(str)
    b["components"] = b["components"].map(lambda c: tuple(sorted(map(str, c))))
    if {"list_price", "components_price"} <= set(bundles.columns):
        d = bundles.drop_duplicates("bundle_id")
        b["ratio"] = (d["list_price"] / d["components_price"]).to_numpy(dtype=float)
    else:
        b["ratio"] = 1.0
    return b.reset_index(drop=True)


def purchase_occasions(
    transactions: pd.DataFrame, bundles: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Split orders into purchase occasions (see the module docstring).

    Returns one row per occasion: ``obs`` (``"<order_id>#<k>"``), ``order_id``,
    ``customer``, ``timestamp``, ``alt`` (product or bundle id), ``price`` (paid
    per unit; for a bundle the sum over its components).
    """
    tx = transactions
    # one price per (order, product): the quantity-weighted mean price paid
    lines = (
        tx.assign(_rev=tx["quantity"] * tx["unit_price"])
        .groupby(["order_id", "product_id"], sort=False)
        .agg(
            customer=("customer_id", "first"),
            timestamp=("timestamp", "min"),
            q=("quantity", "sum"),
            rev=("_rev", "sum"),
        )
        .reset_index()
    )
    lines["price"] = lines["rev"] / lines["q"]
    lines["alt"] = lines["product_id"].astype(str)
    b = _bundle_table(bundles)
    if len(b):
        b = b.assign(_size=b["components"].map(len)).sort_values(
            "_size", ascending=False, kind="stable"
        )
        baskets = lines.groupby("order_id", sort=False)["product_id"].agg(frozenset)
        price_of = dict(
            zip(
                zip(lines["order_id"], lines["product_id"], strict=True),
                lines["price"],
                strict=True,
            )
        )
        matched_rows = []
        covered: set[tuple[str, str]] = set()
        first = lines.groupby("order_id", sort=False)[["customer", "timestamp"]].first()
        for oid, items in baskets.items():
            if len(items) < 2:
                continue
            left = set(items)
            for bid, comps in zip(b["bundle_id"], b["components"], strict=True):
                if left.issuperset(comps):
                    left.difference_update(comps)
                    covered.update((oid, p) for p in comps)
                    matched_rows.append(
                        (
                            oid,
                            first.at[oid, "customer"],
                            first.at[oid, "timestamp"],
                            bid,
                            sum(price_of[(oid, p)] for p in comps),
                        )
                    )
        keep = [
            (o, p) not in covered
            for o, p in zip(lines["order_id"], lines["product_id"], strict=True)
        ]
        lines = lines[np.asarray(keep, dtype=bool)]
        matched = pd.DataFrame(
            matched_rows, columns=["order_id", "customer", "timestamp", "alt", "price"]
        )
        if len(matched):
            lines = pd.concat([lines[matched.columns], matched], ignore_index=True)
    occ = lines[["order_id", "customer", "timestamp", "alt", "price"]].sort_values(
        ["timestamp", "order_id", "alt"], kind="stable"
    )
    occ["obs"] = (
        occ["order_id"].astype(str)
        + "#"
        + occ.groupby("order_id", sort=False).cumcount().astype(str)
    )
    return occ[["obs", "order_id", "customer", "timestamp", "alt", "price"]].reset_index(drop=True)


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


def _purchase_side(
    transactions: pd.DataFrame,
    catalog: pd.DataFrame,
    bundles: pd.DataFrame | None,
    offers: Iterable[str] | None,
) -> tuple[pd.DataFrame, pd.Index, pd.DataFrame, pd.Index, int]:
    """Purchase occasions among the offers (with ``chosen_alt``), the products, the bundle
    table, the alternatives ``[NO_PURCHASE, products..., bundles...]`` and the number of
    occasions left out (product not an offer)."""
    b = _bundle_table(bundles)
    occ = purchase_occasions(transactions, b if len(b) else None)
    products = (
        pd.Index(sorted(set(map(str, offers))))
        if offers is not None
        else pd.Index(sorted(transactions["product_id"].astype(str).unique()))
    )
    unknown = products.difference(catalog["product_id"].astype(str))
    if len(unknown):
        raise ValueError(f"offers: product id(s) not in the catalog: {list(unknown[:10])}")
    alts = pd.Index([NO_PURCHASE, *products, *b["bundle_id"]])
    is_offer = occ["alt"].isin(alts)
    n_dropped = int((~is_offer).sum())
    occ = occ[is_offer].assign(chosen_alt=lambda d: d["alt"])
    return occ, products, b, alts, n_dropped


def _n_no_purchase(n_purchase: int, purchase_share: float) -> int:
    """``round(n_purchase (1 - s) / s)``: the market-size assumption."""
    return int(round(n_purchase * (1.0 - float(purchase_share)) / float(purchase_share)))


def no_purchase_draws(
    n_purchase: int, purchase_share: float, random_state: int, chunk: int = 1_000_000
) -> np.ndarray:
    """How many no-purchase occasions copy each purchase occasion: the counts of
    ``rng.integers(0, n_purchase, n_none)``, drawn in chunks (the same stream as one draw,
    without an ``n_none``-long array)."""
    n_none = _n_no_purchase(n_purchase, purchase_share)
    rng = np.random.default_rng(random_state)
    counts = np.zeros(n_purchase, dtype=np.int64)
    left = n_none if n_purchase else 0
    while left > 0:
        k = min(chunk, left)
        counts += np.bincount(rng.integers(0, n_purchase, k), minlength=n_purchase)
        left -= k
    return counts


def _visits_without_order(sessions: pd.DataFrame) -> pd.DataFrame:
    has_order = (
        sessions["order_id"].notna()
        if "order_id" in sessions
        else pd.Series(False, index=sessions.index)
    )
    return sessions[~has_order.to_numpy()]


def _no_purchase_occasions(
    occ: pd.DataFrame,
    sessions: pd.DataFrame | None,
    purchase_share: float | None,
    random_state: int,
) -> pd.DataFrame:
    """One row per no-purchase occasion: ``obs``, ``customer``, ``timestamp``,
    ``chosen_alt`` (:data:`NO_PURCHASE`), ``price`` (0)."""
    if sessions is not None:
        none = _visits_without_order(sessions)
        none_occ = pd.DataFrame(
            {
                "obs": "visit:" + none["session_id"].astype(str),
                "customer": none["customer_id"].astype(str).to_numpy(),
                "timestamp": none["timestamp"].to_numpy(),
            }
        )
    else:
        n_none = _n_no_purchase(len(occ), purchase_share)  # type: ignore[arg-type]
        rng = np.random.default_rng(random_state)
        src = occ.iloc[rng.integers(0, len(occ), n_none)] if len(occ) else occ.iloc[:0]
        none_occ = pd.DataFrame(
            {
                "obs": [f"none:{i}" for i in range(n_none)],
                "customer": src["customer"].to_numpy(),
                "timestamp": src["timestamp"].to_numpy(),
            }
        )
    return none_occ.assign(chosen_alt=NO_PURCHASE, price=0.0)


def _listed_prices(
    transactions: pd.DataFrame,
    catalog: pd.DataFrame,
    products: pd.Index,
    b: pd.DataFrame,
    periods: pd.PeriodIndex,
    prices: pd.DataFrame | None,
    availability: str,
    period: str,
) -> tuple[np.ndarray, np.ndarray]:
    """(periods, alternatives) listed prices and availability; no-purchase first (price 0)."""
    list_price = catalog.assign(product_id=catalog["product_id"].astype(str)).set_index(
        "product_id"
    )["list_price"]
    # price table over the offered products and every bundle component (items)
    comp_ids = sorted({p for comps in b["components"] for p in comps})
    items = products.append(pd.Index(comp_ids).difference(products))
    unknown = items.difference(list_price.index)
    if len(unknown):
        raise ValueError(f"bundles: component id(s) not in the catalog: {list(unknown[:10])}")
    base = np.broadcast_to(
        list_price.reindex(items).to_numpy(dtype=float), (len(periods), len(items))
    )
    if prices is not None:
        missing = [c for c in ("date", "product_id", "price") if c not in prices.columns]
        if missing:
            raise ValueError(f"prices: missing column(s) {missing}")
        pr = prices.assign(
            _per=pd.to_datetime(prices["date"]).dt.to_period(period),
            product_id=prices["product_id"].astype(str),
        )
        if "available" in pr:
            pr = pr[pr["available"].astype(bool)]
        tab = pr.pivot_table(index="_per", columns="product_id", values="price", aggfunc="median")
        tab = tab.reindex(index=periods, columns=items)
        listed = tab.to_numpy(dtype=float)
        avail = np.isfinite(listed)
        listed = np.where(avail, listed, base)
    else:
        tx = transactions.assign(
            _per=transactions["timestamp"].dt.to_period(period),
            product_id=transactions["product_id"].astype(str),
        )
        tab = tx.pivot_table(
            index="_per", columns="product_id", values="unit_price", aggfunc="median"
        )
        tab = tab.reindex(index=periods, columns=items).to_numpy(dtype=float)
        sold = np.isfinite(tab)
        listed = np.where(sold, tab, base)
        avail = np.ones_like(sold) if availability == "always" else sold
    if len(b):
        idx = [items.get_indexer(list(comps)) for comps in b["components"]]
        b_price = np.column_stack(
            [listed[:, ix].sum(axis=1) * r for ix, r in zip(idx, b["ratio"], strict=True)]
        )
        b_avail = np.column_stack([avail[:, ix].all(axis=1) for ix in idx])
        listed = np.hstack([listed[:, : len(products)], b_price])
        avail = np.hstack([avail[:, : len(products)], b_avail])
    else:
        listed, avail = listed[:, : len(products)], avail[:, : len(products)]
    listed = np.hstack([np.zeros((len(periods), 1)), listed])
    avail = np.hstack([np.ones((len(periods), 1), bool), avail])
    return listed, avail


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
    nor with ``1 / purchase_share``.
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
