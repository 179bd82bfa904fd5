"""Exhaustive search: the ground truth the MILP is tested against on small instances.

Every decision is enumerated: each offer on each menu is either not offered or at
one of its allowed ladder levels (``Scenario.allowed()``; a level failing the
per-offer margin floor would be a ``min_margin`` violation anyway). Each decision is
evaluated exactly and checked against every rule by
:func:`bundleopt.optimize.evaluate.evaluate_many` (the same checks as
:func:`~bundleopt.optimize.evaluate.check_constraints`), and the most profitable
feasible one is returned (the first in enumeration order among equals).

* Uniform prices: one menu, ``prod_o (1 + #allowed levels of o)`` decisions.
* Personalised prices without cross-segment rules (``max_price_spread``,
  ``min_margin_rate`` with ``margin_rate_scope="overall"``, ``max_cannibalisation``,
  ``stock``): the objective ``sum_s w_s profit_s(menu_s)`` and every remaining rule are
  separable by segment, so each segment's menu is enumerated on its own.
* Personalised prices with cross-segment rules: each segment's menus are enumerated
  and filtered by the per-menu rules, then every combination of the surviving menus
  is enumerated jointly and checked against all rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from bundleopt.optimize.evaluate import Evaluation, evaluate, evaluate_many
from bundleopt.scenario import NOT_OFFERED, Decision, Scenario

_CROSS_SEGMENT = ("max_price_spread", "max_cannibalisation", "stock")
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
    """Active rules that couple the segments' menus (empty for uniform prices too)."""
    c = scenario.constraints
    names = [name for name in _CROSS_SEGMENT if getattr(c, name) is not None]
    if c.min_margin_rate is not None and c.margin_rate_scope == "overall" and scenario.n_segments > 1:
        names.append("min_margin_rate")
    if scenario.n_menus == 1:
        return []
    return names


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


def segment_scenario(scenario: Scenario, s: int) -> Scenario:
    """Segment s alone (weight 1, one menu) with the per-menu rules only.

    The per-menu rules are every rule but those in :func:`cross_segment_rules`
    (``min_margin_rate`` is kept when its scope is "segment" or there is one segment).
    """
    c = scenario.constraints
    overall_rate = c.margin_rate_scope == "overall" and scenario.n_segments > 1
    c = replace(
        c,
        max_price_spread=None,
        max_cannibalisation=None,
        protected_products=None,
        stock=None,
        min_margin_rate=None if overall_rate else c.min_margin_rate,
    )
    return replace(
        scenario,
        v=scenario.v[s : s + 1],
        v0=scenario.v0[s : s + 1],
        weights=np.ones(1),
        segment_ids=(scenario.segment_ids[s],),
        personalised=False,
        constraints=c,
    )


def _feasible_menus(scenario: Scenario, max_decisions: int, tol: float) -> np.ndarray:
    """All menus of a one-menu scenario satisfying its rules, (n, O)."""
    options = _options(scenario)
    total = _count(options)
    if total > max_decisions:
        raise _too_large(total, max_decisions, "menus per segment")
    keep = []
    for start in range(0, total, _CHUNK):
        menus = _menus(options, start, min(total, start + _CHUNK))
        keep.append(menus[evaluate_many(scenario, menus[:, None, :], tol=tol).feasible])
    return np.concatenate(keep)


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
    """Best personalised decision when rules couple the segments, (S, O)."""
    per_segment = [
        _feasible_menus(segment_scenario(scenario, s), max_decisions, tol)
        for s in range(scenario.n_segments)
    ]
    total = _count(per_segment)
    if any(len(m) == 0 for m in per_segment):
        raise _infeasible(scenario, total)
    if total > max_decisions:
        raise _too_large(total, max_decisions, "joint decisions (after the per-menu rules)")
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
