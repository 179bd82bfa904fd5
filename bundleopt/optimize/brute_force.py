"""Exhaustive search: the ground truth the MILP is tested against on small instances.

Every decision is enumerated: each offer on each menu is either not offered or at
one of its allowed ladder levels (``Scenario.allowed()``; a level failing the
per-offer margin floor would be a ``min_margin`` violation anyway). Each decision is
evaluated exactly and checked against every rule by
:func:`bundleopt.optimize.evaluation.evaluate_many` (the same checks as
:func:`~bundleopt.optimize.evaluation.check_constraints`), and the most profitable
feasible one is returned (the first in enumeration order among equals).

* Uniform prices: one menu, ``prod_o (1 + #allowed levels of o)`` decisions.
* Personalised prices without cross-segment rules (the registry's coupling families,
  :func:`bundleopt.optimize.rules.coupling_families`: ``max_price_spread``,
  ``min_margin_rate`` with ``margin_rate_scope="overall"``, ``max_cannibalisation``,
  ``stock``): the objective ``sum_s w_s profit_s(menu_s)`` and every remaining rule are
  separable by segment, so each segment's menu is enumerated on its own
  (:func:`bundleopt.optimize.rules.segment_scenario`).
* Personalised prices with cross-segment rules: each segment's menus are enumerated
  and filtered by the per-menu rules, then every combination of the surviving menus
  is enumerated jointly and checked against all rules; when there are more than
  ``max_decisions`` combinations, an exact branch and bound over them (the profit is
  a sum of per-segment terms) evaluates at most ``max_decisions`` of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from bundleopt.optimize.evaluation import Evaluation, evaluate, evaluate_many, segment_outcomes
from bundleopt.optimize.rules import coupling_settings, segment_scenario
from bundleopt.scenario import NOT_OFFERED, Decision, Scenario

_CHUNK = 50_000


def brute_force(
    scenario: Scenario, max_decisions: int = 2_000_000, tol: float = 1e-9
) -> tuple[Decision, Evaluation]:
    """The optimal decision by exhaustive enumeration, and its evaluation.

    Raises ``ValueError`` mentioning "too large" when an enumeration would exceed
    ``max_decisions`` decisions (per menu, or jointly for coupled personalised menus),
    and mentioning "infeasible" when no decision satisfies the rules.
    """
    if scenario.n_menus == 1:
        levels = _best_single_menu(scenario, max_decisions, tol)[None]
    elif not cross_segment_rules(scenario):
        levels = np.stack(
            [_best_single_menu(segment_scenario(scenario, s), max_decisions, tol)
             for s in range(scenario.n_segments)]
        )
    else:
        levels = _best_joint(scenario, max_decisions, tol)
    decision = Decision(levels)
    return decision, evaluate(scenario, decision, tol=tol)


def cross_segment_rules(scenario: Scenario) -> list[str]:
    """Active rules that couple the segments' menus (empty for uniform prices too), as
    the Constraints fields that switch them on
    (:func:`bundleopt.optimize.rules.coupling_settings`)."""
    return [] if scenario.n_menus == 1 else coupling_settings(scenario)


def _options(scenario: Scenario) -> list[np.ndarray]:
    """Per offer: NOT_OFFERED followed by its allowed ladder levels."""
    allowed = scenario.allowed()
    return [np.concatenate([[NOT_OFFERED], np.flatnonzero(allowed[o])]) for o in range(scenario.n_offers)]


def _count(options: list[np.ndarray]) -> int:
    total = 1
    for opt in options:
        total *= len(opt)
    return total


def _menus(options: list[np.ndarray], start: int, stop: int) -> np.ndarray:
    """Menus number ``start..stop-1`` in mixed radix (last offer fastest), (n, O)."""
    idx = np.arange(start, stop, dtype=np.int64)
    out = np.empty((len(idx), len(options)), dtype=int)
    for o in range(len(options) - 1, -1, -1):
        radix = len(options[o])
        out[:, o] = options[o][idx % radix]
        idx //= radix
    return out


def _too_large(count: int, limit: int, what: str) -> ValueError:
    return ValueError(
        f"brute force: instance too large: {count:,} {what} to enumerate > max_decisions={limit:,}; "
        "use fewer offers or levels, or raise max_decisions"
    )


def _infeasible(scenario: Scenario, count: int) -> ValueError:
    return ValueError(
        f"brute force: infeasible: none of the {count:,} decisions satisfies the rules "
        f"{scenario.constraints.active()}"
    )


def _best_single_menu(scenario: Scenario, max_decisions: int, tol: float) -> np.ndarray:
    """The best feasible menu of a one-menu scenario, (O,)."""
    options = _options(scenario)
    total = _count(options)
    if total > max_decisions:
        raise _too_large(total, max_decisions, "menus")
    best_profit, best = -np.inf, None
    for start in range(0, total, _CHUNK):
        menus = _menus(options, start, min(total, start + _CHUNK))
        res = evaluate_many(scenario, menus[:, None, :], tol=tol)
        profit = np.where(res.feasible, res.profit, -np.inf)
        i = int(np.argmax(profit))
        if profit[i] > best_profit:
            best_profit, best = profit[i], menus[i]
    if best is None:
        raise _infeasible(scenario, total)
    return best


def _feasible_menus(scenario: Scenario, max_decisions: int, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Menus of a one-menu scenario satisfying its rules, (n, O), and their profits (n,),
    most profitable first."""
    options = _options(scenario)
    total = _count(options)
    if total > max_decisions:
        raise _too_large(total, max_decisions, "menus per segment")
    keep, profits = [], []
    for start in range(0, total, _CHUNK):
        menus = _menus(options, start, min(total, start + _CHUNK))
        res = evaluate_many(scenario, menus[:, None, :], tol=tol)
        keep.append(menus[res.feasible])
        profits.append(res.profit[res.feasible])
    menus, profit = np.concatenate(keep), np.concatenate(profits)
    order = np.argsort(-profit, kind="stable")
    return menus[order], profit[order]


