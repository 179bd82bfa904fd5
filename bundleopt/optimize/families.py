"""One function per constraint family: ``define_<family>_constraints(model, scenario)``.

Each function reads ``model.info`` (:class:`bundleopt.optimize.model.BuildInfo`) and
adds its rows. Notation: menu ``g``, segment ``s`` (whose menu is ``g(s)``),
``on[g,o,k]`` is ``y[g,o,k]``; a per-menu rule ``sum a[o,k] on[g,o,k] (<=, >=) b``
is also written in its RLT / homogenised form ``sum a[o,k] z[s,o,k] (<=, >=) b x[s]``
for every segment on that menu (valid because ``z = x y`` and ``x > 0``). In a
projected build (one segment, no ``y``) only the homogenised form exists.

Each family has a section in ``formulations/rules.md`` and a test file
``tests/test_optimize_<family>.py``. Which builder belongs to which family, and when it
is switched on, is the rule registry's (:mod:`bundleopt.optimize.rules`).
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from bundleopt.optimize.core_rows import Terms, _info, _levels, add_menu_rows
from bundleopt.optimize.levels import PRICE_RTOL, component_price_range
from bundleopt.optimize.levels import level_mask as level_mask  # used by menu_oracle and coupled
from bundleopt.optimize.rule_checks import RULE_TOL
from bundleopt.scenario import Scenario


def define_margin_floor_constraints(m: pyo.ConcreteModel, scenario: Scenario) -> None:
    """Per-offer margin floor ``(p - c) / p >= min_margin``.

    Applied before the build by :func:`level_mask`: levels below the floor get no
    variables, so this function adds no rows.
    """


def define_margin_rate_constraints(m: pyo.ConcreteModel, scenario: Scenario) -> None:
    """Aggregate expected margin rate ``sum (p - c) v z >= m sum p v z``.

    Overall: ``sum_s w_s sum_{o,k} ((1 - m) p_ok - c_o) v_sok z_sok >= 0``; with
    ``margin_rate_scope="segment"`` one such row per segment (without ``w_s``).
    """
    sc = scenario
    rate = sc.constraints.min_margin_rate
    coef = np.nan_to_num((1 - rate) * sc.prices - sc.costs[:, None])[None] * sc.v  # (S,O,K)
    terms: dict[int, list] = {s: [] for s in range(sc.n_segments)}
    for s, o, k in m.ZI:
        if coef[s, o, k] != 0.0:
            terms[s].append(coef[s, o, k] * m.z[s, o, k])
    # the evaluator's tolerance: its excess is normalised by max(1, revenue) >= 1, so a
    # slack of RULE_TOL never admits a decision the evaluator rejects
    if sc.constraints.margin_rate_scope == "segment":
        m.margin_rate = pyo.Constraint(m.S, rule=lambda _, s: sum(terms[s]) >= -RULE_TOL
                                       if terms[s] else pyo.Constraint.Skip)
    else:
        total = sum(sc.weights[s] * t for s in terms for t in terms[s])
        if not isinstance(total, (int, float)):
            m.margin_rate = pyo.Constraint(expr=total >= -RULE_TOL)


# --------------------------------------------------------- cardinality
def define_cardinality_constraints(m: pyo.ConcreteModel, scenario: Scenario) -> None:
    """At most C offers and C_b bundles per menu: ``sum_{o,k} y_gok <= C``,
    ``sum_{bundles b,k} y_gbk <= C_b`` (RLT: ``sum z_s.. <= C x_s``)."""
    info = _info(m)
    c = scenario.constraints
    bundles = set(np.flatnonzero(scenario.is_bundle).tolist())
    if c.max_offers is not None:
        add_menu_rows(m, "max_offers", (
            (g, [(p, 1.0) for p in info.pairs], "<=", float(c.max_offers))
            for g in range(scenario.n_menus)
        ))
    if c.max_bundles is not None:
        add_menu_rows(m, "max_bundles", (
            (g, [(p, 1.0) for p in info.pairs if p[0] in bundles], "<=", float(c.max_bundles))
            for g in range(scenario.n_menus)
        ))


def define_bundles_per_product_constraints(m: pyo.ConcreteModel, scenario: Scenario) -> None:
    """Each product in at most r offered bundles per menu:
    ``sum_{b contains j, k} y_gbk <= r`` (RLT: ``<= r x_s``)."""
    info = _info(m)
    r = float(scenario.constraints.max_bundles_per_product)
    rows = []
    for j in scenario.products:
        holders = {b for b in np.flatnonzero(scenario.is_bundle) if j in scenario.components[b]}
        terms = [(p, 1.0) for p in info.pairs if p[0] in holders]
        if len(holders) > r:
            rows.extend((g, terms, "<=", r) for g in range(scenario.n_menus))
    add_menu_rows(m, "bundles_per_product", rows)


# -------------------------------------------------------- no-arbitrage
def define_no_arbitrage_constraints(m: pyo.ConcreteModel, scenario: Scenario) -> None:
    """Bundle price within a discount band of the sum of its components' prices.

    A component j's price on menu g is linear in y:
    ``q_j = list_j + sum_k (p_jk - list_j) y_gjk`` (list price when not offered).
    With ``Q = sum_j q_j`` in ``[S_min, S_max]`` (:func:`component_price_range`),
    ``T_bk = p_bk / (1 - d_min)`` and ``U_bk = p_bk / (1 - d_max)``:

    * min discount: ``Q >= S_min + sum_k max(0, T_bk - S_min) y_gbk``
    * max discount: ``Q <= S_max - sum_k max(0, S_max - U_bk) y_gbk``

    Both are exact (at most one ``y_gbk`` is 1) and need no big-M.
    """
    info = _info(m)
    sc = scenario
    c = sc.constraints
    single = sc.single_offer()
    lists = sc.list_prices()
    lo, hi = component_price_range(sc, info.mask)
    rows = []
    for b in np.flatnonzero(sc.is_bundle):
        if not info.mask[b].any():
            continue
        comp_terms: list[tuple[tuple[int, int], float]] = []
        base = 0.0
        for j in sc.components[b]:
            o = single[j]
            base += lists[o]
            comp_terms += [((o, k), sc.prices[o, k] - lists[o]) for k in _levels(info, o)
                           if sc.prices[o, k] != lists[o]]
        tol = PRICE_RTOL * hi[b]
        for g in range(sc.n_menus):
            if c.min_bundle_discount is not None:
                extra = [((b, k), -max(0.0, sc.prices[b, k] / (1 - c.min_bundle_discount) - tol - lo[b]))
                         for k in _levels(info, b)]
                terms = _merge(comp_terms + [t for t in extra if t[1] != 0.0])
                rows.append((g, terms, ">=", lo[b] - base))
            if c.max_bundle_discount is not None:
                extra = [((b, k), max(0.0, hi[b] - sc.prices[b, k] / (1 - c.max_bundle_discount) - tol))
                         for k in _levels(info, b)]
                terms = _merge(comp_terms + [t for t in extra if t[1] != 0.0])
                rows.append((g, terms, "<=", hi[b] - base))
    add_menu_rows(m, "no_arbitrage", rows)


def _merge(terms: Terms) -> list[tuple[tuple[int, int], float]]:
    """Sum coefficients of repeated pairs (a bundle listing a product twice)."""
    out: dict[tuple[int, int], float] = {}
    for p, a in terms:
        out[p] = out.get(p, 0.0) + a
    return [(p, a) for p, a in out.items() if a != 0.0]


# ---------------------------------------------------- cannibalisation
def define_cannibalisation_constraints(m: pyo.ConcreteModel, scenario: Scenario) -> None:
    """Standalone sales of each protected product j (single offer o_j) stay at least
    ``(1 - gamma)`` of its reference sales:
    ``sum_s w_s sum_k v_s,o_j,k z_s,o_j,k >= (1 - gamma) ref[o_j]``."""
    info = _info(m)
    sc = scenario
    c = sc.constraints
    single = sc.single_offer()
    protected = list(single) if c.protected_products is None else list(c.protected_products)
    ref = sc.reference_sales()
    m.cannibalisation = pyo.ConstraintList()
    for j in protected:
        o = single[j]
        floor = (1 - c.max_cannibalisation) * ref[o]
        if floor <= 0:
            continue
        terms = [sc.weights[s] * sc.v[s, o, k] * m.z[s, o, k]
                 for s in range(sc.n_segments) for k in _levels(info, o) if sc.v[s, o, k] > 0]
        if not terms:
            _infeasible(m, j)
            continue
        m.cannibalisation.add(sum(terms) >= floor - RULE_TOL)  # the evaluator's (absolute) tolerance


def _infeasible(m: pyo.ConcreteModel, product: object) -> None:
    """A product a rule needs on sale that can never be (cannibalisation: no allowed
    level with v > 0; must_offer: no allowed level): add a row no point satisfies, so
    the solver reports the scenario infeasible."""
    if not hasattr(m, "unsellable"):
        m.unsellable = pyo.ConstraintList()
    # 0 >= 1 cannot be written as a Pyomo row; x_0 <= L_0 - 1 is impossible instead.
    m.unsellable.add(m.x[0] <= _info(m).lower[0] - 1.0)


# ------------------------------------------------------------ fairness
def define_fairness_constraints(m: pyo.ConcreteModel, scenario: Scenario) -> None:
    """Personalised prices of one offer differ by at most delta across segments.

    For offer o, segments s != t and level k: the levels k' of t with
    ``p_ok > (1 + delta) p_ok'`` conflict with k on s:
    ``y_s,o,k + sum_{k' conflicting} y_t,o,k' <= 1``. Uniform menus: nothing to add.
    """
    info = _info(m)
    sc = scenario
    if not sc.personalised or sc.n_segments < 2 or info.projected:
        return
    delta = sc.constraints.max_price_spread
    m.fairness = pyo.ConstraintList()
    for o in range(sc.n_offers):
        ks = _levels(info, o)
        for k in ks:
            bad = [kk for kk in ks if sc.prices[o, k] > (1 + delta) * sc.prices[o, kk] * (1 + PRICE_RTOL)]
            if not bad:
                continue
            for s in range(sc.n_segments):
                for t in range(sc.n_segments):
                    if s != t:
                        m.fairness.add(m.y[s, o, k] + sum(m.y[t, o, kk] for kk in bad) <= 1)


# --------------------------------------------------------------- stock
def define_stock_constraints(m: pyo.ConcreteModel, scenario: Scenario) -> None:
    """Expected units of product j through singles and bundles, times market size,
    at most its stock: ``M sum_s w_s sum_{o contains j} n_jo sum_k v_sok z_sok <= stock_j``."""
    info = _info(m)
    sc = scenario
    m.stock = pyo.ConstraintList()
    for j, units in sc.constraints.stock.items():
        holders = [(o, sc.components[o].count(j)) for o in range(sc.n_offers) if j in sc.components[o]]
        terms = [sc.market_size * sc.weights[s] * n * sc.v[s, o, k] * m.z[s, o, k]
                 for o, n in holders for k in _levels(info, o)
                 for s in range(sc.n_segments) if sc.v[s, o, k] > 0]
        if terms:  # the evaluator's tolerance, relative to max(1, stock)
            m.stock.add(sum(terms) <= float(units) + RULE_TOL * max(1.0, float(units)))


# ----------------------------------------------------------- must offer
def define_must_offer_constraints(m: pyo.ConcreteModel, scenario: Scenario) -> None:
    """Each product j kept on sale has its single offer o_j on every menu g, at some
    allowed level: ``sum_k y_g,o_j,k >= 1`` (RLT: ``sum_k z_s,o_j,k >= x_s``; with the
    one-price row this is ``= 1``). A kept product with no allowed level (every level
    below the margin floor) can never be on a menu: the build is made infeasible."""
    info = _info(m)
    single = scenario.single_offer()
    rows = []
    for j in scenario.constraints.must_offer or ():
        o = single[j]
        terms = [((o, k), 1.0) for k in _levels(info, o)]
        if not terms:
            _infeasible(m, j)
            continue
        rows.extend((g, terms, ">=", 1.0) for g in range(scenario.n_menus))
    add_menu_rows(m, "must_offer", rows)
