"""The exact check of each rule family, on a batch of decisions.

One function per check, ``check_<rule>(scenario, q) -> RuleCheck``: ``q`` holds the
batch's levels, offers switched on, prices and MNL purchase probabilities
(:class:`Quantities`, computed by :mod:`bundleopt.optimize.evaluation`); the check
returns the normalised excess of every rule instance (``> tol`` = violated) and a
function that describes one instance in words. The rule registry
(:mod:`bundleopt.optimize.rules`) says which checks belong to which family; the
evaluator runs those of the families switched on. The semantics of each rule are in
:mod:`bundleopt.optimize.evaluation`'s docstring and ``formulations/rules.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse

from bundleopt.scenario import Scenario

#: Tolerance of every rule check (the normalised excess a rule may have, see
#: :mod:`bundleopt.optimize.evaluation`). The MILP's rule rows are loosened by exactly this
#: much in the same normalisation (:mod:`bundleopt.optimize.families`), so solver and
#: evaluator agree on what is feasible.
RULE_TOL = 1e-9


@dataclass(frozen=True)
class RuleCheck:
    """One rule family on a batch: excess (N, *instance shape), > tol = violated."""

    rule: str
    excess: np.ndarray
    describe: Callable[[tuple[int, ...]], str]


@dataclass(frozen=True)
class Quantities:
    """Per-batch arrays shared by the objective and the rule checks."""

    levels: np.ndarray  # (N, G, O) int
    on: np.ndarray  # (N, G, O) bool
    price: np.ndarray  # (N, G, O), 0 where not offered
    probs: np.ndarray  # (N, S, O)
    seg_profit: np.ndarray  # (N, S) per customer
    seg_revenue: np.ndarray  # (N, S) per customer



def multiplicity(scenario: Scenario) -> scipy.sparse.csr_array:
    """(O, J) times product j is a component of offer o (J = ``scenario.products``), sparse
    (one or a few non-zeros per offer: dense it is 0.4 GB at 7,000 offers and products)."""
    index = {p: j for j, p in enumerate(scenario.products)}
    rows = [o for o, comp in enumerate(scenario.components) for _ in comp]
    cols = [index[p] for comp in scenario.components for p in comp]
    return scipy.sparse.csr_array((np.ones(len(rows)), (rows, cols)), shape=(scenario.n_offers, len(index)))


def bundle_members(scenario: Scenario) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(bundles, used, mult)``: the bundle offers' indices (B,), the indices in
    ``scenario.products`` of the products in any bundle (U,), and ``mult`` (B, U) times each
    such product is a component of each bundle: :func:`multiplicity` restricted to its
    non-zero block (a few bundles among thousands of offers)."""
    bundles = np.flatnonzero(scenario.is_bundle)
    index = {p: j for j, p in enumerate(scenario.products)}
    used = sorted({index[p] for b in bundles for p in scenario.components[b]})
    col = {j: i for i, j in enumerate(used)}
    mult = np.zeros((len(bundles), len(used)))
    for i, b in enumerate(bundles):
        for p in scenario.components[b]:
            mult[i, col[index[p]]] += 1
    return bundles, np.asarray(used, dtype=int), mult


def _menu_name(scenario: Scenario, g: int) -> str:
    return f"the menu of segment {scenario.segment_ids[g]!r}" if scenario.n_menus > 1 else "the menu"



def check_min_margin(sc: Scenario, q: Quantities) -> RuleCheck:
    """Offered levels must pass the per-offer margin floor (``Scenario.allowed``)."""
    ok = sc.allowed()[np.arange(sc.n_offers), np.where(q.on, q.levels, 0)]
    excess = (q.on & ~ok).astype(float)

    def describe(idx: tuple[int, ...]) -> str:
        g, o = idx[1:]
        k = int(q.levels[0, g, o])
        p = sc.prices[o, k]
        return (
            f"offer {sc.offer_ids[o]!r} on {_menu_name(sc, g)} at level {k} (price {p:.6g}) has "
            f"margin rate {(p - sc.costs[o]) / p:.4g} < {sc.constraints.min_margin}"
        )

    return RuleCheck("min_margin", excess, describe)


