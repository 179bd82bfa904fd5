"""The Pyomo model builder: sets, variables, objective, then one call per rule family.

Formulation (``formulations/milp.md``): for every menu ``g`` (one when prices are
uniform, one per segment when personalised) and allowed ladder pair ``(o, k)``, a
binary ``y[g, o, k]``; for every segment ``s`` a no-purchase share ``x[s]`` (scaled
by ``1 / v0[s]``) and ``z[s, o, k] = x[s] * y[g(s), o, k]``, so that segment s buys
o at level k with probability ``v[s, o, k] * z[s, o, k]``.

    max  market_size * sum_s w_s sum_{o,k} (p[o,k] - c[o]) v[s,o,k] z[s,o,k]

The builder only creates these and calls the ``define_*_constraints`` functions of
:mod:`bundleopt.optimize.families` in order.

With ``projected=True`` (single-segment scenarios only) the binaries are left out:
every menu rule ``a . y <= b`` is kept only in its homogenised form
``a . z <= b x`` (Davis, Gallego & Topaloglu 2013). That is the LP the per-segment
decomposition solves (:mod:`bundleopt.optimize.decompose`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from bundleopt.optimize import core_rows
from bundleopt.optimize import families as fam
from bundleopt.optimize.levels import dominated_levels, level_mask, top_of_others
from bundleopt.optimize.rules import REGISTRY, active_families, dominance_safe, family
from bundleopt.scenario import Scenario


@dataclass(frozen=True)
class BuildInfo:
    """Plain data the family functions read while building (stored as ``model.info``).

    ``mask[o, k]``: ladder pairs that get variables. ``seg_menu[s]``: menu of segment
    s. ``lower[s]`` / ``upper[s]``: bounds ``L_s <= x[s] <= 1 / v0[s]``;
    ``lower_on[s, o, k]``: bound on ``x[s]`` when o is on at level k,
    ``lower_off[s, o]``: when o is off (:func:`conditional_lower_bounds`).
    ``families``: names of the rule families switched on in this build.
    ``lift[(o, k)] = k'``: dominated levels left out and the level replacing them
    (:func:`bundleopt.optimize.levels.dominated_levels`).
    """

    scenario: Scenario
    mask: np.ndarray
    pairs: tuple[tuple[int, int], ...]
    seg_menu: tuple[int, ...]
    lower: np.ndarray
    upper: np.ndarray
    lower_on: np.ndarray
    lower_off: np.ndarray
    families: frozenset[str]
    projected: bool
    relaxed: bool
    strengthen: bool = True
    lift: dict[tuple[int, int], int] | None = None

    def segments_of(self, g: int) -> list[int]:
        """Segments that see menu ``g``."""
        return [s for s, gg in enumerate(self.seg_menu) if gg == g]


def no_purchase_lower_bound(scenario: Scenario, mask: np.ndarray, cardinality: int | None) -> np.ndarray:
    """``L_s = 1 / (v0[s] + sum of the C largest max_k v[s, o, k])`` over allowed levels.

    Any menu with at most C offers has ``x[s] = 1 / (v0[s] + sum_on v) >= L_s``.
    """
    vmax = np.where(mask[None], scenario.v, 0.0).max(axis=2)  # (S, O)
    top = -np.sort(-vmax, axis=1)
    if cardinality is not None:
        top = top[:, : int(cardinality)]
    return 1.0 / (scenario.v0 + top.sum(axis=1))


def conditional_lower_bounds(
    scenario: Scenario, mask: np.ndarray, cardinality: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds on ``x[s]`` knowing the state of one offer o (C = cardinality or O).

    ``lower_on[s,o,k] = 1 / (v0 + v[s,o,k] + top-(C-1) sum of max_k v over offers != o)``
    ``lower_off[s,o] = 1 / (v0 + top-C sum of max_k v over offers != o)``
    Both are at least ``L_s`` (sums from :func:`top_of_others`).
    """
    vmax = np.where(mask[None], scenario.v, 0.0).max(axis=2)  # (S, O)
    n_o = scenario.n_offers
    c = n_o if cardinality is None else min(int(cardinality), n_o)
    v_on = np.where(mask[None], scenario.v, 0.0)
    lower_on = 1.0 / (scenario.v0[:, None, None] + v_on + top_of_others(vmax, c - 1)[:, :, None])
    lower_off = 1.0 / (scenario.v0[:, None] + top_of_others(vmax, c))
    return lower_on, lower_off


def families_on(scenario: Scenario, families: Collection[str] | None) -> set[str]:
    """The rule families a build switches on (default: every active one), checked."""
    on = set(active_families(scenario) if families is None else families)
    for name in sorted(on):
        family(name)  # a one-line ValueError naming the known families
    return on


def ladder_pairs(
    scenario: Scenario, on: Collection[str], *, drop_dominated: bool
) -> tuple[np.ndarray, dict[tuple[int, int], int]]:
    """``mask[o, k]`` of the ladder pairs that get variables, and ``lift``: the
    dominated levels left out (when ``drop_dominated`` and the families allow it,
    :func:`bundleopt.optimize.levels.dominated_levels`) mapped to their replacements."""
    mask = level_mask(scenario, on)
    lift: dict[tuple[int, int], int] = {}
    if drop_dominated and dominance_safe(set(on)):
        card = scenario.constraints.max_offers if "cardinality" in on else None
        lift = dominated_levels(scenario, mask, card)
        for o, k in lift:
            mask[o, k] = False
    return mask, lift


