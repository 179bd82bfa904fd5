"""Synthetic shops with a known ground truth: :func:`make_market`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Market", "MarketTruth", "make_market"]


@dataclass(frozen=True)
class MarketTruth:
    """The parameters that generated a :class:`Market`.

    Attributes
    ----------
    segment_weights : (S,) share of customers in each segment.
    asc : DataFrame (segments x product_id), alternative-specific constants ``a[s, j]``.
    beta : (S,) price coefficients, all < 0 (utility ``a[s, j] + beta[s] * price``).
    synergy : Series indexed by planted pairs ``(j, k)`` (j < k), the extra utility
        ``gamma[j, k] > 0`` of buying both together.
    favourite_category : (S,) the category each segment likes most.
    visit_rate : (S,) mean number of visits per customer of each segment.
    alpha : (S,) purchase propensity, included in ``asc`` (once in a pair's utility).
    """

    segment_weights: np.ndarray
    asc: pd.DataFrame
    beta: np.ndarray
    synergy: pd.Series
    favourite_category: tuple[str, ...]
    visit_rate: np.ndarray
    alpha: np.ndarray

    @property
    def planted_pairs(self) -> list[tuple[str, str]]:
        """The complementary pairs, as sorted tuples of product ids."""
        return list(self.synergy.index)


@dataclass(frozen=True)
class Market:
    """A synthetic shop: tables in :mod:`bundleopt.data`'s schema plus the truth.

    Attributes
    ----------
    catalog : product_id, unit_cost, list_price, category, stock.
    customers : customer_id, segment (the true segment, 0..S-1).
    transactions : order_id, customer_id, timestamp, product_id, quantity, unit_price.
    sessions : session_id, customer_id, timestamp, order_id (NaN = visit without purchase).
    prices : date, product_id, price (the shelf price each day, promotions included).
    truth : :class:`MarketTruth`.
    """

    catalog: pd.DataFrame
    customers: pd.DataFrame
    transactions: pd.DataFrame
    sessions: pd.DataFrame
    prices: pd.DataFrame
    truth: MarketTruth


def make_market(
    seed: int = 0,
    *,
    n_products: int = 20,
    n_customers: int = 600,
    n_segments: int = 3,
    n_categories: int | None = None,
    n_pairs: int = 3,
    n_days: int = 60,
    mean_visits: tuple[float, float] = (8.0, 20.0),
    beta_range: tuple[float, float] = (0.15, 0.6),
    taste_strength: float = 3.0,
    synergy_range: tuple[float, float] = (2.5, 3.5),
    purchase_share: float = 0.6,
    promo_rate: float = 0.15,
    extra_item_rate: float = 0.3,
    start: str = "2024-01-01",
) -> Market:
    """Simulate a shop whose customers choose by a latent-class MNL with bundle synergies.

    Generative model (all draws from ``numpy.random.default_rng(seed)``):

    1. **Catalog.** Product ``j`` (id ``"P000"``...) is in category ``j mod C``
       (``C = n_categories``, default ``n_segments + 1``); unit cost
       ``c_j ~ U(2, 10)``, list price ``p_j = c_j * U(1.3, 1.8)`` (2 decimals),
       stock proportional to the expected demand.
    2. **Segments.** Weights ``w ~ Dirichlet(5)``; price coefficient
       ``beta_s = -U(beta_range)``; segment ``s`` prefers category ``s mod C``.
       Constants ``a[s, j] = alpha_s + taste_strength * 1[cat(j) = fav(s)] + e_j + e_sj``,
       ``e ~ N(0, 0.5^2)``; the purchase propensity ``alpha_s`` is set so that at
       list prices a visit ends in a purchase with probability ``purchase_share``.
    3. **Complementary pairs.** ``n_pairs`` disjoint product pairs ``(j, k)`` get a
       synergy ``gamma_jk ~ U(synergy_range)``.
    4. **Prices.** Each day each product is on promotion with probability
       ``promo_rate``, at 10, 20 or 30 % off its list price.
    5. **Visits (sessions).** Customer ``i`` of segment ``s`` (drawn with ``w``)
       visits ``1 + Poisson(m_s - 1)`` times, ``m_s ~ U(mean_visits)``, on uniform
       days and times. At a visit on day ``d`` the customer picks one alternative by
       MNL (Gumbel max) among: no purchase (utility 0 + noise), product ``j``
       (``a[s, j] + beta_s * p_jd``) or planted pair ``(j, k)`` bought together
       (``a[s, j] + a[s, k] - alpha_s + gamma_jk + beta_s * (p_jd + p_kd)``: the
       propensity ``alpha_s`` counts once per purchase).
    6. **Extra items.** After a purchase, with probability ``extra_item_rate`` one
       more single product is drawn from the same segment's MNL without the
       no-purchase option (an unrelated co-purchase, so mining must use lift).
       Quantities are ``1 + Poisson(0.2)``; the unit price paid is the day's price.

    Visits that end without a purchase stay in ``sessions`` with no ``order_id``,
    so choice data can be built from sessions (see :mod:`bundleopt.data.choice_data`).

    >>> m = make_market(seed=1, n_customers=50)
    >>> sorted(m.transactions.columns)
    ['customer_id', 'order_id', 'product_id', 'quantity', 'timestamp', 'unit_price']
    >>> bool((m.truth.beta < 0).all())
    True
    """
    if n_segments < 1 or n_products < 2 or n_customers < 1 or n_days < 1:
        raise ValueError("need n_segments >= 1, n_products >= 2, n_customers >= 1, n_days >= 1")
    if not 0 < purchase_share < 1:
        raise ValueError(f"purchase_share must be in (0, 1), got {purchase_share}")
    if 2 * n_pairs > n_products:
        raise ValueError(f"n_pairs={n_pairs} disjoint pairs need at least {2 * n_pairs} products")
    rng = np.random.default_rng(seed)
    n_cat = n_categories or n_segments + 1

    # 1. catalog
    pid = np.array([f"P{j:03d}" for j in range(n_products)], dtype=object)
    cats = np.array([f"C{j % n_cat}" for j in range(n_products)], dtype=object)
    cost = np.round(rng.uniform(2.0, 10.0, n_products), 2)
    list_price = np.round(cost * rng.uniform(1.3, 1.8, n_products), 2)

    # 2. segments
    weights = rng.dirichlet(np.full(n_segments, 5.0))
    beta = -rng.uniform(*beta_range, n_segments)
    fav = np.arange(n_segments) % n_cat
    cat_idx = np.arange(n_products) % n_cat
    base = rng.normal(0.0, 0.5, n_products)
    taste = (
        taste_strength * (cat_idx[None, :] == fav[:, None])
        + base
        + rng.normal(0, 0.5, (n_segments, n_products))
    )

    # 3. planted complementary pairs
    perm = rng.permutation(n_products)[: 2 * n_pairs].reshape(n_pairs, 2)
    perm.sort(axis=1)
    pairs = [(pid[j], pid[k]) for j, k in perm]
    gamma = rng.uniform(*synergy_range, n_pairs)

    def utilities(taste_rows: np.ndarray, prices: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Utilities net of alpha_s of [singles..., pairs...] for rows of segment s (rows x J prices)."""
        single = taste_rows + beta[s][:, None] * prices
        pair = single[:, perm[:, 0]] + single[:, perm[:, 1]] + gamma[None, :]
        return np.concatenate([single, pair], axis=1)

    # calibrate alpha_s (counted once per alternative): P(purchase) at list prices = purchase_share
    segs = np.arange(n_segments)
    u0 = utilities(taste, np.broadcast_to(list_price, (n_segments, n_products)), segs)
    odds = purchase_share / (1 - purchase_share)
    alpha = np.log(odds) - np.log(np.exp(u0).sum(axis=1))
    asc = taste + alpha[:, None]

    # 4. daily prices
    promo = rng.random((n_days, n_products)) < promo_rate
    disc = rng.choice([0.1, 0.2, 0.3], size=(n_days, n_products))
    day_price = np.round(list_price[None, :] * np.where(promo, 1 - disc, 1.0), 2)
    dates = pd.date_range(start, periods=n_days, freq="D")

    # 5. customers and visits
    cust_seg = rng.choice(n_segments, size=n_customers, p=weights)
    rate = rng.uniform(*mean_visits, n_segments)
    n_vis = 1 + rng.poisson(rate[cust_seg] - 1)
    v_cust = np.repeat(np.arange(n_customers), n_vis)
    v_seg = cust_seg[v_cust]
    n_v = len(v_cust)
    v_day = rng.integers(0, n_days, n_v)
    v_time = dates[v_day] + pd.to_timedelta(rng.uniform(8, 20, n_v), unit="h").round("s")
    order_visits = np.argsort(v_time.to_numpy(), kind="stable")
    v_cust, v_seg, v_day, v_time = (
        v_cust[order_visits],
        v_seg[order_visits],
        v_day[order_visits],
        v_time[order_visits],
    )

    prices = day_price[v_day]
    u = utilities(taste[v_seg], prices, v_seg) + alpha[v_seg][:, None]
    u_all = np.concatenate([np.zeros((n_v, 1)), u], axis=1)
    pick = np.argmax(u_all + rng.gumbel(size=u_all.shape), axis=1)  # 0 = none

    # 6. extra unrelated item after a purchase
    single_u = u[:, :n_products]
    extra = np.argmax(single_u + rng.gumbel(size=single_u.shape), axis=1)
    has_extra = (pick > 0) & (rng.random(n_v) < extra_item_rate)

    bought = pick > 0
    visit_ids = np.array([f"S{i:06d}" for i in range(n_v)], dtype=object)
    order_ids = np.where(
        bought, np.char.add("O", np.char.zfill(np.arange(n_v).astype(str), 6)), None
    )
    cust_ids = np.array([f"U{i:05d}" for i in range(n_customers)], dtype=object)

    lines_v, lines_p = [], []
    single_pick = bought & (pick <= n_products)
    lines_v.append(np.flatnonzero(single_pick))
    lines_p.append(pick[single_pick] - 1)
    pair_pick = pick > n_products
    for col in (0, 1):
        lines_v.append(np.flatnonzero(pair_pick))
        lines_p.append(perm[pick[pair_pick] - 1 - n_products, col])
    lines_v.append(np.flatnonzero(has_extra))
    lines_p.append(extra[has_extra])
    lv = np.concatenate(lines_v)
    lp = np.concatenate(lines_p)
    lines = pd.DataFrame(
        {
            "order_id": order_ids[lv],
            "customer_id": cust_ids[v_cust[lv]],
            "timestamp": v_time[lv],
            "product_id": pid[lp],
            "quantity": 1.0 + rng.poisson(0.2, len(lv)),
            "unit_price": day_price[v_day[lv], lp],
        }
    )
    # an extra item equal to one already in the basket adds to its quantity
    tx = (
        lines.groupby(
            ["order_id", "customer_id", "timestamp", "product_id", "unit_price"],
            as_index=False,
            sort=False,
        )["quantity"]
        .sum()
        .sort_values(["timestamp", "order_id", "product_id"], kind="stable")
        .reset_index(drop=True)[
            ["order_id", "customer_id", "timestamp", "product_id", "quantity", "unit_price"]
        ]
    )

    units = tx.groupby("product_id")["quantity"].sum().reindex(pid, fill_value=0).to_numpy()
    stock = np.ceil(units * rng.uniform(1.2, 2.0, n_products)).astype(int) + 10
    catalog = pd.DataFrame(
        {
            "product_id": pid,
            "unit_cost": cost,
            "list_price": list_price,
            "category": cats,
            "stock": stock,
        }
    )
    customers = pd.DataFrame({"customer_id": cust_ids, "segment": cust_seg})
    sessions = pd.DataFrame(
        {
            "session_id": visit_ids,
            "customer_id": cust_ids[v_cust],
            "timestamp": v_time,
            "order_id": order_ids,
        }
    )
    price_table = pd.DataFrame(
        {
            "date": np.repeat(dates, n_products),
            "product_id": np.tile(pid, n_days),
            "price": day_price.ravel(),
        }
    )
    truth = MarketTruth(
        segment_weights=weights,
        asc=pd.DataFrame(
            asc,
            index=pd.RangeIndex(n_segments, name="segment"),
            columns=pd.Index(pid, name="product_id"),
        ),
        beta=beta,
        synergy=pd.Series(
            gamma,
            index=pd.MultiIndex.from_tuples(pairs, names=["product_a", "product_b"]),
            name="synergy",
        ),
        favourite_category=tuple(f"C{f}" for f in fav),
        visit_rate=rate,
        alpha=alpha,
    )
    return Market(catalog, customers, tx, sessions, price_table, truth)
