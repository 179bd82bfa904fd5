"""Random latent-class MNL pricing instances for tests and benchmarks.

The generative model follows the assortment-optimisation literature (Bront,
Méndez-Díaz & Vulcano 2009; Méndez-Díaz, Miranda-Bront, Vulcano & Zabala 2014):
each segment considers a random subset of the offers and chooses among them by an
MNL, extended here with a price ladder and with bundles.

Generative model (``rng = numpy.random.default_rng(seed)``; J singles, B bundles,
``J + B = n_offers``; S segments; K levels):

* list prices ``P_j ~ U(price_range)`` for singles;
* ladder discounts ``d_k = linspace(min_discount, 1, K)`` (``d = (1,)`` when K = 1),
  prices ``p[o, k] = P_o * d_k``; the list level is the top one (``k = K - 1``);
* single costs ``c_j = P_j * min_discount * U(cost_ratio)``, so every level of every
  offer sells above cost;
* bundles: distinct random component sets of 2 to ``max_bundle_size`` singles,
  ``c_b = sum_j c_j``, ``P_b = (1 - delta_b) * sum_j P_j`` with
  ``delta_b ~ U(bundle_discount)``; since ``delta_b <= 0.25`` and the cost ratio is at
  most 0.7, every bundle level also sells above cost;
* segments: weights ``w ~ Dirichlet(1, ..., 1)``; price sensitivities
  ``beta_s = b_s / mean_j P_j`` with ``b_s ~ U(sensitivity)`` (``beta_s > 0``);
* consideration sets: segment s considers offer o with probability ``consideration``
  (at least one single per segment); a bundle is considered when at least one of its
  components is;
* utilities ``u[s, o] = beta_s * R_o + eta[s, o]`` with taste shocks
  ``eta[s, j] ~ N(0, taste_sd)`` for singles, reference price ``R_j = P_j``; for a
  bundle ``R_b = sum_j P_j`` (customers value it as its components) and
  ``eta[s, b] = log sum_{j in b, considered} exp(eta[s, j]) + N(synergy, synergy_sd)``,
  so a bundle's utility can exceed its components';
* preference weights ``v[s, o, k] = exp(u[s, o] - beta_s p[o, k])`` for considered
  offers, 0 otherwise;
* no-purchase weights ``v0[s] = r / (1 - r) * sum_{singles j} v[s, j, list]`` with
  ``r = no_purchase_share``: with all singles at list price, a share r of segment s
  buys nothing.

The second half of the module builds instances meant to break the exact solver rather
than to look like a shop (:func:`stress_instance`, :func:`stress_case`: preference
weights over many orders of magnitude, tiny or huge no-purchase weights, extreme
segment weights, costs above ladder prices, tied ladders, prices in currency units,
each rule family alone and mixed), and the oracle that compares :func:`bundleopt.solve`
with brute force on them (:func:`check_exactness`); see
formulations/evaluation_and_baselines.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from math import comb
from typing import TYPE_CHECKING

import numpy as np

from bundleopt.scenario import Constraints, Scenario

if TYPE_CHECKING:
    from bundleopt.solution import Solution


def random_instance(
    n_offers: int,
    n_segments: int,
    n_levels: int,
    max_offers: int | None = None,
    *,
    n_bundles: int = 0,
    personalised: bool = False,
    seed: int = 0,
    constraints: Constraints | None = None,
    consideration: float = 0.7,
    no_purchase_share: float = 0.4,
    price_range: tuple[float, float] = (5.0, 20.0),
    min_discount: float = 0.7,
    cost_ratio: tuple[float, float] = (0.4, 0.7),
    sensitivity: tuple[float, float] = (1.5, 4.0),
    taste_sd: float = 1.0,
    bundle_discount: tuple[float, float] = (0.05, 0.25),
    max_bundle_size: int = 3,
    synergy: float = 0.0,
    synergy_sd: float = 0.5,
    market_size: float = 1.0,
) -> Scenario:
    """A random latent-class MNL scenario (generative model in the module docstring).

    ``n_offers`` counts all offers: ``n_offers - n_bundles`` singles (offer ids
    ``"p0", "p1", ...``, each the single of the product with the same id) followed by
    ``n_bundles`` bundles (``"b0", ...``). ``max_offers`` is a shortcut for
    ``Constraints(max_offers=...)``; ``constraints`` sets the other rules.

    >>> sc = random_instance(6, 3, 4, max_offers=3, n_bundles=2, seed=1)
    >>> sc.n_offers, sc.n_segments, sc.n_levels, int(sc.is_bundle.sum())
    (6, 3, 4, 2)
    """
    n_singles = n_offers - n_bundles
    _check_sizes(n_offers, n_segments, n_levels, n_bundles, n_singles, max_bundle_size)
    if not 0.0 < consideration <= 1.0:
        raise ValueError(f"consideration must be in (0, 1], got {consideration}")
    if not 0.0 < no_purchase_share < 1.0:
        raise ValueError(f"no_purchase_share must be in (0, 1), got {no_purchase_share}")
    if not 0.0 < min_discount <= 1.0:
        raise ValueError(f"min_discount must be in (0, 1], got {min_discount}")
    if not (0.0 <= cost_ratio[0] <= cost_ratio[1] <= 0.7):
        raise ValueError(f"cost_ratio must satisfy 0 <= lo <= hi <= 0.7, got {cost_ratio}")
    if not (0.0 <= bundle_discount[0] <= bundle_discount[1] <= 0.25):
        raise ValueError(f"bundle_discount must satisfy 0 <= lo <= hi <= 0.25, got {bundle_discount}")
    if not (0.0 < sensitivity[0] <= sensitivity[1]):
        raise ValueError(f"sensitivity must satisfy 0 < lo <= hi, got {sensitivity}")
    if not (0.0 < price_range[0] <= price_range[1]):
        raise ValueError(f"price_range must satisfy 0 < lo <= hi, got {price_range}")

    rng = np.random.default_rng(seed)
    list_single = rng.uniform(*price_range, size=n_singles)
    cost_single = list_single * min_discount * rng.uniform(*cost_ratio, size=n_singles)
    comps = _bundle_components(rng, n_singles, n_bundles, max_bundle_size)

    list_bundle = np.array([list_single[list(c)].sum() for c in comps])
    list_bundle = list_bundle * (1.0 - rng.uniform(*bundle_discount, size=n_bundles))
    cost_bundle = np.array([cost_single[list(c)].sum() for c in comps])
    ref_bundle = np.array([list_single[list(c)].sum() for c in comps])

    list_price = np.concatenate([list_single, list_bundle])
    costs = np.concatenate([cost_single, cost_bundle])
    ref_price = np.concatenate([list_single, ref_bundle])
    discounts = np.linspace(min_discount, 1.0, n_levels) if n_levels > 1 else np.ones(1)
    prices = list_price[:, None] * discounts[None, :]

    weights = rng.dirichlet(np.ones(n_segments))
    beta = rng.uniform(*sensitivity, size=n_segments) / list_single.mean()
    considered = rng.random((n_segments, n_singles)) < consideration
    nobody = ~considered.any(axis=1)
    considered[nobody, rng.integers(n_singles, size=int(nobody.sum()))] = True
    eta_single = rng.normal(0.0, taste_sd, size=(n_segments, n_singles))

    eta_bundle = np.zeros((n_segments, n_bundles))
    considered_bundle = np.zeros((n_segments, n_bundles), dtype=bool)
    for b, comp in enumerate(comps):
        idx = list(comp)
        considered_bundle[:, b] = considered[:, idx].any(axis=1)
        with np.errstate(divide="ignore"):
            logsum = np.log(np.where(considered[:, idx], np.exp(eta_single[:, idx]), 0.0).sum(axis=1))
        eta_bundle[:, b] = logsum + rng.normal(synergy, synergy_sd, size=n_segments)
    eta = np.concatenate([eta_single, eta_bundle], axis=1)
    consider = np.concatenate([considered, considered_bundle], axis=1)

    utility = beta[:, None] * ref_price[None, :] + np.where(consider, eta, 0.0)
    v = np.exp(utility[:, :, None] - beta[:, None, None] * prices[None, :, :])
    v = np.where(consider[:, :, None], v, 0.0)
    v0 = no_purchase_share / (1.0 - no_purchase_share) * v[:, :n_singles, -1].sum(axis=1)

    product_ids = [f"p{j}" for j in range(n_singles)]
    offer_ids = product_ids + [f"b{b}" for b in range(n_bundles)]
    components = [(pid,) for pid in product_ids] + [tuple(product_ids[j] for j in c) for c in comps]
    constraints = constraints or Constraints()
    if max_offers is not None:
        constraints = replace(constraints, max_offers=max_offers)
    return Scenario(
        offer_ids=tuple(offer_ids),
        components=tuple(components),
        costs=costs,
        prices=prices,
        v=v,
        v0=v0,
        weights=weights,
        segment_ids=tuple(f"s{s}" for s in range(n_segments)),
        personalised=personalised,
        constraints=constraints,
        market_size=market_size,
        list_level=np.full(n_offers, n_levels - 1),
    )


def _check_sizes(
    n_offers: int, n_segments: int, n_levels: int, n_bundles: int, n_singles: int, max_bundle_size: int
) -> None:
    """Raise ``ValueError`` for sizes no instance can have."""
    for name, value in (("n_offers", n_offers), ("n_segments", n_segments), ("n_levels", n_levels)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if int(n_bundles) != n_bundles or n_bundles < 0:
        raise ValueError(f"n_bundles must be a non-negative integer, got {n_bundles!r}")
    if n_bundles and n_singles < 2:
        raise ValueError(
            f"n_bundles={n_bundles} needs at least 2 singles, but n_offers - n_bundles = {n_singles}"
        )
    if n_bundles and max_bundle_size < 2:
        raise ValueError(f"max_bundle_size must be >= 2, got {max_bundle_size}")


def _bundle_components(
    rng: np.random.Generator, n_singles: int, n_bundles: int, max_size: int
) -> list[tuple[int, ...]]:
    """``n_bundles`` distinct sorted component sets of 2..max_size singles."""
    max_size = min(max_size, n_singles)
    sizes = range(2, max_size + 1)
    available = sum(comb(n_singles, k) for k in sizes)
    if n_bundles > available:
        raise ValueError(
            f"n_bundles={n_bundles} exceeds the {available} distinct bundles of 2..{max_size} "
            f"of {n_singles} singles"
        )
    seen: set[tuple[int, ...]] = set()
    out: list[tuple[int, ...]] = []
    while len(out) < n_bundles:
        size = int(rng.integers(2, max_size + 1))
        comp = tuple(sorted(rng.choice(n_singles, size=size, replace=False).tolist()))
        if comp not in seen:
            seen.add(comp)
            out.append(comp)
    return out



# ------------------------------------------------------------------ stress cases
# Instances built to break the exact solver rather than to look like a shop: badly
# scaled preference weights, degenerate ladders and every rule family, small enough
# for brute force (bundleopt.optimize.brute_force) to be the ground truth.

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


# ------------------------------------------------------------ exactness oracle
#: Outcomes of :func:`check_exactness`, worst first (a case gets the first that applies).
OUTCOMES: tuple[str, ...] = (
    "solver_error",        # solve raised something other than InfeasibleScenarioError
    "false_infeasible",    # InfeasibleScenarioError, but brute force found a feasible decision
    "false_feasible",      # a decision returned, but no decision satisfies the rules
    "rule_breaking",       # the returned decision breaks a rule (evaluate, tol 1e-9)
    "cut_off",             # best bound below the true optimum: the optimum was cut off
    "false_optimal",       # status "optimal" but the profit is short of the optimum
    "beats_brute_force",   # a feasible decision better than brute force's (an oracle bug)
    "not_proved",          # honest but weak: status not "optimal" (valid bound, true gap)
    "ok",                  # same optimum, valid bound, rule-abiding decision
    "ok_infeasible",       # both say infeasible
    "too_large",           # brute force would enumerate too many decisions: not checked
)


@dataclass(frozen=True)
class ExactnessCheck:
    """What :func:`check_exactness` found on one scenario (plain data).

    ``outcome`` is the worst of ``flags`` in ``OUTCOMES`` order; ``optimum`` is brute
    force's profit (None when infeasible or too large); ``profit``, ``objective``,
    ``bound``, ``status``, ``method`` come from the ``Solution`` (None when ``solve``
    raised, then ``error`` holds the message); ``violations`` are the evaluator's
    messages for the returned decision; ``tol`` the absolute tolerance used.
    """

    outcome: str
    flags: tuple[str, ...]
    optimum: float | None
    profit: float | None
    objective: float | None
    bound: float | None
    status: str | None
    method: str | None
    violations: tuple[str, ...]
    error: str | None
    tol: float
    seconds: float

    def shortfall(self) -> float | None:
        """``(optimum - bound) / |optimum|`` when the bound cuts the optimum off (``inf``
        when the optimum is 0 or the bound NaN), else None."""
        if self.optimum is None or self.bound is None or self.bound >= self.optimum - self.tol:
            return None
        if self.optimum == 0.0 or not np.isfinite(self.bound):
            return float("inf")
        return (self.optimum - self.bound) / abs(self.optimum)

    def summary(self) -> str:
        parts = [self.outcome, f"optimum={self.optimum!r}", f"profit={self.profit!r}",
                 f"bound={self.bound!r}", f"objective={self.objective!r}", f"status={self.status}",
                 f"method={self.method}"]
        if self.violations:
            parts.append(f"violations={list(self.violations)[:3]}")
        if self.error:
            parts.append(f"error={self.error[:300]}")
        return " ".join(parts)


ODDS_CAP = 1e14  # the stress cases' largest sum of purchase odds v / v0 (Scenario refuses > 1e15)


def profit_scale(scenario: Scenario) -> float:
    """``M sum_s w_s max_{o,k} |p_ok - c_o|``: no decision's profit exceeds it in size,
    and every profit is a sum of terms at most this large, so double-precision LP
    answers are exact to a small multiple of 1e-9 of it, not of an optimum near 0."""
    margin = np.abs(np.nan_to_num(scenario.prices - scenario.costs[:, None]))
    return float(scenario.market_size * (scenario.weights * margin.max()).sum()) or 1.0


def check_exactness(
    scenario: Scenario,
    *,
    rtol: float = 1e-6,
    atol: float | None = None,
    mip_gap: float = 1e-9,
    threads: int | None = 1,
    time_limit: float | None = None,
    max_decisions: int = 2_000_000,
    solver: Callable[..., Solution] | None = None,
) -> ExactnessCheck:
    """Compare :func:`bundleopt.solve` (or ``solver``, same signature) with brute force.

    Ground truth: :func:`bundleopt.optimize.brute_force.brute_force` enumerates every
    decision and checks it with the evaluator, without the MILP. The answer of
    ``solve(scenario, mip_gap=mip_gap)`` is then checked independently: its decision
    re-evaluated by :func:`bundleopt.optimize.evaluation.evaluate` (every rule, default
    tolerance, and the profit), its best bound ``>= optimum - tol``, and its claims:
    ``status="optimal"`` needs the profit within ``tol`` of the optimum; a weaker
    answer honestly labelled (status not "optimal", valid bound, so a true gap) is
    ``"not_proved"``; ``tol = rtol |optimum| + atol`` (``atol`` defaults to 1e-9 of
    :func:`profit_scale`: an optimum near 0 among profits of order 1 is only known to
    floating-point accuracy of the latter). The solver's own ``objective`` is not
    judged (it is the solver's value of its conditioned model; profit, bound and gap
    are what a user relies on). ``InfeasibleScenarioError`` must come exactly when
    brute force finds no feasible decision. Outcomes: ``OUTCOMES``.
    """
    import time

    from bundleopt.optimize.brute_force import brute_force
    from bundleopt.optimize.diagnose import InfeasibleScenarioError
    from bundleopt.optimize.evaluation import evaluate

    if solver is None:
        from bundleopt.optimize import solve as solver

    atol = 1e-9 * profit_scale(scenario) if atol is None else atol
    t0 = time.perf_counter()
    optimum: float | None = None
    try:
        optimum = brute_force(scenario, max_decisions=max_decisions)[1].profit
    except ValueError as exc:
        if "too large" in str(exc):
            return ExactnessCheck("too_large", ("too_large",), None, None, None, None, None, None, (),
                                  str(exc), atol, time.perf_counter() - t0)
        if "infeasible" not in str(exc):
            raise
    tol = rtol * abs(optimum or 0.0) + atol
    flags: list[str] = []
    sol, error = None, None
    try:
        sol = solver(scenario, time_limit=time_limit, mip_gap=mip_gap, threads=threads)
    except InfeasibleScenarioError as exc:
        error = f"InfeasibleScenarioError: {exc}"
        flags.append("false_infeasible" if optimum is not None else "ok_infeasible")
    except Exception as exc:  # noqa: BLE001 - any other exception is the finding
        error = f"{type(exc).__name__}: {exc}"
        flags.append("solver_error")
    violations: tuple[str, ...] = ()
    if sol is not None:
        ev = evaluate(scenario, sol.decision)
        violations = tuple(ev.violations)
        if optimum is None:
            flags.append("false_feasible")
        if violations:
            flags.append("rule_breaking")
        if optimum is not None:
            if not sol.best_bound >= optimum - tol:  # NaN counts as cut off
                flags.append("cut_off")
            if ev.feasible and ev.profit < optimum - tol:
                flags.append("false_optimal" if sol.status == "optimal" else "not_proved")
            if ev.feasible and ev.profit > optimum + tol:
                flags.append("beats_brute_force")
        if not abs(ev.profit - sol.profit) <= tol:
            flags.append("solver_error")  # the Solution's profit is not its decision's
        if sol.status != "optimal" and time_limit is None:
            flags.append("not_proved")
    flags = flags or ["ok"]
    outcome = min(flags, key=OUTCOMES.index)
    return ExactnessCheck(
        outcome=outcome, flags=tuple(sorted(set(flags), key=OUTCOMES.index)), optimum=optimum,
        profit=None if sol is None else sol.profit, objective=None if sol is None else sol.objective,
        bound=None if sol is None else sol.best_bound, status=None if sol is None else sol.status,
        method=None if sol is None else sol.method, violations=violations, error=error, tol=tol,
        seconds=time.perf_counter() - t0,
    )


def ladder_instance(n_offers: int, n_segments: int, max_offers: int | None = None, *,
                    seed: int = 0, ladder: tuple[float, ...] = (0.8, 0.9, 1.0, 1.1, 1.2)) -> Scenario:
    """A second generator, not used to tune the solver (issue-14 speed goals):

    list price ``U(10, 50)``, cost ``= list x U(0.4, 0.7)``, prices ``list x ladder``
    (above list too), segment weights ``Dirichlet(1)``, price sensitivity
    ``beta_s ~ U(4, 12)`` per unit of ``price / list``, taste ``a_so ~ N(0, 1) + beta_s``,
    so ``v[s, o, k] = exp(a_so - beta_s p_ok / list_o)``, and no-purchase weight
    ``v0_s ~ U(2, 6)``. Singles only, uniform prices.

    >>> sc = ladder_instance(10, 3, 4, seed=1)
    >>> sc.n_offers, sc.n_segments, sc.n_levels
    (10, 3, 5)
    """
    rng = np.random.default_rng([seed, 2])
    lists = rng.uniform(10.0, 50.0, size=n_offers)
    costs = lists * rng.uniform(0.4, 0.7, size=n_offers)
    prices = lists[:, None] * np.asarray(ladder, dtype=float)[None]
    weights = rng.dirichlet(np.ones(n_segments))
    beta = rng.uniform(4.0, 12.0, size=n_segments)
    taste = rng.normal(0.0, 1.0, size=(n_segments, n_offers)) + beta[:, None]
    v = np.exp(taste[:, :, None] - beta[:, None, None] * (prices / lists[:, None])[None])
    v0 = rng.uniform(2.0, 6.0, size=n_segments)
    return Scenario.from_arrays(v, v0, prices, costs, weights, personalised=False,
                                constraints=Constraints(max_offers=max_offers))
