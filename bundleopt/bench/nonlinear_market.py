"""A synthetic market with a non-linear truth: each model's plan, scored under the truth.

Part of suite ``end-to-end`` (issue 18, 4c). :func:`bundleopt.datasets.bundle_market.simulate_bundle_market`
draws choices among no purchase, P products and all their pairs as bundles, from a truth
whose price sensitivity is a logistic curve in the customer's income (an interaction
between a customer feature and price) and whose bundles are complements across
categories and substitutes within one. Each model is fitted on the same choices
(``ASC_o + b price`` for the linear ones; :class:`~bundleopt.choice.bundle_net.BundleNet`
with income as customer feature and the category as product feature), scored on a fresh
sample of choices (``test_loglik`` per occasion), and turned into a scenario
(:meth:`bundleopt.Scenario.from_models`: one segment, the classes, or ``n_segments`` draws /
sampled customers) over every offer at 3 price levels (0.8, 1, 1.2 x list price) with at
most ``max_offers`` offers. :func:`bundleopt.solve` optimises each scenario; the plan is
then scored under the truth (:meth:`BundleMarketTruth.scenario`: ``n_truth`` customers):
``true_profit`` and ``vs_truth_plan`` (share of the profit of the plan optimised on the
truth's own ``n_segments``-customer sample, the best a sampled plan can be expected to do).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bundleopt.datasets.bundle_market import NO_PURCHASE, BundleMarketTruth, simulate_bundle_market


def make_models(truth: BundleMarketTruth, n_draws: int = 50, seed: int = 0) -> dict:
    from bundleopt.choice import MNL, LatentClassMNL, MixedLogit, TasteNet
    from bundleopt.choice.bundle_net import BundleNet

    return {
        "MNL": MNL(features=["price"], reference=NO_PURCHASE),
        "LatentClassMNL": LatentClassMNL(n_classes=2, features=["price"], reference=NO_PURCHASE, random_state=seed),
        "MixedLogit": MixedLogit(features=["price"], random={"price": "neg_lognormal"}, reference=NO_PURCHASE,
                                 n_draws=n_draws, seed=seed),
        "TasteNet": TasteNet(features=["price"], customer_features=["income"], reference=NO_PURCHASE,
                             hidden=(8,), learning_rate=0.05, max_epochs=600, patience=30, seed=seed),
        "BundleNet": BundleNet(components=truth.components, product_features=truth.products[["category"]],
                               customer_features=["income"], no_purchase=NO_PURCHASE, hidden=(8,),
                               max_epochs=600, patience=30, seed=seed),
    }


def test_loglik(model, df: pd.DataFrame) -> float:
    """Mean log-probability of the chosen alternative per occasion."""
    p = model.predict_proba(df).to_numpy()
    return float(np.log(np.maximum(p[df["chosen"].to_numpy() == 1], 1e-300)).mean())


def market_rows(n_obs: int = 3000, n_products: int = 4, n_segments: int = 16, max_offers: int | None = 5,
                n_truth: int = 4000, seed: int = 0, time_limit: float = 60.0,
                models: Sequence[str] | None = None) -> list[dict]:
    """One row per model (and one for the truth's own plan): fit, test fit, true profit."""
    from bundleopt.optimize import evaluate, solve
    from bundleopt.scenario import Scenario

    df, truth = simulate_bundle_market(n_obs=n_obs, n_products=n_products, hidden=(), seed=seed)
    test, _ = simulate_bundle_market(n_obs=n_obs, n_products=n_products, hidden=(), seed=seed + 1000)
    offers = list(truth.components)
    lists = np.array([truth.products.loc[list(truth.components[o]), "list_price"].sum() for o in offers])
    prices = lists[:, None] * np.array([0.8, 1.0, 1.2])[None, :]
    costs = np.array([truth.products.loc[list(truth.components[o]), "cost"].sum() for o in offers])
    comps = [truth.components[o] for o in offers]
    judge = truth.scenario(offers, prices, n_customers=n_truth, seed=seed + 7)
    rows = []

    def plan(sc: Scenario) -> tuple[float, float, str, float]:
        t0 = time.perf_counter()
        sol = solve(sc, threads=1, time_limit=time_limit, mip_gap=1e-4)
        return evaluate(judge, sol.decision).profit, sol.objective, sol.status, time.perf_counter() - t0

    own = truth.scenario(offers, prices, n_customers=n_segments, seed=seed + 11, max_offers=max_offers)
    best, believed, status, solve_s = plan(own)
    rows.append({"model": "truth (sampled)", "test_loglik": np.nan, "fit_s": 0.0, "n_segments": n_segments,
                 "model_profit": believed, "true_profit": best, "status": status, "solve_s": solve_s})
    status_quo = evaluate(judge, judge.status_quo()).profit
    rows.append({"model": "status quo (singles at list)", "test_loglik": np.nan, "fit_s": 0.0, "n_segments": 0,
                 "model_profit": np.nan, "true_profit": status_quo, "status": "-", "solve_s": 0.0})
    for name, model in make_models(truth, seed=seed).items():
        if models is not None and name not in models:
            continue
        t0 = time.perf_counter()
        model.fit(df)
        fit_s = time.perf_counter() - t0
        if getattr(model, "converged_", True) is False:  # e.g. a latent class that ran off to infinity
            rows.append({"model": name, "test_loglik": np.nan, "fit_s": fit_s, "n_segments": 0,
                         "model_profit": np.nan, "true_profit": np.nan, "status": "fit did not converge",
                         "solve_s": 0.0})
            continue
        segments = model.as_segments(n_draws=n_segments, seed=seed + 3) if hasattr(model, "as_segments") else model
        sc = Scenario.from_models(segments, offers, prices, costs, components=comps, max_offers=max_offers)
        profit, believed, status, solve_s = plan(sc)
        rows.append({"model": name, "test_loglik": test_loglik(model, test), "fit_s": fit_s,
                     "n_segments": sc.n_segments, "model_profit": believed, "true_profit": profit,
                     "status": status, "solve_s": solve_s})
    for r in rows:
        r.update({"dataset": f"non-linear market (seed {seed})", "n_obs": n_obs, "n_offers": len(offers),
                  "vs_truth_plan": r["true_profit"] / best})
    return rows
