"""Rule settings of the stress cases: one rule family drawn across its whole range
(:func:`stress_rules`), or read off a random decision so that it holds with equality
(:func:`rules_at_equality`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from bundleopt.scenario import Constraints, Scenario

__all__ = ["RULE_FAMILIES", "active_settings", "rules_at_equality", "stress_rules"]

#: Rule families of :func:`stress_rules` (``Constraints`` fields, formulations/rules.md).
RULE_FAMILIES: tuple[str, ...] = (
    "none",
    "cardinality",            # max_offers
    "max_bundles",            # max_bundles
    "bundles_per_product",    # max_bundles_per_product
    "margin_floor",           # min_margin
    "margin_rate_overall",    # min_margin_rate, scope "overall"
    "margin_rate_segment",    # min_margin_rate, scope "segment"
    "cannibalisation",        # max_cannibalisation, every product protected
    "cannibalisation_protected",  # max_cannibalisation on some protected_products
    "stock",                  # stock on one or two products
    "no_arbitrage",           # min_bundle_discount
    "max_discount",           # max_bundle_discount
    "discount_band",          # both
    "fairness",               # max_price_spread
    "mixed",                  # two to four of the above
)


def stress_rules(rng: np.random.Generator, scenario: Scenario, family: str) -> Constraints:
    """Random settings of one rule family (``RULE_FAMILIES``) for ``scenario``.

    Settings are drawn across their whole range, so both binding and slack rules, and
    both feasible and infeasible scenarios, occur. The empty menu satisfies every rule
    but the cannibalisation cap, so only scenarios with that cap can be infeasible: a
    floor ``gamma`` near 0 with a margin floor, cardinality or stock that removes what
    the protected products need. "mixed" draws two to four other families (a
    cannibalisation cap in about half of them).
    """
    if family not in RULE_FAMILIES:
        raise ValueError(f"unknown rule family {family!r}; one of {RULE_FAMILIES}")
    n_bundles = int(scenario.is_bundle.sum())
    singles = [p for p in scenario.products if p in scenario.single_offer()]
    out: dict = {}
    if family == "mixed":
        others = [f for f in RULE_FAMILIES if f not in ("none", "mixed")]
        picks = rng.choice(len(others), size=int(rng.integers(2, 5)), replace=False)
        for i in picks:
            out.update(_rule_settings(rng, scenario, others[i], n_bundles, singles))
        if out.get("min_bundle_discount", 0.0) > out.get("max_bundle_discount", 1.0):
            out["min_bundle_discount"], out["max_bundle_discount"] = (
                out["max_bundle_discount"], out["min_bundle_discount"])
        if "min_margin_rate" in out and "margin_rate_scope" not in out:
            out["margin_rate_scope"] = "overall"
    else:
        out = _rule_settings(rng, scenario, family, n_bundles, singles)
    return Constraints(**out)


def rules_at_equality(rng: np.random.Generator, scenario: Scenario) -> Constraints:
    """``scenario``'s rules with each numeric setting read off a random decision.

    A random decision D (each offer on each menu off, or at a random allowed level) is
    evaluated exactly, and each active setting is replaced by the value D attains at its
    tightest instance: ``min_margin`` by the smallest margin rate offered, the margin
    rate by D's (smallest per-segment) rate, ``max_cannibalisation`` by
    ``1 - min sales / reference`` over the protected products, ``stock`` by D's units,
    the bundle discounts by the smallest / largest discount of D's bundles,
    ``max_price_spread`` by D's largest ratio minus one, ``max_offers`` and
    ``max_bundles`` by D's counts. D then meets every rule with equality (up to
    rounding) where it can, so the scenario is feasible, typically with a rule tight at
    the optimum. A setting D cannot reach (a rate outside [0, 1), nothing offered) is
    left as drawn.
    """
    from bundleopt.optimize.evaluation import evaluate

    c = scenario.constraints
    allowed = scenario.allowed()
    levels = np.full((scenario.n_menus, scenario.n_offers), -1)
    for g in range(scenario.n_menus):
        for o in range(scenario.n_offers):
            opts = np.flatnonzero(allowed[o])
            if len(opts) and rng.random() < 0.6:
                levels[g, o] = int(rng.choice(opts))
    on = levels >= 0
    ev = evaluate(scenario, levels)
    price = np.where(on, scenario.prices[np.arange(scenario.n_offers)[None, :], np.maximum(levels, 0)], np.nan)
    changes: dict = {}

    def rate_ok(x: float) -> bool:
        return bool(np.isfinite(x) and 0.0 <= x < 1.0)

    if c.max_offers is not None:
        changes["max_offers"] = int(on.sum(axis=1).max())
    if c.max_bundles is not None:
        changes["max_bundles"] = int((on & scenario.is_bundle).sum(axis=1).max())
    if c.min_margin is not None and on.any():
        m = float(np.nanmin((price - scenario.costs) / price))
        if rate_ok(m):
            changes["min_margin"] = m
    seg = ev.by_segment
    if c.min_margin_rate is not None:
        rev, prof = seg["revenue"].to_numpy(), seg["profit"].to_numpy()
        if c.margin_rate_scope == "overall":
            r = prof.sum() / rev.sum() if rev.sum() > 0 else np.nan
        else:
            r = float(np.min(np.where(rev > 0, prof / np.where(rev > 0, rev, 1.0), np.inf)))
        if rate_ok(r):
            changes["min_margin_rate"] = float(r)
    if c.max_cannibalisation is not None:
        single = scenario.single_offer()
        names = c.protected_products or [p for p in scenario.products if p in single]
        idx = [single[p] for p in names]
        ref = scenario.reference_sales()[idx]
        sales = scenario.weights @ ev.probabilities[:, idx]
        g = 1.0 - float(np.min(np.where(ref > 0, sales / np.where(ref > 0, ref, 1.0), np.inf)))
        if rate_ok(g):
            changes["max_cannibalisation"] = g
    if c.stock is not None:
        changes["stock"] = {p: float(ev.product_units[p]) for p in c.stock}
    bundles = np.flatnonzero(scenario.is_bundle)
    if (c.min_bundle_discount is not None or c.max_bundle_discount is not None) and (on[:, bundles]).any():
        single = scenario.single_offer()
        lp = scenario.list_prices()
        disc = []
        for g in range(scenario.n_menus):
            for b in bundles:
                if on[g, b]:
                    parts = [single[p] for p in scenario.components[b]]
                    total = sum(price[g, j] if on[g, j] else lp[j] for j in parts)
                    disc.append(1.0 - price[g, b] / total)
        lo, hi = min(disc), max(disc)
        if c.min_bundle_discount is not None and rate_ok(lo):
            changes["min_bundle_discount"] = lo
        if c.max_bundle_discount is not None and rate_ok(hi):
            changes["max_bundle_discount"] = hi
        if rate_ok(lo) != rate_ok(hi) and c.min_bundle_discount is not None and c.max_bundle_discount is not None:
            changes.pop("min_bundle_discount", None)
            changes.pop("max_bundle_discount", None)
    if c.max_price_spread is not None and scenario.n_menus > 1:
        cols = ~np.isnan(price).all(axis=0)  # offers on some menu
        ratio = np.nanmax(price[:, cols], axis=0) / np.nanmin(price[:, cols], axis=0)
        if np.isfinite(ratio).any():
            changes["max_price_spread"] = float(np.nanmax(ratio) - 1.0)
    lo_d = changes.get("min_bundle_discount", c.min_bundle_discount)
    hi_d = changes.get("max_bundle_discount", c.max_bundle_discount)
    if lo_d is not None and hi_d is not None and lo_d > hi_d:
        changes.pop("min_bundle_discount", None)
        changes.pop("max_bundle_discount", None)
    return replace(c, **changes)


def _rule_settings(rng: np.random.Generator, sc: Scenario, family: str, n_bundles: int,
                   singles: list[str]) -> dict:
    """``Constraints`` keyword arguments for one family (see :func:`stress_rules`)."""
    def rate(lo: float = 0.0, hi: float = 0.95) -> float:
        return float(rng.choice([lo, rng.uniform(lo, hi)], p=[0.1, 0.9]))

    if family == "none":
        return {}
    if family == "cardinality":
        return {"max_offers": int(rng.integers(1, sc.n_offers))}
    if family == "max_bundles":
        return {"max_bundles": int(rng.integers(0, max(1, n_bundles)))}
    if family == "bundles_per_product":
        return {"max_bundles_per_product": int(rng.integers(0, 2))}
    if family == "margin_floor":
        return {"min_margin": rate(0.0, 0.6)}
    if family in ("margin_rate_overall", "margin_rate_segment"):
        return {"min_margin_rate": rate(0.0, 0.8), "margin_rate_scope": family.rsplit("_", 1)[1]}
    if family == "cannibalisation":
        return {"max_cannibalisation": rate(0.0, 0.9)}
    if family == "cannibalisation_protected":
        k = int(rng.integers(1, len(singles) + 1))
        chosen = sorted(rng.choice(singles, size=k, replace=False).tolist())
        return {"max_cannibalisation": rate(0.0, 0.9), "protected_products": tuple(chosen)}
    if family == "stock":
        ref = sc.reference_sales()
        single = sc.single_offer()
        k = int(rng.integers(1, min(2, len(singles)) + 1))
        chosen = rng.choice(singles, size=k, replace=False).tolist()
        # 0 .. 1.5 x the product's reference units (status quo), in market units
        return {"stock": {p: float(sc.market_size * ref[single[p]] * rng.choice([0.0, rng.uniform(0.0, 1.5)],
                                                                                 p=[0.1, 0.9]))
                          for p in chosen}}
    if family == "no_arbitrage":
        return {"min_bundle_discount": rate(0.0, 0.3)}
    if family == "max_discount":
        return {"max_bundle_discount": rate(0.0, 0.4)}
    if family == "discount_band":
        a, b = sorted((rate(0.0, 0.3), rate(0.0, 0.5)))
        return {"min_bundle_discount": a, "max_bundle_discount": b}
    if family == "fairness":
        return {"max_price_spread": float(rng.choice([0.0, rng.uniform(0.0, 0.4)], p=[0.3, 0.7]))}
    raise ValueError(f"unknown rule family {family!r}")  # pragma: no cover - guarded above


def active_settings(c: Constraints) -> dict:
    """The switched-on settings of ``c`` (for messages and failure records)."""
    out = {name: getattr(c, name) for name in c.active()}
    if c.min_margin_rate is not None:
        out["margin_rate_scope"] = c.margin_rate_scope
    if c.protected_products is not None:
        out["protected_products"] = list(c.protected_products)
    if c.stock is not None:
        out["stock"] = dict(c.stock)
    return out
