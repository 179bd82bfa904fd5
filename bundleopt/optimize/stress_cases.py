"""Stress instances: built to break the exact solver rather than to look like a shop.

Badly scaled preference weights, degenerate ladders and every rule family, small
enough for brute force (:mod:`bundleopt.optimize.brute_force`) to be the ground truth:
:func:`stress_instance` sets the scaling explicitly, :func:`stress_case` draws a
reproducible case (regime, rule family, sizes) from a seed; the rule settings come
from :mod:`bundleopt.optimize.stress_rule_settings`. See
formulations/evaluation_and_baselines.md.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from math import comb

import numpy as np

from bundleopt.optimize.instance_generators import _bundle_components, _check_sizes
from bundleopt.optimize.stress_rule_settings import (
    RULE_FAMILIES,
    active_settings,
    rules_at_equality,
    stress_rules,
)
from bundleopt.scenario import Constraints, Scenario

__all__ = ["EXTRA_REGIMES", "EXTRA_SEEDS", "ODDS_CAP", "STRESS_REGIMES", "StressCase", "stress_case",
           "stress_instance"]

#: Numerical regimes of :func:`stress_instance` (see :func:`stress_case`).
STRESS_REGIMES: tuple[str, ...] = (
    "baseline",           # well scaled: taste N(0, 1), prices U(5, 20), v0 for a 40% no-purchase share
    "wide_utility",       # taste shocks spread so v runs from ~1e-6 to ~1e6
    "extreme_utility",    # ... and from ~1e-9 to ~1e9
    "tiny_v0",            # no-purchase weight 1e-9..1e-4 x the attraction of the status quo
    "huge_v0",            # no-purchase weight 1e4..1e9 x the attraction of the status quo
    "extreme_weights",    # one segment weighs 1 - (S-1) eps, eps in {0.01, 0.001}
    "cost_above_ladder",  # costs list x U(0.6, 1.15): some levels, some offers, sell below cost
    "tied_prices",        # repeated ladder levels and singles with equal list prices and tastes
    "one_level",          # a single price level (K = 1)
    "currency_units",     # prices U(100, 500), price coefficient -U(0.01, 0.15) per unit, v0 = 1
    "mixed",              # each of the above knobs on with probability 1/2
)


#: Regimes added after the first sweeps; seeds from ``EXTRA_SEEDS`` on cycle through
#: them, so that every seed below keeps the case it had (and its recorded failure).
EXTRA_REGIMES: tuple[str, ...] = (
    "near_ties",          # a ladder step and two singles' list prices 1e-10..1e-7 apart (relative)
    "sparse",             # each (segment, offer) pair unconsidered (v = 0) with probability 0.4
    "rules_at_equality",  # rule settings read off a random decision: it meets them with equality
    "mixed_at_equality",  # the knobs of "mixed", and rules at equality
)


EXTRA_SEEDS = 1_000_000
ODDS_CAP = 1e14  # the stress cases' largest sum of purchase odds v / v0 (Scenario refuses > 1e15)


@dataclass(frozen=True)
class StressCase:
    """One reproducible stress instance: ``stress_case(seed)`` rebuilds it from ``seed``."""

    seed: int
    regime: str
    rule: str
    personalised: bool
    scenario: Scenario

    def describe(self) -> str:
        sc = self.scenario
        kind = "personalised" if self.personalised else "uniform"
        return (f"seed={self.seed} regime={self.regime} rule={self.rule} {kind} "
                f"{sc.n_offers}x{sc.n_segments}x{sc.n_levels} ({int(sc.is_bundle.sum())} bundles) "
                f"rules={active_settings(sc.constraints)}")


def stress_instance(
    n_offers: int,
    n_segments: int,
    n_levels: int,
    *,
    n_bundles: int = 0,
    personalised: bool = False,
    seed: int = 0,
    constraints: Constraints | None = None,
    utility_spread: float | None = None,
    no_purchase_scale: tuple[float, float] | None = None,
    weight_eps: float | None = None,
    cost_ratio: tuple[float, float] = (0.3, 0.6),
    tied: bool = False,
    currency_units: bool = False,
    market_size: float = 1.0,
    near_tie: float | None = None,
    consideration: float = 1.0,
) -> Scenario:
    """A latent-class MNL scenario whose scaling and ladder are set explicitly.

    ``rng = numpy.random.default_rng(seed)``; J singles and B bundles (components from
    the same draw as :func:`random_instance`, so bundles share components when there
    are several). Preference weights ``v[s, o, k] = exp(a[s, o] - beta_s p[o, k])``:

    * prices: list ``P_j ~ U(5, 20)`` (``currency_units``: ``U(100, 500)``); bundles
      ``P_b = (1 - delta_b) sum_j P_j`` with ``delta_b ~ U(-0.1, 0.4)`` (some bundles
      cost more than their parts, so the discount rules bite both ways); ladder
      ``p[o, k] = P_o d_k`` with ``d = linspace(0.7, 1, K)`` (``tied``: ``d`` drawn with
      repeats from (0.8, 0.8, 1.0, 1.0, ...) and the first two singles share list price,
      cost and tastes);
    * costs ``c_o = P_o U(cost_ratio)`` (bundles: the sum of their components'), so
      ``cost_ratio`` above the lowest ladder step puts some levels below cost;
    * ``beta_s = U(1.5, 4) / mean P`` and ``a[s, o] = beta_s R_o + eta[s, o]`` with
      reference price ``R`` (list price; a bundle's is the sum of its parts') and
      ``eta ~ N(0, 1)``; ``utility_spread = L`` draws ``eta ~ U(-L, L)`` with one entry
      pinned at each end, so ``v`` at the list price spans ``exp(-L)..exp(L)``
      (``L = ln 1e6`` for "wide", ``ln 1e9`` for "extreme"). ``currency_units``: the
      real-data regime, ``beta_s ~ U(0.01, 0.15)`` per unit of price and
      ``a[s, o] = eta[s, o]``, so the weights differ by tens of orders of magnitude;
    * ``v0[s] = r_s sum_{singles} v[s, j, list]`` with ``log10 r_s ~ U(no_purchase_scale)``
      (default: ``r = 2/3``, a 40% no-purchase share at list prices; ``currency_units``
      without ``no_purchase_scale``: ``v0 = 1``, the outside option's utility 0);
    * weights ``Dirichlet(1)``, or with ``weight_eps``: one random segment weighs
      ``1 - (S - 1) eps`` and the others ``eps`` each (0.98 / 0.01 / 0.01);
    * ``near_tie = eps``: the second-highest ladder step is ``1 - eps`` and the second
      single's list price is the first's times ``1 + eps`` (prices that differ in the
      ninth digit, around the rules' relative tolerance 1e-9);
    * ``consideration < 1``: after everything else, each (segment, offer) pair is
      dropped (``v = 0`` at every level) with probability ``1 - consideration``; a
      segment may consider nothing.

    >>> sc = stress_instance(5, 3, 2, n_bundles=2, seed=1, utility_spread=13.8)
    >>> float(sc.v.max() / sc.v[sc.v > 0].min()) > 1e11
    True
    """
    n_singles = n_offers - n_bundles
    _check_sizes(n_offers, n_segments, n_levels, n_bundles, n_singles, 3)
    if weight_eps is not None and not 0.0 < weight_eps * (n_segments - 1) < 1.0:
        raise ValueError(f"weight_eps={weight_eps} needs 0 < (S - 1) eps < 1 with S = {n_segments}")
    rng = np.random.default_rng(seed)
    lo, hi = (100.0, 500.0) if currency_units else (5.0, 20.0)
    list_single = rng.uniform(lo, hi, size=n_singles)
    cost_single = list_single * rng.uniform(*cost_ratio, size=n_singles)
    if tied and n_singles >= 2:
        list_single[1], cost_single[1] = list_single[0], cost_single[0]
    if near_tie is not None and n_singles >= 2:
        list_single[1] = list_single[0] * (1.0 + near_tie)
    comps = _bundle_components(rng, n_singles, n_bundles, 3)
    ref_bundle = np.array([list_single[list(c)].sum() for c in comps])
    list_price = np.concatenate([list_single, ref_bundle * (1.0 - rng.uniform(-0.1, 0.4, size=n_bundles))])
    costs = np.concatenate([cost_single, [cost_single[list(c)].sum() for c in comps]])
    ref_price = np.concatenate([list_single, ref_bundle])
    if n_levels == 1:
        steps = np.ones(1)
    elif tied:
        steps = np.sort(rng.choice(np.repeat(np.linspace(0.8, 1.0, max(2, n_levels // 2)), 2),
                                   size=n_levels - 1, replace=False))
        steps = np.append(steps, 1.0)
    else:
        steps = np.linspace(0.7, 1.0, n_levels)
    if near_tie is not None and n_levels > 1:
        steps[-2] = 1.0 - near_tie
    prices = list_price[:, None] * steps[None, :]

    if weight_eps is None:
        weights = rng.dirichlet(np.ones(n_segments))
    else:
        weights = np.full(n_segments, weight_eps)
        weights[rng.integers(n_segments)] = 1.0 - weight_eps * (n_segments - 1)
    if currency_units:
        beta = rng.uniform(0.01, 0.15, size=n_segments)
        base = np.zeros(n_offers)
    else:
        beta = rng.uniform(1.5, 4.0, size=n_segments) / list_single.mean()
        base = ref_price
    if utility_spread is None:
        eta = rng.normal(0.0, 1.0, size=(n_segments, n_offers))
    else:
        eta = rng.uniform(-utility_spread, utility_spread, size=(n_segments, n_offers))
        ends = rng.choice(eta.size, size=min(2, eta.size), replace=False)
        eta.flat[ends[0]] = -utility_spread
        if len(ends) > 1:
            eta.flat[ends[1]] = utility_spread
    if tied and n_singles >= 2:
        eta[:, 1] = eta[:, 0]
    # a[s,o] - beta_s p[o,k]; utility_spread pins the spread of v at the list price
    log_v = (beta[:, None] * base[None, :] + eta)[:, :, None] - beta[:, None, None] * prices[None]
    if utility_spread is not None and not currency_units:
        log_v += (beta[:, None] * (prices[:, -1] - base))[:, :, None]
    v = np.exp(log_v)
    if no_purchase_scale is None:
        ratio = np.ones(n_segments) if currency_units else np.full(n_segments, 2.0 / 3.0)
    else:
        ratio = 10.0 ** rng.uniform(*no_purchase_scale, size=n_segments)
    v0 = ratio if currency_units and no_purchase_scale is None else ratio * v[:, :n_singles, -1].sum(axis=1)
    if consideration < 1.0:
        v = v * (rng.random((n_segments, n_offers)) < consideration)[:, :, None]
    # stay inside what Scenario accepts: purchase odds sum v / v0 at most 1e15 (beyond, the
    # no-purchase share is below double precision and Scenario refuses the data)
    v = np.minimum(v, ODDS_CAP * v0[:, None, None] / max(n_offers, 1))

    product_ids = [f"p{j}" for j in range(n_singles)]
    return Scenario(
        offer_ids=tuple(product_ids + [f"b{b}" for b in range(n_bundles)]),
        components=tuple([(pid,) for pid in product_ids] + [tuple(product_ids[j] for j in c) for c in comps]),
        costs=costs,
        prices=prices,
        v=v,
        v0=v0,
        weights=weights / weights.sum(),
        segment_ids=tuple(f"s{s}" for s in range(n_segments)),
        personalised=personalised,
        constraints=constraints or Constraints(),
        market_size=market_size,
        list_level=np.full(n_offers, n_levels - 1),
    )


def stress_case(
    seed: int, regime: str | None = None, rule: str | None = None, personalised: bool | None = None
) -> StressCase:
    """The stress instance number ``seed``: a regime, a rule family and its scenario.

    Unset arguments come from the seed: ``regime = STRESS_REGIMES[seed % R]``,
    ``rule = RULE_FAMILIES[(seed // R) % F]`` (so consecutive seeds cover every pair);
    seeds from ``EXTRA_SEEDS`` on cycle the same way through ``EXTRA_REGIMES``,
    ``personalised`` with probability 1/2 (always when the rule is "fairness"). Sizes
    are drawn from ``default_rng([seed, 1])`` small enough for brute force: uniform
    3-6 offers (0-2 bundles, sharing components when there are two), 1-4 segments,
    1-4 levels; personalised 3-5 offers, 1-3 segments, 1-3 levels with at most 256
    menus per segment. Regimes set the arguments of :func:`stress_instance`
    (``STRESS_REGIMES`` comments); rule settings come from :func:`stress_rules`.

    >>> case = stress_case(12)
    >>> case.regime, case.rule
    ('wide_utility', 'cardinality')
    >>> bool((stress_case(12).scenario.v == case.scenario.v).all())
    True
    """
    seed = int(seed)
    regimes, i = (EXTRA_REGIMES, seed - EXTRA_SEEDS) if seed >= EXTRA_SEEDS else (STRESS_REGIMES, seed)
    regime = regimes[i % len(regimes)] if regime is None else regime
    rule = RULE_FAMILIES[(i // len(regimes)) % len(RULE_FAMILIES)] if rule is None else rule
    if regime not in STRESS_REGIMES + EXTRA_REGIMES:
        raise ValueError(f"unknown regime {regime!r}; one of {STRESS_REGIMES + EXTRA_REGIMES}")
    if rule not in RULE_FAMILIES:
        raise ValueError(f"unknown rule family {rule!r}; one of {RULE_FAMILIES}")
    rng = np.random.default_rng([seed, 1])
    flip = bool(rng.random() < 0.5)
    personalised = (flip or rule == "fairness") if personalised is None else bool(personalised)
    knobs: dict = {}
    # lists, not sets: the draws must not depend on string hashing (PYTHONHASHSEED)
    on = [regime]
    if regime in ("mixed", "mixed_at_equality"):
        on = [k for k in _REGIME_KNOBS if rng.random() < 0.5]
        if "extreme_utility" in on and "wide_utility" in on:
            on.remove("wide_utility")
        if "huge_v0" in on and "tiny_v0" in on:
            on.remove("tiny_v0")
    for name in on:
        if name in _REGIME_KNOBS or name in _EXTRA_KNOBS:
            knobs.update({**_REGIME_KNOBS, **_EXTRA_KNOBS}[name](rng))
    if personalised:
        n_offers, n_segments, n_levels = int(rng.integers(3, 6)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
        while n_levels > 1 and (n_levels + 1) ** n_offers > 256:
            n_levels -= 1
    else:
        n_offers, n_segments, n_levels = int(rng.integers(3, 7)), int(rng.integers(1, 5)), int(rng.integers(1, 5))
    if "one_level" in on:
        n_levels = 1
    if "weight_eps" in knobs:
        n_segments = max(n_segments, 2)
    n_bundles = int(rng.choice([0, 1, 2], p=[0.3, 0.35, 0.35]))
    if rule in _BUNDLE_RULES:
        n_bundles = max(n_bundles, 1)
    while n_bundles and sum(comb(n_offers - n_bundles, k) for k in (2, 3)) < n_bundles:
        n_bundles -= 1
    market_size = float(rng.choice([1.0, 1000.0]))
    sc = stress_instance(n_offers, n_segments, n_levels, n_bundles=n_bundles, personalised=personalised,
                         seed=seed, market_size=market_size, **knobs)
    sc = replace(sc, constraints=stress_rules(rng, sc, rule))
    if regime in ("rules_at_equality", "mixed_at_equality"):
        sc = replace(sc, constraints=rules_at_equality(rng, sc))
    return StressCase(seed=seed, regime=regime, rule=rule, personalised=personalised, scenario=sc)


_EXTRA_KNOBS = {
    "near_ties": lambda rng: {"near_tie": float(rng.choice([1e-7, 1e-8, 1e-9, 1e-10]))},
    "sparse": lambda rng: {"consideration": 0.6},
    "rules_at_equality": lambda rng: {},
}


_BUNDLE_RULES = ("max_bundles", "bundles_per_product", "no_arbitrage", "max_discount", "discount_band")


_REGIME_KNOBS = {
    "wide_utility": lambda rng: {"utility_spread": float(np.log(1e6))},
    "extreme_utility": lambda rng: {"utility_spread": float(np.log(1e9))},
    "tiny_v0": lambda rng: {"no_purchase_scale": (-9.0, -4.0)},
    "huge_v0": lambda rng: {"no_purchase_scale": (4.0, 9.0)},
    "extreme_weights": lambda rng: {"weight_eps": float(rng.choice([0.01, 0.001]))},
    "cost_above_ladder": lambda rng: {"cost_ratio": (0.6, 1.15)},
    "tied_prices": lambda rng: {"tied": True},
    "one_level": lambda rng: {},
    "currency_units": lambda rng: {"currency_units": True},
}