def _joint(per_segment: list[np.ndarray], start: int, stop: int) -> np.ndarray:
    """Joint decisions ``start..stop-1`` (last segment fastest), (n, S, O)."""
    idx = np.arange(start, stop, dtype=np.int64)
    out = np.empty((len(idx), len(per_segment), per_segment[0].shape[1]), dtype=int)
    for s in range(len(per_segment) - 1, -1, -1):
        n = len(per_segment[s])
        out[:, s, :] = per_segment[s][idx % n]
        idx //= n
    return out


def _joint_batches(per_segment: list[np.ndarray]) -> Iterator[np.ndarray]:
    total = _count(per_segment)
    for start in range(0, total, _CHUNK):
        yield _joint(per_segment, start, min(total, start + _CHUNK))


def _best_joint(scenario: Scenario, max_decisions: int, tol: float) -> np.ndarray:
    """Best personalised decision when rules couple the segments, (S, O).

    Each segment's menus are filtered by the per-menu rules. When the product of the
    survivors' counts is at most ``max_decisions``, every combination is evaluated;
    otherwise :func:`_branch_and_bound` searches them exactly, evaluating at most
    ``max_decisions`` complete decisions.
    """
    found = [_feasible_menus(segment_scenario(scenario, s), max_decisions, tol)
             for s in range(scenario.n_segments)]
    per_segment = [menus for menus, _ in found]
    total = _count(per_segment)
    if any(len(m) == 0 for m in per_segment):
        raise _infeasible(scenario, total)
    if total > max_decisions:
        share = [scenario.market_size * w * profit for w, (_, profit) in zip(scenario.weights, found, strict=True)]
        best = _branch_and_bound(scenario, per_segment, share, max_decisions, tol)
        if best is None:
            raise _infeasible(scenario, total)
        return best
    best_profit, best = -np.inf, None
    for batch in _joint_batches(per_segment):
        res = evaluate_many(scenario, batch, tol=tol)
        profit = np.where(res.feasible, res.profit, -np.inf)
        i = int(np.argmax(profit))
        if profit[i] > best_profit:
            best_profit, best = profit[i], batch[i]
    if best is None:
        raise _infeasible(scenario, total)
    return best


