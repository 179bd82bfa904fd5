"""Choice occasions from transactions (``formulations/choice_data.md``): each order split
into purchase occasions (bundles matched greedily, largest first; each remaining line one
occasion), and the no-purchase occasions, from visits without an order or from the
market-size assumption ``purchase_share`` (``round(n_purchase (1 - s) / s)`` occasions,
each copying a purchase occasion drawn at random)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from bundleopt.data.schemas import NO_PURCHASE

__all__ = ["no_purchase_draws", "purchase_occasions"]


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
