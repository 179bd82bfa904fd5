"""A simulated bundle market with a non-linear truth, for tests and benchmarks.

Products ``i = 0..P-1`` belong to two categories (alternating); every pair of products is a
bundle. A customer with income ``z ~ N(0, 1)`` choosing among no purchase (utility 0) and
the offers on the menu has utilities::

    beta(z)   = -(beta_low + (beta_high - beta_low) * sigmoid(2 z))    price sensitivity
    d(z)      = taste * z                                              taste for buying
    g(i, j)   = complementarity  if i, j are in different categories   (e.g. shirt + trousers)
                substitution     if in the same category               (two shirts)
    V(o)      = sum_{i in o} a_i + sum_{pairs in o} g + d(z) |o| + beta(z) p(o) + Gumbel noise

so the price coefficient is a non-linear function of a customer feature and a bundle is
worth more (or less) than its parts by a rule of its components' features. Prices vary
across occasions around each product's list price (bundles: a discount on the sum of
their components' list prices), so the price response is identified. Bundles in
``hidden`` are never on a menu: a model that scores them must do so from their components.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from bundleopt.alternatives import NO_PURCHASE


@dataclass(frozen=True)
class BundleMarketTruth:
    """The generating model: products (``category``, ``intercept``, ``list_price``, ``cost``),
    bundle components, true pair interactions and the price/taste curves' constants."""

    products: pd.DataFrame
    components: dict
    interaction: pd.Series  # per bundle id
    hidden: tuple
    beta_low: float
    beta_high: float
    taste: float

    def beta(self, z: np.ndarray) -> np.ndarray:
        return -(self.beta_low + (self.beta_high - self.beta_low) / (1.0 + np.exp(-2.0 * np.asarray(z))))

    def offer_value(self, offer) -> float:
        """``sum a_i + g``: an offer's utility at price 0 for a customer with ``d = 0``."""
        comp = self.components[offer]
        return float(self.products.loc[list(comp), "intercept"].sum() + self.interaction.get(offer, 0.0))

    def scenario(self, offers: Sequence, prices: np.ndarray, n_customers: int = 4000, seed: int = 99,
                 **kwargs):
        """The truth as a :class:`~bundleopt.scenario.Scenario`: ``n_customers`` sampled
        customers as equally weighted segments (``kwargs``: ``max_offers``, ``constraints``...)."""
        from bundleopt.scenario import Scenario

        z = np.random.default_rng(seed).standard_normal(n_customers)
        u = np.array([self.offer_value(o) for o in offers])
        size = np.array([len(self.components[o]) for o in offers])
        V = (u[None, :, None] + (self.taste * z)[:, None, None] * size[None, :, None]
             + self.beta(z)[:, None, None] * np.asarray(prices, dtype=float)[None])
        costs = np.array([self.products.loc[list(self.components[o]), "cost"].sum() for o in offers])
        return Scenario.from_arrays(np.where(np.isnan(V), 0.0, np.exp(np.nan_to_num(V))), np.ones(n_customers),
                                    prices, costs, np.full(n_customers, 1.0 / n_customers), offer_ids=list(offers),
                                    components=[self.components[o] for o in offers], **kwargs)


def simulate_bundle_market(n_obs: int = 3000, n_products: int = 6, hidden: Sequence[int] | int = 3,
                           complementarity: float = 1.0, substitution: float = -1.0,
                           beta_low: float = 0.4, beta_high: float = 2.0, taste: float = 0.3,
                           bundle_share: float = 0.6, seed: int = 0) -> tuple[pd.DataFrame, BundleMarketTruth]:
    """Long-format choices (``obs, alt, chosen, price, income``; no purchase is :data:`bundleopt.alternatives.NO_PURCHASE`,
    products ``"p1".."pP"`` and bundles ``"p<i>+p<j>"``) and the truth.

    Each occasion offers every product and each visible bundle with probability
    ``bundle_share``, at prices ``list * U(0.7, 1.3)`` (bundles: ``sum of lists * U(0.6, 1.0)``).
    ``hidden``: how many bundles (chosen at random, at least one of each kind of pair
    when possible) never appear, or their ids.
    """
    rng = np.random.default_rng(seed)
    ids = [f"p{i}" for i in range(1, n_products + 1)]
    products = pd.DataFrame({"category": [i % 2 for i in range(n_products)],
                             "intercept": rng.normal(-0.5, 0.4, n_products),
                             "list_price": rng.uniform(1.0, 2.0, n_products)}, index=pd.Index(ids, name="product"))
    products["cost"] = 0.5 * products["list_price"]
    components: dict = {i: (i,) for i in ids}
    interaction = {}
    for i, j in combinations(ids, 2):
        b = f"{i}+{j}"
        components[b] = (i, j)
        same = products.loc[i, "category"] == products.loc[j, "category"]
        interaction[b] = substitution if same else complementarity
    bundles = [b for b in components if len(components[b]) > 1]
    if isinstance(hidden, int):
        order = list(rng.permutation(bundles))
        kinds = [interaction[b] > 0 for b in order]
        first = [order[kinds.index(k)] for k in (True, False) if k in kinds][: hidden]
        hidden_ids = tuple(first + [b for b in order if b not in first][: max(hidden - len(first), 0)])
    else:
        hidden_ids = tuple(hidden)
    truth = BundleMarketTruth(products, components, pd.Series(interaction), hidden_ids, beta_low, beta_high, taste)
    visible = [o for o in components if o not in hidden_ids]
    z = rng.standard_normal(n_obs)
    beta = truth.beta(z)
    value = np.array([truth.offer_value(o) for o in visible])
    size = np.array([len(components[o]) for o in visible])
    lists = np.array([products.loc[list(components[o]), "list_price"].sum() for o in visible])
    factor = np.where(size > 1, rng.uniform(0.6, 1.0, (n_obs, len(visible))), rng.uniform(0.7, 1.3, (n_obs, len(visible))))
    price = lists[None, :] * factor
    on = (size[None, :] == 1) | (rng.random((n_obs, len(visible))) < bundle_share)
    V = value[None, :] + taste * z[:, None] * size[None, :] + beta[:, None] * price
    V = np.where(on, V + rng.gumbel(size=V.shape), -np.inf)
    best = np.concatenate([rng.gumbel(size=(n_obs, 1)), V], axis=1).argmax(axis=1)  # 0: no purchase
    alts = np.array([NO_PURCHASE, *visible], dtype=object)
    keep = np.concatenate([np.ones((n_obs, 1), bool), on], axis=1)
    n_idx, j_idx = np.nonzero(keep)
    prices = np.concatenate([np.zeros((n_obs, 1)), price], axis=1)
    df = pd.DataFrame({"obs": n_idx, "alt": alts[j_idx], "chosen": (best[n_idx] == j_idx).astype(int),
                       "price": prices[n_idx, j_idx], "income": z[n_idx]})
    return df, truth