def check_max_offers(sc: Scenario, q: Quantities) -> RuleCheck:
    """Number of offers on each menu <= C."""
    count = q.on.sum(axis=2)
    cap = sc.constraints.max_offers

    def describe(idx: tuple[int, ...]) -> str:
        return f"{_menu_name(sc, idx[1])} has {count[idx]} offers > {cap}"

    return RuleCheck("max_offers", (count - cap).astype(float), describe)


def check_max_bundles(sc: Scenario, q: Quantities) -> RuleCheck:
    """Number of bundles on each menu <= C_b."""
    count = (q.on & sc.is_bundle).sum(axis=2)
    cap = sc.constraints.max_bundles

    def describe(idx: tuple[int, ...]) -> str:
        return f"{_menu_name(sc, idx[1])} has {count[idx]} bundles > {cap}"

    return RuleCheck("max_bundles", (count - cap).astype(float), describe)


def check_bundles_per_product(sc: Scenario, q: Quantities) -> RuleCheck:
    """Offered bundles containing each product, per menu, <= r."""
    bundles, used, mult = bundle_members(sc)
    count = np.zeros(q.on.shape[:2] + (len(sc.products),))
    count[:, :, used] = q.on[:, :, bundles].astype(float) @ (mult > 0)  # only bundles hold products
    cap = sc.constraints.max_bundles_per_product

    def describe(idx: tuple[int, ...]) -> str:
        g, j = idx[1:]
        names = [sc.offer_ids[b] for b in bundles if q.on[0, g, b] and sc.products[j] in sc.components[b]]
        return (
            f"product {sc.products[j]!r} is in {int(count[idx])} bundles on {_menu_name(sc, g)} "
            f"> {cap}: {names}"
        )

    return RuleCheck("max_bundles_per_product", count - cap, describe)


def _component_price_sum(sc: Scenario, q: Quantities) -> np.ndarray:
    """(N, G, O) for bundles: sum of component prices (chosen on the menu, else list)."""
    bundles, used, mult = bundle_members(sc)
    out = np.zeros(q.price.shape)
    if bundles.size:
        single = sc.single_offer()
        products = sc.products
        singles = np.array([single[products[j]] for j in used])  # (U,): only products in bundles
        list_price = sc.list_prices()[singles]
        comp_price = np.where(q.on[:, :, singles], q.price[:, :, singles], list_price)  # (N, G, U)
        out[:, :, bundles] = comp_price @ mult.T  # (N, G, U) x (U, B): O(N G U B), not O(N G J O)
    return out


def check_bundle_discount(sc: Scenario, q: Quantities, rule: str) -> RuleCheck:
    """No-arbitrage / discount band: (1 - d_max) S_b <= p_b <= (1 - d_min) S_b."""
    total = _component_price_sum(sc, q)
    d = getattr(sc.constraints, rule)
    bound = (1.0 - d) * total
    active = q.on & sc.is_bundle
    scale = np.where(total > 0, total, 1.0)
    if rule == "min_bundle_discount":
        excess = np.where(active, (q.price - bound) / scale, 0.0)
        relation, word = ">", "at most"
    else:
        excess = np.where(active, (bound - q.price) / scale, 0.0)
        relation, word = "<", "at least"
    single = sc.single_offer()

    def describe(idx: tuple[int, ...]) -> str:
        g, o = idx[1:]
        parts = []
        for p in sc.components[o]:
            so = single[p]
            src = "chosen" if q.on[0, g, so] else "list"
            price = q.price[0, g, so] if q.on[0, g, so] else sc.list_prices()[so]
            parts.append(f"{p!r} {price:.6g} ({src})")
        return (
            f"bundle {sc.offer_ids[o]!r} on {_menu_name(sc, g)} costs {q.price[0, g, o]:.6g} {relation} "
            f"{bound[0, g, o]:.6g} = (1 - {d}) x {total[0, g, o]:.6g}, must be {word} that; "
            f"components: {', '.join(parts)}"
        )

    return RuleCheck(rule, excess, describe)


def check_margin_rate(sc: Scenario, q: Quantities) -> RuleCheck:
    """Aggregate expected margin rate: margin >= m * revenue, overall or per segment."""
    m = sc.constraints.min_margin_rate
    if sc.constraints.margin_rate_scope == "overall":
        margin = q.seg_profit @ sc.weights
        revenue = q.seg_revenue @ sc.weights
    else:
        margin, revenue = q.seg_profit, q.seg_revenue
    excess = (m * revenue - margin) / np.maximum(1.0, revenue)

    def describe(idx: tuple[int, ...]) -> str:
        where = "overall" if len(idx) == 1 else f"segment {sc.segment_ids[idx[1]]!r}"
        rate = margin[idx] / revenue[idx] if revenue[idx] > 0 else float("nan")
        return (
            f"{where}: expected margin rate {rate:.6g} < {m} "
            f"(margin {margin[idx]:.6g}, revenue {revenue[idx]:.6g} per customer)"
        )

    return RuleCheck("min_margin_rate", excess, describe)


