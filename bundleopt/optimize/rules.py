"""The rule registry: one record per business-rule family, read by every consumer.

A rule family (``formulations/rules.md``) is defined once, here, by a
:class:`RuleFamily`: the :class:`~bundleopt.constraints.Constraints` fields it reads, when
it is switched on, the builder that adds its MILP rows (by name, in
:mod:`bundleopt.optimize.families`), its exact check (:mod:`bundleopt.optimize.rule_checks`),
whether it ties segments' menus together, whether leaving out dominated ladder levels
is safe under it, and how it is switched off. The consumers read :data:`REGISTRY`:

* the model builder (:mod:`bundleopt.optimize.model`) calls each active family's
  builder, in registry order, and leaves out dominated levels only when every active
  family is ``dominance_safe``;
* the evaluator (:mod:`bundleopt.optimize.evaluation`) runs each active family's checks;
* brute force, the per-segment decomposition and the coupled decomposition split a
  personalised scenario into segments with :func:`segment_scenario` and
  :func:`coupling_families`;
* the infeasibility diagnosis (:mod:`bundleopt.optimize.diagnose`) drops families one at
  a time from the build and names their settings.

Adding a rule family is one record here, its builder and its check, its test and its
section in ``formulations/rules.md`` (``tests/test_rules_registry.py`` fails when a
consumer is missing). This module is plain data and numpy: it names the Pyomo builder
instead of importing it, so the evaluator never loads the optimizer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from bundleopt.optimize import rule_checks as rc
from bundleopt.scenario import Constraints, Scenario

Check = Callable[[Scenario, rc.Quantities], list[rc.RuleCheck]]


@dataclass(frozen=True)
class RuleFamily:
    """One rule family, everything the optimizer, evaluator and oracles need to know.

    ``name``: the family's name (``build_model(families=...)``, diagnosis messages).
    ``settings``: the Constraints fields it reads. ``is_on(scenario)``: is it switched
    on. ``rows``: the name of the ``define_<family>_constraints(model, scenario)`` function
    in :mod:`bundleopt.optimize.families` that adds its rows. ``check(scenario, q)``: its
    exact checks on a batch (:mod:`bundleopt.optimize.rule_checks`, one
    :class:`~bundleopt.optimize.rule_checks.RuleCheck` per rule of the family that is set).
    ``couples(scenario)``: with two or more segments, does it tie their menus together
    (no per-segment decomposition; brute force enumerates them jointly).
    ``dominance_safe``: moving an offer to a dominating ladder level never breaks it
    (:func:`bundleopt.optimize.levels.dominated_levels` may leave dominated levels out).
    ``off``: the Constraints changes that switch it off. The diagnosis relaxes a family by
    leaving its rows out of the build; ``off`` is the same relaxation on the rules (used
    by :func:`segment_scenario` for the coupling families).
    ``section``: its heading in ``formulations/rules.md`` (``## <section> (`<rows>`...``).
    """

    name: str
    settings: tuple[str, ...]
    is_on: Callable[[Scenario], bool]
    rows: str
    check: Check
    couples: Callable[[Scenario], bool]
    dominance_safe: bool
    off: tuple[tuple[str, Any], ...]
    section: str

    def describe(self, constraints: Constraints) -> str:
        """``name (setting=value, ...)``, for messages."""
        values = ", ".join(f"{a}={getattr(constraints, a)!r}" for a in self.settings)
        return f"{self.name} ({values})"

    def switched_off(self, constraints: Constraints) -> Constraints:
        """``constraints`` with this family switched off."""
        return replace(constraints, **dict(self.off))


def _set(*fields: str) -> Callable[[Scenario], bool]:
    """On when any of ``fields`` is set (not None)."""
    return lambda sc: any(getattr(sc.constraints, f) is not None for f in fields)


def _checks(*pairs: tuple[str, Callable[[Scenario, rc.Quantities], rc.RuleCheck]]) -> Check:
    """The checks of the fields that are set (a family may have several rules)."""
    return lambda sc, q: [fn(sc, q) for field, fn in pairs if getattr(sc.constraints, field) is not None]


def _always(sc: Scenario) -> bool:
    return True


def _never(sc: Scenario) -> bool:
    return False


def _overall_rate(sc: Scenario) -> bool:
    return sc.constraints.margin_rate_scope == "overall"


REGISTRY: tuple[RuleFamily, ...] = (
    RuleFamily(
        name="margin_floor", settings=("min_margin",), is_on=_set("min_margin"),
        rows="define_margin_floor_constraints", check=_checks(("min_margin", rc.check_min_margin)),
        couples=_never, dominance_safe=True, off=(("min_margin", None),),
        section="Margin floor",
    ),
    RuleFamily(
        name="margin_rate", settings=("min_margin_rate", "margin_rate_scope"), is_on=_set("min_margin_rate"),
        rows="define_margin_rate_constraints", check=_checks(("min_margin_rate", rc.check_margin_rate)),
        couples=_overall_rate, dominance_safe=False, off=(("min_margin_rate", None),),
        section="Aggregate expected-margin rate",
    ),
    RuleFamily(
        name="cardinality", settings=("max_offers", "max_bundles"), is_on=_set("max_offers", "max_bundles"),
        rows="define_cardinality_constraints",
        check=_checks(("max_offers", rc.check_max_offers), ("max_bundles", rc.check_max_bundles)),
        couples=_never, dominance_safe=True, off=(("max_offers", None), ("max_bundles", None)),
        section="Cardinality",
    ),
    RuleFamily(
        name="bundles_per_product", settings=("max_bundles_per_product",),
        is_on=_set("max_bundles_per_product"), rows="define_bundles_per_product_constraints",
        check=_checks(("max_bundles_per_product", rc.check_bundles_per_product)),
        couples=_never, dominance_safe=True, off=(("max_bundles_per_product", None),),
        section="Bundles per product",
    ),
    RuleFamily(
        name="no_arbitrage", settings=("min_bundle_discount", "max_bundle_discount"),
        is_on=_set("min_bundle_discount", "max_bundle_discount"), rows="define_no_arbitrage_constraints",
        check=_checks(("min_bundle_discount", lambda sc, q: rc.check_bundle_discount(sc, q, "min_bundle_discount")),
                      ("max_bundle_discount", lambda sc, q: rc.check_bundle_discount(sc, q, "max_bundle_discount"))),
        couples=_never, dominance_safe=False, off=(("min_bundle_discount", None), ("max_bundle_discount", None)),
        section="No-arbitrage and discount band",
    ),
    RuleFamily(
        name="cannibalisation", settings=("max_cannibalisation", "protected_products"),
        is_on=_set("max_cannibalisation"), rows="define_cannibalisation_constraints",
        check=_checks(("max_cannibalisation", rc.check_cannibalisation)),
        couples=_always, dominance_safe=False,
        off=(("max_cannibalisation", None), ("protected_products", None)),
        section="Cannibalisation",
    ),
    RuleFamily(
        name="fairness", settings=("max_price_spread",),
        is_on=lambda sc: sc.constraints.max_price_spread is not None and sc.personalised,
        rows="define_fairness_constraints", check=_checks(("max_price_spread", rc.check_price_spread)),
        couples=_always, dominance_safe=False, off=(("max_price_spread", None),),
        section="Fairness of personalised prices",
    ),
    RuleFamily(
        name="stock", settings=("stock",), is_on=_set("stock"), rows="define_stock_constraints",
        check=_checks(("stock", rc.check_stock)), couples=_always, dominance_safe=False,
        off=(("stock", None),), section="Stock",
    ),
    RuleFamily(
        name="must_offer", settings=("must_offer",), is_on=_set("must_offer"),
        rows="define_must_offer_constraints", check=_checks(("must_offer", rc.check_must_offer)),
        couples=_never, dominance_safe=True, off=(("must_offer", None),),
        section="Products that must stay on sale",
    ),
)
"""Every rule family, in build order."""

BY_NAME: dict[str, RuleFamily] = {r.name: r for r in REGISTRY}


def family(name: str) -> RuleFamily:
    """The record of family ``name``, or a one-line ``ValueError`` naming the known ones."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown rule family {name!r}; known: {list(BY_NAME)}") from None