def build_model(
    scenario: Scenario,
    *,
    families: Collection[str] | None = None,
    projected: bool = False,
    relaxed: bool = False,
    strengthen: bool = True,
    x_range: tuple[np.ndarray, np.ndarray] | None = None,
    exclude: Collection[tuple[int, int]] = (),
) -> pyo.ConcreteModel:
    """Build the exact MILP (or its projected LP) for ``scenario``.

    ``families`` restricts the rule families switched on (default: every active
    one; used by the infeasibility diagnosis). ``relaxed`` makes ``y`` continuous
    in [0, 1] (LP relaxation). ``projected`` drops ``y`` altogether (one segment).
    ``strengthen=False`` leaves out the RLT rows, the L bounds and the tangent cuts
    (the plain Bront et al. formulation; for benchmarks only).
    ``x_range = (lo, hi)``: bounds ``lo[s] <= x[s] <= hi[s]`` that every decision
    worth finding satisfies (from :mod:`bundleopt.optimize.tighten`); they narrow
    the McCormick rows of ``z = x y`` (``formulations/milp.md``, bound tightening).
    ``exclude``: ladder pairs ``(o, k)`` left out (no decision worth finding uses them).
    """
    on = families_on(scenario, families)
    if projected and scenario.n_segments != 1:
        raise ValueError("projected=True needs a single-segment scenario (see decompose.py)")
    mask, lift = ladder_pairs(scenario, on, drop_dominated=strengthen or projected)
    card = scenario.constraints.max_offers if "cardinality" in on else None
    for o, k in exclude:
        mask[o, k] = False
    lower = no_purchase_lower_bound(scenario, mask, card)
    upper = 1.0 / scenario.v0
    lower_on, lower_off = conditional_lower_bounds(scenario, mask, card)
    if x_range is not None:
        lo, hi = (np.asarray(a, dtype=float) for a in x_range)
        lower, upper = np.maximum(lower, lo), np.minimum(upper, hi)
        lower_on = np.maximum(lower_on, lower[:, None, None])
        lower_off = np.maximum(lower_off, lower[:, None])
    info = BuildInfo(
        scenario=scenario,
        mask=mask,
        pairs=tuple((int(o), int(k)) for o, k in zip(*np.nonzero(mask), strict=True)),
        seg_menu=tuple(s if scenario.personalised else 0 for s in range(scenario.n_segments)),
        lower=lower,
        lower_on=lower_on,
        lower_off=lower_off,
        upper=upper,
        families=frozenset(on),
        projected=projected,
        relaxed=relaxed,
        strengthen=strengthen or projected,
        lift=lift,
    )
    # Building creates ~10^5-10^6 small expression objects; pausing the cyclic
    # garbage collector (as Pyomo's own writers do) halves the build time.
    with PauseGC():
        m = pyo.ConcreteModel(name="bundleopt")
        m.info = info
        _define_variables(m, info)
        _define_objective(m, info)
        core_rows.define_core_constraints(m, scenario)
        if info.strengthen:
            core_rows.define_rlt_bounds(m, scenario)
            core_rows.define_attraction_cuts(m, scenario)
        for rule in REGISTRY:  # each family's builder, in registry order
            if rule.name in on:
                getattr(fam, rule.rows)(m, scenario)
    return m


def _define_variables(m: pyo.ConcreteModel, info: BuildInfo) -> None:
    """``x[s]`` in ``[L_s, 1/v0_s]``; ``z[s,o,k]`` in ``[0, 1/(v0_s + v_sok)]`` (pairs with
    ``v_sok > 0`` only, except in projected builds); ``y[g,o,k]``."""
    sc = info.scenario
    m.S = pyo.Set(initialize=range(sc.n_segments), ordered=True)
    # z only where it can carry a purchase (v > 0); projected builds keep every pair,
    # since there z / x stands for y in the menu rules.
    m.ZI = pyo.Set(dimen=3, ordered=True,
                   initialize=[(s, o, k) for s in range(sc.n_segments) for o, k in info.pairs
                               if info.projected or sc.v[s, o, k] > 0])
    m.x = pyo.Var(m.S, bounds=lambda _, s: (info.lower[s] if info.strengthen else 0.0, info.upper[s]))
    m.z = pyo.Var(m.ZI, bounds=lambda _, s, o, k: (0.0, min(1.0 / (sc.v0[s] + sc.v[s, o, k]),
                                                            info.upper[s])))
    if not info.projected:
        m.YI = pyo.Set(dimen=3, ordered=True,
                       initialize=[(g, o, k) for g in range(sc.n_menus) for o, k in info.pairs])
        m.y = pyo.Var(m.YI, domain=pyo.UnitInterval if info.relaxed else pyo.Binary)


def profit_coefficients(scenario: Scenario) -> np.ndarray:
    """(S, O, K) objective weights ``market_size * w_s (p - c) v`` of ``z[s, o, k]``."""
    margin = np.nan_to_num(scenario.prices - scenario.costs[:, None])
    return scenario.market_size * scenario.weights[:, None, None] * margin[None] * scenario.v


def _define_objective(m: pyo.ConcreteModel, info: BuildInfo) -> None:
    """Expected profit, ``max sum_s w_s sum_{o,k} (p - c) v z`` times market size."""
    coef = profit_coefficients(info.scenario)
    keys = [key for key in m.ZI if coef[key] != 0.0]
    m.profit = pyo.Objective(
        expr=core_rows.linear([coef[key] for key in keys], [m.z[key] for key in keys]),
        sense=pyo.maximize,
    )
