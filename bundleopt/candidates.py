"""Bundle candidates from co-purchase: frequent itemsets (FP-growth) filtered by support, confidence, lift.

A basket is the set of products of one order. FP-growth (``mlxtend``) finds the
itemsets bought together in at least ``min_support`` of the baskets;
``association_rules`` gives, for each itemset, the confidence and lift of every
rule ``A -> B`` with ``A | B`` the itemset. A candidate keeps the best (largest)
confidence and lift over its rules and must pass ``min_confidence`` and
``min_lift``. For a pair ``{a, b}`` the lift is
``supp(ab) / (supp(a) supp(b))`` whichever way the rule is read.

Each candidate carries its components (sorted tuple of product ids), its cost
(sum of component unit costs), its list price (sum of component list prices,
times ``1 - discount``), and its support, confidence and lift.

A fixed share of baskets is a poor default: in grocery data with tens of thousands of
small baskets the most frequent pair is in under 1 % of them (Ta-Feng's 200 best
sellers: 700 of 77,222 baskets, 0.91 %, with lift 35), so ``min_support = 0.01`` finds
nothing. :func:`choose_min_support` reads the threshold from the data instead: the
basket count of the ``top_pairs``-th most frequent pair, and never fewer than
``min_count`` baskets, so that only pairs seen often enough for their lift to mean
something are considered (deterministic: counts, ties included).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from mlxtend.frequent_patterns import association_rules, fpgrowth

__all__ = ["CANDIDATE_COLUMNS", "SupportChoice", "basket_matrix", "bundle_id", "choose_min_support", "mine_bundles",
           "pair_counts"]

CANDIDATE_COLUMNS = [
    "bundle_id",
    "components",
    "size",
    "support",
    "count",
    "confidence",
    "lift",
    "cost",
    "components_price",
    "list_price",
    "segment",
]


def bundle_id(components: tuple[str, ...], taken: Collection[str] = ()) -> str:
    """The id of a bundle: ``"+"``-joined sorted component ids, made distinct from ``taken``.

    A product may be called ``"a+b"`` itself; a bundle id must never equal a product
    id (offers and choice alternatives are looked up by id), so a bundle whose plain
    id is ``taken`` (the catalog's product ids) becomes ``"a+b#bundle"`` (then
    ``"a+b#bundle2"``, ...).

    >>> bundle_id(("b", "a"))
    'a+b'
    >>> bundle_id(("b", "a"), taken={"a+b"})
    'a+b#bundle'
    """
    base = "+".join(sorted(map(str, components)))
    out, k = base, 1
    while out in taken:
        out = f"{base}#bundle{k if k > 1 else ''}"
        k += 1
    return out


def basket_matrix(
    transactions: pd.DataFrame, *, min_support: float = 0.0, basket: str = "order_id"
) -> pd.DataFrame:
    """One-hot baskets (rows: ``basket`` ids, columns: product ids, bool).

    Products bought in fewer than ``min_support`` of the baskets are left out:
    they cannot be in a frequent itemset, and dropping them keeps the matrix small.
    Every basket stays a row, so supports keep the full basket count as denominator.
    """
    pairs = transactions[[basket, "product_id"]].drop_duplicates()
    n_baskets = pairs[basket].nunique()
    item_support = pairs["product_id"].value_counts() / max(n_baskets, 1)
    keep = item_support.index[item_support >= min_support]
    codes_b, baskets = pd.factorize(pairs[basket], sort=True)
    sub = pairs["product_id"].isin(keep).to_numpy()
    items = pd.Index(sorted(keep))
    mat = np.zeros((n_baskets, len(items)), dtype=bool)
    mat[codes_b[sub], items.get_indexer(pairs["product_id"].to_numpy()[sub])] = True
    return pd.DataFrame(mat, index=pd.Index(baskets, name=basket), columns=items)


def pair_counts(transactions: pd.DataFrame, *, basket: str = "order_id") -> tuple[np.ndarray, int]:
    """The basket count of every pair of products bought together at least once (unordered,
    descending), and the number of baskets: ``X^T X`` of the sparse basket x product matrix."""
    from scipy import sparse

    pairs = transactions[[basket, "product_id"]].drop_duplicates()
    b_codes, baskets = pd.factorize(pairs[basket])
    p_codes, products = pd.factorize(pairs["product_id"])
    x = sparse.csr_matrix((np.ones(len(pairs), dtype=np.int64), (b_codes, p_codes)),
                          shape=(len(baskets), len(products)))
    co = sparse.triu((x.T @ x).tocsr(), k=1).tocoo()
    return np.sort(co.data[co.data > 0])[::-1], len(baskets)


@dataclass(frozen=True)
class SupportChoice:
    """The support threshold bundle mining used and why.

    ``min_support``: share of baskets; ``min_count``: the same as a basket count
    (``ceil(min_support * n_baskets)``); ``n_baskets``; ``pairs_seen``: pairs bought together
    at least once; ``pairs_considered``: pairs at or above the threshold (what FP-growth
    keeps); ``rule``: how the threshold was chosen, in words.
    """

    min_support: float
    min_count: int
    n_baskets: int
    pairs_seen: int
    pairs_considered: int
    rule: str


def choose_min_support(transactions: pd.DataFrame, *, min_support: float | None = None, top_pairs: int = 100,
                       min_count: int = 20, basket: str = "order_id") -> SupportChoice:
    """The support threshold for :func:`mine_bundles` (module docstring).

    ``min_support`` given: that share of baskets. Otherwise the basket count of the
    ``top_pairs``-th most frequent pair, but at least ``min_count`` baskets (all pairs when
    fewer exist): ``min_support = count / n_baskets``.

    >>> tx = pd.DataFrame({"order_id": [1, 1, 2, 2, 3, 3, 3], "product_id": list("abababc")})
    >>> choose_min_support(tx, top_pairs=1, min_count=1).min_count
    3
    """
    counts, n = pair_counts(transactions, basket=basket)
    if n == 0:
        raise ValueError("choose_min_support: no baskets")
    if min_support is not None:
        need = max(1, int(np.ceil(min_support * n - 1e-9)))
        rule = f"min_support {min_support:g} given: at least {need:,} of {n:,} baskets"
    else:
        if top_pairs < 1 or min_count < 1:
            raise ValueError(f"top_pairs and min_count must be >= 1, got {top_pairs} and {min_count}")
        kth = int(counts[top_pairs - 1]) if len(counts) >= top_pairs else 0
        need = max(min_count, kth)
        rule = (f"chosen from the data: pairs bought together in at least {need:,} of {n:,} baskets "
                f"(support {need / n:.3%}: the smallest count among the {top_pairs:,} most frequent pairs, "
                + (f"{kth:,}" if kth else f"none (only {len(counts):,} pairs)") + f"; at least {min_count:,} baskets)")
    considered = int((counts >= need).sum())
    return SupportChoice(min_support=min_support if min_support is not None else need / n, min_count=need,
                         n_baskets=n, pairs_seen=len(counts), pairs_considered=considered,
                         rule=f"{rule}; {considered:,} of {len(counts):,} pairs bought together reach it")


def _mine_one(
    onehot: pd.DataFrame,
    *,
    min_support: float,
    min_confidence: float,
    min_lift: float,
    min_size: int,
    max_size: int,
) -> pd.DataFrame:
    cols = ["components", "support", "count", "confidence", "lift"]
    if onehot.shape[1] < min_size or len(onehot) == 0:
        return pd.DataFrame(columns=cols)
    itemsets = fpgrowth(onehot, min_support=min_support, use_colnames=True, max_len=max_size)
    if itemsets.empty or (itemsets["itemsets"].map(len) < 2).all():
        return pd.DataFrame(columns=cols)
    rules = association_rules(
        itemsets, num_itemsets=len(onehot), metric="support", min_threshold=0.0
    )
    rules = rules.assign(
        components=[
            tuple(sorted(a | c))
            for a, c in zip(rules["antecedents"], rules["consequents"], strict=True)
        ]
    )
    best = rules.groupby("components", sort=False).agg(
        support=("support", "first"), confidence=("confidence", "max"), lift=("lift", "max")
    )
    best = best.reset_index()
    best["count"] = np.rint(best["support"] * len(onehot)).astype(int)
    size = best["components"].map(len)
    keep = (
        (size >= min_size)
        & (size <= max_size)
        & (best["confidence"] >= min_confidence)
        & (best["lift"] >= min_lift)
    )
    return best.loc[keep, cols]


def mine_bundles(
    transactions: pd.DataFrame,
    catalog: pd.DataFrame,
    *,
    min_support: float = 0.01,
    min_confidence: float = 0.0,
    min_lift: float = 1.0,
    min_size: int = 2,
    max_size: int = 3,
    discount: float = 0.0,
    segments: pd.Series | Mapping[str, object] | None = None,
    basket: str = "order_id",
    max_candidates: int | None = None,
) -> pd.DataFrame:
    """Bundle candidates from baskets, best lift first.

    Parameters
    ----------
    transactions, catalog : validated frames (see :func:`bundleopt.data.validate`).
    min_support : fraction of baskets (within a segment when mining per segment).
    min_confidence, min_lift : thresholds on the best rule of the itemset.
    min_size, max_size : number of products in a bundle (``2 <= min_size <= max_size``).
    discount : bundle list price = ``(1 - discount) * sum of component list prices``.
    segments : ``customer_id -> segment``; when given, mining runs per segment on
        that segment's baskets and the ``segment`` column says which (a bundle can
        appear once per segment). Customers without a segment are left out.
        Otherwise ``segment`` is ``None``.
    basket : the column that groups lines into baskets.
    max_candidates : keep the best ones by lift (then support), per segment.

    Returns
    -------
    DataFrame with columns :data:`CANDIDATE_COLUMNS`: ``bundle_id``,
    ``components`` (sorted tuple of product ids), ``size``, ``support``,
    ``count`` (baskets holding them all), ``confidence``, ``lift``, ``cost``,
    ``components_price`` (sum of list prices), ``list_price``, ``segment``.

    >>> tx = pd.DataFrame({"order_id": [1, 1, 2, 2, 3, 4],
    ...                    "product_id": ["a", "b", "a", "b", "c", "c"]})
    >>> cat = pd.DataFrame({"product_id": ["a", "b", "c"], "unit_cost": [1.0, 2.0, 1.0],
    ...                     "list_price": [2.0, 3.0, 2.0]})
    >>> mine_bundles(tx, cat, min_support=0.5)[["bundle_id", "support", "lift", "cost", "list_price"]]
      bundle_id  support  lift  cost  list_price
    0       a+b      0.5   2.0   3.0         5.0
    """
    if not 2 <= min_size <= max_size:
        raise ValueError(
            f"need 2 <= min_size <= max_size, got min_size={min_size}, max_size={max_size}"
        )
    if not 0 < min_support <= 1:
        raise ValueError(f"min_support must be in (0, 1], got {min_support}")
    if not 0 <= discount < 1:
        raise ValueError(f"discount must be in [0, 1), got {discount}")
    missing = [c for c in (basket, "product_id") if c not in transactions.columns]
    missing += [
        f"catalog.{c}"
        for c in ("product_id", "unit_cost", "list_price")
        if c not in catalog.columns
    ]
    if missing:
        raise ValueError(f"mine_bundles: missing column(s) {missing}")

    mine = {
        "min_support": min_support,
        "min_confidence": min_confidence,
        "min_lift": min_lift,
        "min_size": min_size,
        "max_size": max_size,
    }
    if segments is None:
        groups: list[tuple[object, pd.DataFrame]] = [(None, transactions)]
    else:
        seg = pd.Series(segments) if not isinstance(segments, pd.Series) else segments
        seg = seg.copy()
        seg.index = seg.index.astype(str)
        tx_seg = transactions["customer_id"].astype(str).map(seg)
        groups = [(s, transactions[tx_seg == s]) for s in pd.unique(tx_seg.dropna())]
        groups.sort(key=lambda g: str(g[0]))

    parts = []
    for seg_label, tx in groups:
        found = _mine_one(basket_matrix(tx, min_support=min_support, basket=basket), **mine)
        found = found.assign(segment=seg_label)
        found = found.sort_values(["lift", "support"], ascending=False, kind="stable")
        if max_candidates is not None:
            found = found.head(max_candidates)
        parts.append(found)
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if out.empty:
        return pd.DataFrame(columns=CANDIDATE_COLUMNS)

    cat = catalog.assign(product_id=catalog["product_id"].astype(str)).set_index("product_id")
    unit_cost = cat["unit_cost"].to_dict()
    price = cat["list_price"].to_dict()
    comps = out["components"].map(lambda c: tuple(map(str, c)))
    unknown = sorted({p for c in comps for p in c if p not in price})
    if unknown:
        raise ValueError(f"mine_bundles: product id(s) not in the catalog: {unknown[:10]}")
    out["components"] = comps
    taken = set(cat.index)
    out["bundle_id"] = comps.map(lambda c: bundle_id(c, taken))
    out["size"] = comps.map(len)
    out["cost"] = comps.map(lambda c: float(sum(unit_cost[p] for p in c)))
    out["components_price"] = comps.map(lambda c: float(sum(price[p] for p in c)))
    out["list_price"] = (1.0 - discount) * out["components_price"]
    out = out.sort_values(
        ["segment", "lift", "support"], ascending=[True, False, False], kind="stable"
    )
    return out[CANDIDATE_COLUMNS].reset_index(drop=True)