def active_families(scenario: Scenario) -> list[str]:
    """Names of the rule families a scenario switches on, in build order."""
    return [r.name for r in REGISTRY if r.is_on(scenario)]


def coupling_families(scenario: Scenario) -> list[str]:
    """Active families that tie segments' menus together (none with one segment)."""
    if scenario.n_segments < 2:
        return []
    return [r.name for r in REGISTRY if r.is_on(scenario) and r.couples(scenario)]


def coupling_settings(scenario: Scenario) -> list[str]:
    """The Constraints field that switches on each active coupling family (e.g.
    ``max_cannibalisation``): ``scenario.with_constraints(**{f: None for f in ...})``
    leaves only the rules that act on each menu alone."""
    return [family(name).settings[0] for name in coupling_families(scenario)]


def dominance_safe(families: set[str] | frozenset[str]) -> bool:
    """Is leaving out dominated ladder levels safe under every family in ``families``?"""
    return all(family(name).dominance_safe for name in families)


def segment_scenario(scenario: Scenario, s: int) -> Scenario:
    """Segment ``s`` alone (weight 1, one menu) with the rules that act on its menu alone.

    With two or more segments every family that couples them (:func:`coupling_families`'
    ``couples``: cannibalisation, stock, fairness, the overall margin rate) is switched
    off; its share of the rule is checked on the whole decision by the caller. With one
    segment nothing couples and every rule is kept.
    """
    c = scenario.constraints
    if scenario.n_segments > 1:
        for rule in REGISTRY:
            if rule.couples(scenario):
                c = rule.switched_off(c)
    return replace(
        scenario,
        v=scenario.v[s : s + 1],
        v0=scenario.v0[s : s + 1],
        weights=np.ones(1),
        segment_ids=(scenario.segment_ids[s],),
        personalised=False,
        constraints=c,
    )


__all__ = ["BY_NAME", "REGISTRY", "RuleFamily", "active_families", "coupling_families", "coupling_settings",
           "dominance_safe", "family", "segment_scenario"]
