"""The plan's tables for a reader: one row per (segment, offered offer), one row per
segment, and the data summary (counts, window, solver, machine and versions)."""

from __future__ import annotations

import platform
from typing import Any

import numpy as np
import pandas as pd

from bundleopt.scenario import NOT_OFFERED, Scenario
from bundleopt.solution import Solution

__all__ = ["data_summary", "plan_table", "segment_table"]


def plan_table(scenario: Scenario, solution: Solution, catalog: pd.DataFrame) -> pd.DataFrame:
    """:attr:`bundleopt.pipeline.Plan.table`, offers named from the catalog."""
    return _named(_plan_table(scenario, solution), catalog, scenario)


def segment_table(segments: Any, choices: Any, fitted: Any) -> pd.DataFrame:
    """:attr:`bundleopt.pipeline.Plan.segments`: size, occasions, weight, purchase rate, price
    coefficient and the mean of each customer feature, per segment."""
    seg_ids, occ, purchases = segments.segment_ids, choices.occasions, choices.purchases
    params = fitted.params
    weights = (occ / occ.sum()).to_numpy(dtype=float)  # occasion shares: the scenario's weights
    beta = params[params["parameter"] == "price"].set_index("segment")
    n_cust = segments.assignments.value_counts().reindex(seg_ids, fill_value=0)
    table = pd.DataFrame({
        "segment": seg_ids, "n_customers": n_cust.to_numpy(),
        "customer_share": (n_cust / n_cust.sum()).to_numpy(),
        "n_occasions": occ.to_numpy(), "weight": weights,
        "purchase_rate": (purchases / occ.replace(0, np.nan)).to_numpy(),
        "price_coef": beta["estimate"].reindex(seg_ids).to_numpy(),
        "price_se": beta["std_error"].reindex(seg_ids).to_numpy(),
    })
    return table.join(segments.profiles.reset_index(drop=True))


def data_summary(clean: Any, candidates: pd.DataFrame, choices: Any, offers: Any, segments: Any,
                 solution: Solution) -> dict[str, Any]:
    """:attr:`bundleopt.pipeline.Plan.data_summary` (counts of the data as planned)."""
    tx, cat_i = clean.transactions, clean.catalog.set_index("product_id")
    occ, purchases, grouped = choices.occasions, choices.purchases, choices.grouped
    observed = float(((tx["unit_price"] - tx["product_id"].map(cat_i["unit_cost"])) * tx["quantity"]).sum())
    return {
        "transaction_rows": int(len(tx)), "customers": int(tx["customer_id"].nunique()),
        "orders": int(tx["order_id"].nunique()), "products": len(offers.products),
        "candidates": int(len(candidates)), "offers": len(offers.offer_ids),
        "segments": len(segments.segment_ids),
        "occasions": int(occ.sum()), "purchase_occasions": int(purchases.sum()),
        "occasions_left_out": grouped.n_unsegmented + grouped.n_dropped_occasions,
        "first_day": str(tx["timestamp"].min().date()), "last_day": str(tx["timestamp"].max().date()),
        "observed_gross_margin": observed, "market_size": float(occ.sum()),
        "solver_method": solution.method, "solver_status": solution.status,
        "estimated_memory_gb": clean.resources.memory / 1e9, "estimated_seconds": clean.resources.seconds,
        "machine": platform.platform(), "versions": _versions(),
    }


def _plan_table(scenario: Scenario, solution: Solution) -> pd.DataFrame:
    sc = scenario
    probs = solution.probabilities.to_numpy()
    list_p = sc.list_prices()
    rows = []
    for s, seg in enumerate(sc.segment_ids):
        levels = solution.decision.menu_of(s)
        for o in np.flatnonzero(levels != NOT_OFFERED):
            price = float(sc.prices[o, levels[o]])
            units = float(sc.market_size * sc.weights[s] * probs[s, o])
            rows.append({
                "segment": seg, "offer": sc.offer_ids[o], "components": "+".join(sc.components[o]),
                "is_bundle": len(sc.components[o]) > 1, "price": price,
                "list_price": float(list_p[o]), "discount": 1.0 - price / float(list_p[o]),
                "cost": float(sc.costs[o]), "units": units,
                "product_units": units * len(sc.components[o]), "revenue": units * price,
                "profit": units * (price - float(sc.costs[o])),
            })
    cols = ["segment", "offer", "components", "is_bundle", "price", "list_price", "discount",
            "cost", "units", "product_units", "revenue", "profit"]
    return pd.DataFrame(rows, columns=cols)


def _named(table: pd.DataFrame, catalog: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """``table`` with a ``name`` column after ``offer`` (catalog names; the id where none)."""
    from bundleopt.plan_parts.controls import offer_names

    names = dict(zip(scenario.offer_ids, offer_names(catalog, scenario.components), strict=True))
    table.insert(2, "name", table["offer"].map(names))
    return table


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("bundleopt", "numpy", "pandas", "jax", "pyomo", "highspy", "scikit-learn", "mlxtend"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out
