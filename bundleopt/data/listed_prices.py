"""The listed price and availability of every alternative in every period: from a
``prices`` table, else the median unit price paid that period, else the catalog list
price; a bundle's is the sum of its components' times its discount ratio, available
when all its components are (``formulations/choice_data.md``)."""

from __future__ import annotations

import numpy as np
import pandas as pd


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
