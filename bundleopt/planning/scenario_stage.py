"""Stage 6 of the planner: the :class:`~bundleopt.scenario.Scenario` the optimiser solves.

Offers are the products and the candidate bundles (a bundle's list price and cost are
its components' sums); prices are ``ladder[k] * list_price(o)``, rounded to price points
and limited to the allowed change from list; preference weights come from the fitted
models (:mod:`bundleopt.planning.weights`); segment weights are occasion shares and
``market_size`` the number of occasions. The rules are the config's, plus the catalog's
stock (:func:`stock_limits`) and the products kept on sale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from bundleopt.planning.config import PlanConfig
from bundleopt.planning.weights import _bundle_weights
from bundleopt.scenario import Constraints, Scenario

__all__ = ["ScenarioBuild", "make_scenario", "plan_rules", "stock_limits"]


@dataclass(frozen=True)
class ScenarioBuild:
    """The scenario, its offers (ids and components), the products among them and notes."""

    scenario: Scenario
    offer_ids: list[str]
    components: list[tuple[str, ...]]
    products: list[str]
    notes: tuple[str, ...]


def make_scenario(tx: pd.DataFrame, catalog: pd.DataFrame, candidates: pd.DataFrame, models: dict[Any, Any],
                  segment_ids: list[int], occasions: pd.Series, config: PlanConfig) -> ScenarioBuild:
    """The scenario of the plan (module docstring)."""
    from bundleopt.plan_parts import controls

    lad = list(config.ladder)
    products = sorted(set(tx["product_id"].astype(str)))
    cat_i = catalog.set_index("product_id")
    offer_ids = list(products) + list(candidates["bundle_id"])
    components = [(p,) for p in products] + [tuple(c) for c in candidates["components"]]
    list_price = np.array([float(cat_i.loc[list(c), "list_price"].sum()) for c in components])
    costs = np.array([float(cat_i.loc[list(c), "unit_cost"].sum()) for c in components])
    prices = np.outer(list_price, np.asarray(lad))
    list_idx = np.full(len(offer_ids), lad.index(1.0))
    prices = controls.round_to_price_points(prices, list_idx, config.price_points)  # then the limit holds
    prices = controls.limit_price_change(prices, list_idx, components, config.max_price_change)
    notes = []
    losing = [oid for oid, c, p in zip(offer_ids, costs, np.nanmax(prices, axis=1), strict=True) if c >= p]
    if losing:
        notes.append(f"{len(losing)} offer(s) cost more than every price on their ladder "
                     f"(e.g. {losing[:3]}): offering them loses money, so the plan drops them")
    lift = dict(zip(candidates["bundle_id"], candidates["lift"].astype(float), strict=True))
    v = np.stack([_bundle_weights(models[s], offer_ids, components, prices, lift, config.bundle_utility)
                  for s in segment_ids])
    weights = (occasions / occasions.sum()).to_numpy(dtype=float)
    rules, rule_notes = plan_rules(config, catalog, tx, products, has_bundles=bool(len(candidates)))
    try:
        scenario = Scenario.from_arrays(
            v, np.ones(len(segment_ids)), prices, costs, weights, personalised=config.personalised,
            offer_ids=offer_ids, components=components, segment_ids=segment_ids, constraints=rules,
            market_size=float(occasions.sum()), list_level=list_idx,
        )
    except ValueError as exc:
        raise _extrapolation_error(exc, v, models, segment_ids, tx) from exc
    return ScenarioBuild(scenario, offer_ids, components, products, tuple(notes + rule_notes))


def _extrapolation_error(exc: ValueError, v: np.ndarray, models: dict[Any, Any], segment_ids: list[int],
                         tx: pd.DataFrame) -> ValueError:
    """``exc`` with what the fitted models say when their weights at the ladder's prices are
    extreme (purchase odds against not buying beyond double precision): the segment's price
    coefficient, its largest constant and how many days of data it was fitted on."""
    with np.errstate(over="ignore", invalid="ignore"):
        odds = np.nan_to_num(v.max(axis=2).sum(axis=1), nan=np.inf)  # v0 = 1
    extreme = np.flatnonzero(odds > 1e15)  # the scenario's own limit, checked in segment order
    if not extreme.size:
        return exc
    s = int(extreme[0])
    params = models[segment_ids[s]].params_
    asc = params.drop("price", errors="ignore")
    days = int(pd.to_datetime(tx["timestamp"]).dt.normalize().nunique())
    return ValueError(
        f"{exc}. The fitted model of segment {segment_ids[s]!r} extrapolates: price coefficient "
        f"{float(params.get('price', np.nan)):.3g} per currency unit, constants up to {float(asc.abs().max()):.3g}, "
        f"fitted on {days} day(s) of data; demand at the ladder's prices is then beyond what the data "
        "show. Give more days of data in which prices vary, or check the price unit")


def plan_rules(config: PlanConfig, catalog: pd.DataFrame, tx: pd.DataFrame, products: Sequence[str],
               *, has_bundles: bool) -> tuple[Constraints, list[str]]:
    """The config's rules with the data's: the catalog's stock (unless ``constraints`` names
    ``"stock"``: ``{"stock": None}`` ignores it), the products kept on sale, and no
    no-arbitrage rule when there is no bundle (unless asked for by name)."""
    from bundleopt.plan_parts import controls

    rules, notes = config.rules, []
    if "stock" not in config.constraints:
        limits = stock_limits(catalog, tx, products)
        if limits:
            rules = replace(rules, stock=limits)
            notes.append(f"stock: {len(limits)} product(s) limited by the catalog's stock (units over "
                         "a period as long as the data's, divided by the mean units per purchase)")
    rules = replace(rules, **controls.keep_on_sale_rules(list(config.keep_on_sale), products,
                                                         {"must_offer": rules.must_offer}))
    if not has_bundles and rules.min_bundle_discount == 0.0 and "min_bundle_discount" not in config.constraints:
        rules = replace(rules, min_bundle_discount=None)  # no bundle, no arbitrage rule
    return rules, notes


def stock_limits(catalog: pd.DataFrame, transactions: pd.DataFrame,
                 products: Sequence[str]) -> dict[str, float]:
    """The catalog's ``stock`` as the stock rule's limit on each product's expected purchases.

    Units: ``stock`` counts product units available over a period as long as the
    data's (the plan's horizon). The model counts purchases: ``market_size`` is the
    number of choice occasions in the data, and an occasion choosing offer ``o``
    takes one of each of its components, so the stock rule
    (``formulations/rules.md``) bounds
    ``market_size * sum_s w_s * sum_o n[o, j] P_s(o)``, the expected purchases of
    ``j`` per data period. A purchase of ``j`` took on average
    ``q_j = sum of quantities / number of (order, product) lines`` units, so the
    limit handed to the rule is ``stock_j / q_j`` purchases. A missing stock is no
    limit; stock 0 means ``j`` is sold neither alone nor in a bundle.
    """
    if "stock" not in catalog.columns:
        return {}
    stock = catalog.set_index("product_id")["stock"].reindex(list(products)).dropna()
    if stock.empty:
        return {}
    per_line = transactions.groupby(["order_id", "product_id"], sort=False)["quantity"].sum()
    q = per_line.groupby(level="product_id").mean().reindex(stock.index).fillna(1.0)
    return {str(p): float(n / q[p]) for p, n in stock.items()}