def _protected(sc: Scenario) -> list[tuple[object, int]]:
    """(product, single offer index) pairs the cannibalisation cap protects."""
    single = sc.single_offer()
    names = sc.constraints.protected_products
    names = [p for p in sc.products if p in single] if names is None else list(names)
    return [(p, single[p]) for p in names]


def check_cannibalisation(sc: Scenario, q: Quantities) -> RuleCheck:
    """Standalone sales share of each protected product >= (1 - gamma) * reference."""
    gamma = sc.constraints.max_cannibalisation
    protected = _protected(sc)
    offers = np.array([o for _, o in protected], dtype=int)
    ref = sc.reference_sales()[offers]
    sales = np.einsum("s,nso->no", sc.weights, q.probs[:, :, offers])
    excess = (1.0 - gamma) * ref - sales

    def describe(idx: tuple[int, ...]) -> str:
        j = idx[1]
        return (
            f"product {protected[j][0]!r} standalone sales share {sales[idx]:.6g} < "
            f"(1 - {gamma}) x reference {ref[j]:.6g} = {(1.0 - gamma) * ref[j]:.6g}"
        )

    return RuleCheck("max_cannibalisation", excess, describe)


def check_price_spread(sc: Scenario, q: Quantities) -> RuleCheck:
    """Personalised fairness: p_s <= (1 + delta) p_s' for segments both offered o."""
    delta = sc.constraints.max_price_spread
    hi = q.price[:, :, None, :]  # (N, S, 1, O): segment s
    lo = q.price[:, None, :, :]  # (N, 1, S, O): segment s'
    both = q.on[:, :, None, :] & q.on[:, None, :, :]
    cap = (1.0 + delta) * lo
    excess = np.where(both, (hi - cap) / np.where(both, cap, 1.0), 0.0)

    def describe(idx: tuple[int, ...]) -> str:
        s, t, o = idx[1:]
        return (
            f"offer {sc.offer_ids[o]!r} costs {hi[0, s, 0, o]:.6g} for segment {sc.segment_ids[s]!r} "
            f"> (1 + {delta}) x {lo[0, 0, t, o]:.6g} for segment {sc.segment_ids[t]!r}"
        )

    return RuleCheck("max_price_spread", excess, describe)


def check_stock(sc: Scenario, q: Quantities) -> RuleCheck:
    """Market size x expected units of each stocked product <= its stock."""
    stock = dict(sc.constraints.stock or {})
    index = {p: j for j, p in enumerate(sc.products)}
    names = list(stock)
    cols = np.array([index[p] for p in names], dtype=int)
    limit = np.array([stock[p] for p in names], dtype=float)
    mult = multiplicity(sc)[:, cols]  # (O, J') sparse
    units = sc.market_size * (np.einsum("s,nso->no", sc.weights, q.probs) @ mult)
    excess = (units - limit) / np.maximum(1.0, limit)

    def describe(idx: tuple[int, ...]) -> str:
        j = idx[1]
        return f"product {names[j]!r} expected units {units[idx]:.6g} > stock {limit[j]:.6g}"

    return RuleCheck("stock", excess, describe)



def check_must_offer(sc: Scenario, q: Quantities) -> RuleCheck:
    """Each product kept on sale has its single offer on every menu (at some level).

    Excess ``1 - on[g, single(j)]`` per menu g and kept product j (a count: 1 when the
    offer is missing from that menu)."""
    single = sc.single_offer()
    kept = list(sc.constraints.must_offer or ())
    offers = np.array([single[p] for p in kept], dtype=int)
    excess = 1.0 - q.on[:, :, offers].astype(float)  # (N, G, J)

    def describe(idx: tuple[int, ...]) -> str:
        g, j = idx[1:]
        return f"product {kept[j]!r} must stay on sale but is not on {_menu_name(sc, g)}"

    return RuleCheck("must_offer", excess, describe)