def _branch_and_bound(
    scenario: Scenario, menus: list[np.ndarray], share: list[np.ndarray], budget: int, tol: float
) -> np.ndarray | None:
    """Exact depth-first search over one menu per segment.

    The profit is separable, ``sum_s share_s(menu_s)`` with ``share_s = M w_s profit_s``;
    menus are sorted by share, so a node whose bound ``partial + sum of the remaining
    segments' best shares`` is not above the incumbent ends its level. Necessary
    conditions prune the rest: the spread rule pairwise against the menus already
    chosen, and the separable cross-segment rules (overall margin rate,
    cannibalisation, stock: ``sum_s r_s(menu_s) <= b``) by ``partial r + sum of the
    remaining segments' smallest r > b`` (with a loose tolerance, so nothing feasible
    is cut). At the last segment the candidate menus that could beat the incumbent are
    evaluated with every rule, in profit order; the first feasible one is the best below
    that node. Raises "too large" once the work exceeds ``budget`` decisions evaluated
    (each node's vectorised screen of n menus counts ``1 + n // 32``).
    """
    n_seg = len(menus)
    rest = np.concatenate([np.cumsum([sh[0] for sh in share[::-1]])[::-1], [0.0]])
    spec = coupling_spec(scenario)
    usage, bound = zip(*(coupling_terms(scenario, segment_scenario(scenario, s), s, menus[s], spec)
                         for s in range(n_seg)), strict=True)
    bound = bound[0]
    low = np.stack([u.min(axis=0) for u in usage])  # (S, R)
    low_rest = np.concatenate([np.cumsum(low[::-1], axis=0)[::-1], np.zeros((1, len(bound)))])
    slack = 1e-6 * (1.0 + np.abs(bound) + np.abs(np.stack([u.max(axis=0) for u in usage])).sum(axis=0))
    prices = [np.where(m >= 0, scenario.prices[np.arange(scenario.n_offers), np.maximum(m, 0)], np.nan)
              for m in menus]
    delta = scenario.constraints.max_price_spread
    best_profit, best = -np.inf, None
    evaluated = 0

    def candidates(depth: int, chosen: list[int], used: np.ndarray) -> np.ndarray:
        nonlocal evaluated
        evaluated += 1 + len(menus[depth]) // 32  # a node's vectorised screen, in evaluations
        if evaluated > budget:
            raise _too_large(evaluated, budget, "decisions evaluated or screened by branch and bound")
        ok = np.all(used + usage[depth] + low_rest[depth + 1] <= bound + slack, axis=1)
        if delta is not None:
            for t, i in enumerate(chosen):
                ok &= spread_compatible(prices[depth], prices[t][i], delta, tol)
        return np.flatnonzero(ok)

    def leaves(chosen: list[int], partial: float, cand: np.ndarray) -> None:
        nonlocal best_profit, best, evaluated
        cand = cand[partial + share[-1][cand] > best_profit]  # still in profit order
        for start in range(0, len(cand), _CHUNK):
            part = cand[start : start + _CHUNK]
            evaluated += len(part)
            if evaluated > budget:
                raise _too_large(evaluated, budget, "decisions evaluated by branch and bound")
            batch = np.empty((len(part), n_seg, scenario.n_offers), dtype=int)
            for t, i in enumerate(chosen):
                batch[:, t, :] = menus[t][i]
            batch[:, -1, :] = menus[-1][part]
            res = evaluate_many(scenario, batch, tol=tol)
            if res.feasible.any():
                j = int(np.argmax(res.feasible))
                if res.profit[j] > best_profit:
                    best_profit, best = float(res.profit[j]), batch[j].copy()
                return

    def visit(depth: int, chosen: list[int], partial: float, used: np.ndarray) -> None:
        cand = candidates(depth, chosen, used)
        if depth == n_seg - 1:
            leaves(chosen, partial, cand)
            return
        for i in cand:
            if partial + share[depth][i] + rest[depth + 1] <= best_profit:
                break
            visit(depth + 1, [*chosen, int(i)], partial + share[depth][i], used + usage[depth][i])

    visit(0, [], 0.0, np.zeros(len(bound)))
    return best


