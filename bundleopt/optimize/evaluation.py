"""Exact expected profit of a decision under the latent-class MNL, and rule checks.

For a decision with ladder level ``k(g, o)`` of offer o on menu g (``-1`` = not
offered), segment s sees menu ``g(s)`` (``g(s) = s`` when prices are personalised,
else 0). With ``vv[s, o] = v[s, o, k(g(s), o)]`` for offered o and 0 otherwise:

    P[s, o]   = vv[s, o] / (v0[s] + sum_o' vv[s, o'])              (purchase probability)
    profit    = M * sum_s w_s sum_o (p[o, k] - c_o) P[s, o]
    revenue   = M * sum_s w_s sum_o p[o, k] P[s, o]
    units_j   = M * sum_s w_s sum_o n[o, j] P[s, o]                 (product units)
    units     = sum_j units_j

with ``M = Scenario.market_size`` and ``n[o, j]`` the number of times product j is
a component of offer o. This module is independent of the MILP: it is the ground
truth the MILP's objective is checked against. Which rules are checked, and how, is the
rule registry's (:mod:`bundleopt.optimize.rules`; the checks are in
:mod:`bundleopt.optimize.rule_checks`).

Rule semantics (Constraints docstring; see formulations/evaluation_and_baselines.md).
Every rule is checked literally on the decision, per menu where the rule is per menu:

* ``min_margin``: an offered level must pass ``Scenario.allowed()``;
* ``max_offers`` / ``max_bundles``: offers / bundles on each menu;
* ``max_bundles_per_product``: offered bundles containing each product, per menu;
* ``min_bundle_discount`` / ``max_bundle_discount``: for each offered bundle b on
  menu g, ``(1 - d_max) * S_b <= p_b <= (1 - d_min) * S_b`` with ``S_b`` the sum over
  its components of the component single's price on menu g, or its list price when
  that single is not on menu g;
* ``min_margin_rate``: ``sum w (p - c) P >= m * sum w p P`` over all segments
  (``scope="overall"``), or ``sum_o (p - c) P[s, o] >= m * sum_o p P[s, o]`` for
  each segment (``scope="segment"``);
* ``max_cannibalisation``: ``sum_s w_s P[s, single(j)] >= (1 - gamma) * ref[single(j)]``
  for each protected product j (``ref = Scenario.reference_sales()``);
* ``max_price_spread``: personalised only; for each offer and each ordered pair of
  segments both offered it, ``p_s <= (1 + delta) * p_s'``;
* ``stock``: ``units_j <= stock[j]``;
* ``must_offer``: the single offer of each listed product is on every menu.

A rule instance is violated when its normalised excess exceeds ``tol`` (relative to
the price sum for discounts, to the lower price for the spread, to ``max(1, revenue
per customer)`` for the margin rate, to ``max(1, stock)`` for stock; absolute for
counts and sales shares).

Decision validation: a decision whose shape is not ``(n_menus, n_offers)`` (a single
row is also accepted for personalised scenarios: the same menu for every segment),
whose levels are outside ``-1..K-1``, or that offers a level whose price is NaN (the
level does not exist) raises ``ValueError``: it cannot be evaluated. An existing level
that fails the per-offer margin floor can be evaluated, so it is reported as a
``min_margin`` violation instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bundleopt.optimize.rule_checks import RULE_TOL, Quantities, RuleCheck, multiplicity
from bundleopt.optimize.rules import REGISTRY
from bundleopt.scenario import NOT_OFFERED, Decision, Scenario

# Rule checks are vectorised over a batch of decisions; this caps the number of
# (decision, segment, offer) entries held at once.
_CHUNK_ENTRIES = 2_000_000


@dataclass(frozen=True)
class Evaluation:
    """Exact expected outcome of one decision (plain data).

    ``profit``, ``revenue`` and ``units`` (product units through singles and bundles)
    are totals scaled by ``market_size``. ``probabilities`` (S, O) are per-customer
    purchase probabilities. ``by_segment`` has one row per segment: ``segment``,
    ``weight``, ``profit``, ``revenue``, ``units`` (each that segment's contribution to
    the total, so the columns sum to the totals) and ``purchase_probability`` (per
    customer of that segment). ``product_units`` is indexed by product id.
    ``violations`` lists one message per violated rule instance; ``feasible`` is True
    when it is empty.
    """

    profit: float
    revenue: float
    units: float
    probabilities: np.ndarray
    by_segment: pd.DataFrame
    product_units: pd.Series
    violations: list[str]
    feasible: bool


@dataclass(frozen=True)
class BatchEvaluation:
    """Profit and rule status of N decisions at once (see :func:`evaluate_many`).

    ``profit`` and ``revenue`` (N,) are totals scaled by ``market_size``;
    ``n_violations`` (N,) counts violated rule instances; ``infeasibility`` (N,) sums
    their normalised excesses (0 when feasible); ``feasible`` (N,) bool.
    """

    profit: np.ndarray
    revenue: np.ndarray
    n_violations: np.ndarray
    infeasibility: np.ndarray
    feasible: np.ndarray



# --------------------------------------------------------------------------- API
def evaluate(scenario: Scenario, decision: Decision | np.ndarray, tol: float = RULE_TOL) -> Evaluation:
    """Exact expected profit, revenue, units and rule violations of ``decision``.

    See the module docstring for the formulas. Raises ``ValueError`` for a decision
    that cannot be evaluated (wrong shape, level out of range, level with no price).

    >>> import numpy as np
    >>> from bundleopt.scenario import Scenario, Decision
    >>> sc = Scenario.from_arrays(np.ones((1, 2, 1)), [1.0], [[2.0], [3.0]], [1.0, 1.0], [1.0])
    >>> round(evaluate(sc, Decision([[0, 0]])).profit, 6)  # (1 + 2) / 3
    1.0
    """
    levels = validate_decision(scenario, decision)
    q = _quantities(scenario, levels[None])
    violations = _messages(scenario, q, tol)
    w, m = scenario.weights, scenario.market_size
    probs = q.probs[0]
    mult = multiplicity(scenario)
    seg_units = probs @ mult.sum(axis=1)
    product_units = m * (w @ probs) @ mult
    by_segment = pd.DataFrame(
        {
            "segment": list(scenario.segment_ids),
            "weight": w,
            "profit": m * w * q.seg_profit[0],
            "revenue": m * w * q.seg_revenue[0],
            "units": m * w * seg_units,
            "purchase_probability": probs.sum(axis=1),
        }
    )
    return Evaluation(
        profit=float(by_segment["profit"].sum()),
        revenue=float(by_segment["revenue"].sum()),
        units=float(product_units.sum()),
        probabilities=probs,
        by_segment=by_segment,
        product_units=pd.Series(product_units, index=list(scenario.products), name="units"),
        violations=violations,
        feasible=not violations,
    )


def check_constraints(scenario: Scenario, decision: Decision | np.ndarray, tol: float = RULE_TOL) -> list[str]:
    """One human-readable message per violated rule instance (empty when feasible).

    Each message starts with the rule's name (the ``Constraints`` field) and names
    the offer, product, segment or menu concerned.
    """
    levels = validate_decision(scenario, decision)
    return _messages(scenario, _quantities(scenario, levels[None]), tol)


def evaluate_many(scenario: Scenario, levels: np.ndarray, tol: float = RULE_TOL) -> BatchEvaluation:
    """Profit and rule status of a batch of decisions, vectorised.

    ``levels`` has shape (N, n_menus, O); the levels must be valid (use
    :func:`validate_decision` on untrusted input). Same formulas and tolerances as
    :func:`evaluate` and :func:`check_constraints`.
    """
    levels = np.asarray(levels, dtype=int)
    if levels.ndim != 3 or levels.shape[1:] != (scenario.n_menus, scenario.n_offers):
        raise ValueError(
            f"levels must have shape (N, {scenario.n_menus}, {scenario.n_offers}), got {levels.shape}"
        )
    parts = [_evaluate_chunk(scenario, chunk, tol) for chunk in _chunks(scenario, levels)]
    if not parts:
        empty = np.zeros(0)
        return BatchEvaluation(empty, empty, empty.astype(int), empty, empty.astype(bool))
    return BatchEvaluation(*(np.concatenate(arrs) for arrs in zip(*parts, strict=True)))


@dataclass(frozen=True)
class SegmentOutcomes:
    """Per-customer outcomes of N decisions: ``probabilities`` (N, S, O) and the
    expected ``margin`` and ``revenue`` per customer of each segment (N, S)."""

    probabilities: np.ndarray
    margin: np.ndarray
    revenue: np.ndarray


def segment_outcomes(scenario: Scenario, levels: np.ndarray) -> SegmentOutcomes:
    """MNL purchase probabilities, margin and revenue per customer for (N, menus, O) levels
    (not scaled by weight or market size; levels assumed valid)."""
    q = _quantities(scenario, np.asarray(levels, dtype=int))
    return SegmentOutcomes(q.probs, q.seg_profit, q.seg_revenue)


def validate_decision(scenario: Scenario, decision: Decision | np.ndarray) -> np.ndarray:
    """The decision's levels as an int array (n_menus, O), or a ``ValueError``.

    A single row is broadcast to every segment when prices are personalised.
    """
    levels = decision.levels if isinstance(decision, Decision) else Decision(np.asarray(decision)).levels
    n_menus, n_offers = scenario.n_menus, scenario.n_offers
    if levels.shape[1] != n_offers:
        raise ValueError(f"decision has {levels.shape[1]} offers per menu, the scenario has {n_offers}")
    if levels.shape[0] == 1 and n_menus > 1:
        levels = np.repeat(levels, n_menus, axis=0)
    if levels.shape[0] != n_menus:
        kind = "personalised (one per segment)" if scenario.personalised else "uniform (one menu)"
        raise ValueError(
            f"decision has {levels.shape[0]} menus; the scenario's prices are {kind}: expected {n_menus}"
        )
    bad = np.argwhere((levels < NOT_OFFERED) | (levels >= scenario.n_levels))
    if bad.size:
        g, o = bad[0]
        raise ValueError(
            f"decision level {levels[g, o]} for offer {scenario.offer_ids[o]!r} on menu {g} is outside "
            f"{NOT_OFFERED}..{scenario.n_levels - 1} ({NOT_OFFERED} = not offered)"
        )
    on = levels >= 0
    exists = np.isfinite(scenario.prices[np.arange(n_offers)[None, :], np.where(on, levels, 0)])
    bad = np.argwhere(on & ~exists)
    if bad.size:
        g, o = bad[0]
        raise ValueError(
            f"decision offers {scenario.offer_ids[o]!r} at level {levels[g, o]} on menu {g}, "
            "but that offer has no price at that level (NaN in Scenario.prices)"
        )
    return levels


# ------------------------------------------------------------------ internals
def _chunks(scenario: Scenario, levels: np.ndarray) -> Iterator[np.ndarray]:
    """Slices of the batch holding at most ``_CHUNK_ENTRIES`` (N, S, O) entries."""
    per = max(1, scenario.n_segments * scenario.n_offers * max(1, scenario.n_menus))
    size = max(1, _CHUNK_ENTRIES // per)
    for start in range(0, levels.shape[0], size):
        yield levels[start : start + size]


def _evaluate_chunk(
    scenario: Scenario, levels: np.ndarray, tol: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    q = _quantities(scenario, levels)
    n = levels.shape[0]
    count = np.zeros(n, dtype=int)
    excess = np.zeros(n)
    for c in _rule_checks(scenario, q):
        e = c.excess.reshape(n, -1)
        hit = e > tol
        count += hit.sum(axis=1)
        excess += np.where(hit, e, 0.0).sum(axis=1)
    w, m = scenario.weights, scenario.market_size
    return m * q.seg_profit @ w, m * q.seg_revenue @ w, count, excess, count == 0


def _messages(scenario: Scenario, q: Quantities, tol: float) -> list[str]:
    """Messages for the violated rule instances of the first decision in ``q``."""
    return [
        f"{c.rule}: {c.describe((0, *(int(i) for i in idx)))}"
        for c in _rule_checks(scenario, q)
        for idx in np.argwhere(c.excess[0] > tol)
    ]


def _segment_menu(scenario: Scenario) -> np.ndarray:
    """(S,) menu index each segment sees."""
    if scenario.n_menus > 1:
        return np.arange(scenario.n_segments)
    return np.zeros(scenario.n_segments, dtype=int)


def _quantities(scenario: Scenario, levels: np.ndarray) -> Quantities:
    """MNL purchase probabilities and per-customer profit/revenue for (N, G, O) levels."""
    o_idx = np.arange(scenario.n_offers)
    on = levels >= 0
    k = np.where(on, levels, 0)
    price = np.where(on, scenario.prices[o_idx, k], 0.0)
    seg = _segment_menu(scenario)
    on_s, k_s, price_s = on[:, seg, :], k[:, seg, :], price[:, seg, :]
    s_idx = np.arange(scenario.n_segments)[None, :, None]
    vv = np.where(on_s, scenario.v[s_idx, o_idx[None, None, :], k_s], 0.0)
    probs = vv / (scenario.v0[None, :, None] + vv.sum(axis=2, keepdims=True))
    margin = np.where(on_s, price_s - scenario.costs, 0.0)
    return Quantities(
        levels=levels,
        on=on,
        price=price,
        probs=probs,
        seg_profit=(probs * margin).sum(axis=2),
        seg_revenue=(probs * price_s).sum(axis=2),
    )


def rule_excess(scenario: Scenario, levels: np.ndarray, families: tuple[str, ...] | None = None,
                ) -> dict[str, np.ndarray]:
    """Each active rule check's normalised excess (``> RULE_TOL``: violated) for (N, menus, O)
    ``levels`` (assumed valid), ``{check name: (N, *instance shape)}``; ``families``: only
    those rule families of :data:`~bundleopt.optimize.rules.REGISTRY` (default: all)."""
    q = _quantities(scenario, np.asarray(levels, dtype=int))
    return {check.rule: check.excess for rule in REGISTRY
            if (families is None or rule.name in families) and rule.is_on(scenario)
            for check in rule.check(scenario, q)}


def _rule_checks(scenario: Scenario, q: Quantities) -> list[RuleCheck]:
    """The checks of every active rule family, in registry order (:mod:`bundleopt.optimize.rules`)."""
    return [check for rule in REGISTRY if rule.is_on(scenario) for check in rule.check(scenario, q)]