@dataclass(frozen=True)
class CouplingSpec:
    """The separable cross-segment rules as ``sum_s r_s <= b`` (see :func:`coupling_terms`).

    ``rate``: the overall margin-rate floor or None; ``protected`` (J1,): single offers
    under the cannibalisation cap; ``stock_units`` (O, J2): ``M n_oj`` for the stocked
    products; ``bound`` (R,): 0 for the margin rate, then ``-(1 - gamma) ref_j`` and
    ``stock_j``.
    """

    rate: float | None
    protected: np.ndarray
    stock_units: np.ndarray
    bound: np.ndarray


def coupling_spec(scenario: Scenario) -> CouplingSpec:
    """Static data of :func:`coupling_terms` for ``scenario``."""
    c = scenario.constraints
    rate = c.min_margin_rate if c.min_margin_rate is not None and c.margin_rate_scope == "overall" else None
    bounds = [np.zeros(1 if rate is not None else 0)]
    protected = np.zeros(0, dtype=int)
    stock_units = np.zeros((scenario.n_offers, 0))
    if c.max_cannibalisation is not None:
        single = scenario.single_offer()
        names = scenario.products if c.protected_products is None else c.protected_products
        protected = np.array([single[p] for p in names if p in single], dtype=int)
        bounds.append(-(1.0 - c.max_cannibalisation) * scenario.reference_sales()[protected])
    if c.stock is not None:
        names = list(c.stock)
        mult = np.array([[comp.count(p) for p in names] for comp in scenario.components], dtype=float)
        stock_units = scenario.market_size * mult
        bounds.append(np.array([c.stock[p] for p in names], dtype=float))
    return CouplingSpec(rate, protected, stock_units, np.concatenate(bounds))


def coupling_terms(
    scenario: Scenario, sub: Scenario, s: int, menus: np.ndarray, spec: CouplingSpec | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Segment s's terms of the separable cross-segment rules, written ``sum_s r_s <= b``.

    ``sub`` is :func:`segment_scenario` ``(scenario, s)``; ``menus`` (n, O) are menus for
    segment s; ``spec`` is :func:`coupling_spec` ``(scenario)`` (computed if omitted).
    Returns ``r`` (n, R) and ``b`` (R,): the overall margin rate
    ``w_s (m rev_s - margin_s) <= 0``, cannibalisation ``-w_s P_s,single(j) <= -(1 - gamma) ref_j``
    and stock ``M w_s sum_o n_oj P_s,o <= stock_j``.
    """
    spec = coupling_spec(scenario) if spec is None else spec
    w = scenario.weights[s]
    out = segment_outcomes(sub, menus[:, None, :])
    probs = out.probabilities[:, 0, :]
    cols = [np.zeros((len(menus), 0))]
    if spec.rate is not None:
        cols.append(w * (spec.rate * out.revenue[:, :1] - out.margin[:, :1]))
    cols.append(-w * probs[:, spec.protected])
    # einsum, not a BLAS product: tiny products are slow under a loaded multi-threaded BLAS
    cols.append(w * np.einsum("no,oj->nj", probs, spec.stock_units))
    return np.concatenate(cols, axis=1), spec.bound


def spread_compatible(prices: np.ndarray, other: np.ndarray, delta: float, tol: float) -> np.ndarray:
    """(n,) menus whose prices (n, O) (NaN = off) respect the spread against ``other`` (O,)."""
    both = ~np.isnan(prices) & ~np.isnan(other)
    p, q = np.where(both, prices, 1.0), np.where(both, other, 1.0)
    cap = 1.0 + delta
    bad = (p - cap * q) / (cap * q) > tol
    bad |= (q - cap * p) / (cap * p) > tol
    return ~np.any(both & bad, axis=1)
