"""The rows every build has, whatever the rules: the choice model's rows (no-purchase
share ``x``, ``z = x y`` and the probabilities summing to one), their RLT bounds and
tangent cuts on the attraction, and the helpers the rule families' builders share
(:mod:`bundleopt.optimize.families`). Notation as there; ``formulations/milp.md``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from bundleopt.scenario import Scenario

__all__ = ["BuildData", "add_menu_rows", "define_attraction_cuts", "define_core_constraints",
           "define_rlt_bounds", "has_z", "linear"]


class BuildData(Protocol):
    """What the builders read from ``model.info`` (provided by
    :class:`bundleopt.optimize.model.BuildInfo`; a protocol here so that this module does
    not import the model builder that imports it)."""

    mask: np.ndarray
    pairs: tuple[tuple[int, int], ...]
    seg_menu: tuple[int, ...]
    lower: np.ndarray
    upper: np.ndarray
    lower_on: np.ndarray
    lower_off: np.ndarray
    families: frozenset[str]
    projected: bool
    strengthen: bool

    def segments_of(self, g: int) -> list[int]: ...


Terms = Sequence[tuple[tuple[int, int], float]]  # ((o, k), coefficient)


# ----------------------------------------------------------------- helpers
def _info(m: pyo.ConcreteModel) -> BuildData:
    return m.info


def linear(coefs: Sequence[float], variables: Sequence) -> LinearExpression:
    """``sum coefs[i] * variables[i]`` built in one go (much faster than ``sum``)."""
    return LinearExpression(constant=0.0, linear_coefs=[float(a) for a in coefs],
                            linear_vars=list(variables))


def has_z(m: pyo.ConcreteModel, s: int, o: int, k: int) -> bool:
    """Does ``z[s, o, k]`` exist (``v[s, o, k] > 0``, or a projected build)?"""
    return (s, o, k) in m.z


def add_menu_rows(
    m: pyo.ConcreteModel,
    name: str,
    rows: Iterable[tuple[int, Terms, str, float]],
    rlt: bool | None = None,
) -> None:
    """Add rows ``sum a on[g, .] (sense) b`` per menu and their homogenised copies.

    ``rows`` yields ``(g, terms, sense, b)`` with ``sense`` in ``"<=", ">="``. The
    y-form goes to ``model.<name>`` (not in projected builds); the z-form
    ``sum a z[s, .] (sense) b x[s]`` for every segment s of menu g goes to
    ``model.<name>_rlt``. ``rlt`` (default: the build's ``strengthen`` flag) says
    whether to write the z-form; the core one-price rows always have it, since
    ``sum_k z[s,o,k] <= x[s]`` is what keeps ``z <= x`` (Bront et al.'s ``z <= x``).
    """
    info = _info(m)
    ycons = pyo.ConstraintList()
    zcons = pyo.ConstraintList()
    m.add_component(name, ycons)
    m.add_component(f"{name}_rlt", zcons)
    for g, terms, sense, b in rows:
        if not terms:
            continue
        if not info.projected:
            lhs = linear([a for _, a in terms], [m.y[g, o, k] for (o, k), _ in terms])
            ycons.add(lhs <= b if sense == "<=" else lhs >= b)
        for s in info.segments_of(g) if (info.strengthen if rlt is None else rlt) else ():
            # z[s,o,k] exists only where v[s,o,k] > 0 (MILP builds); there z = 0, and
            # dropping the term keeps the row valid only if it can only loosen it.
            kept = [((o, k), a) for (o, k), a in terms if has_z(m, s, o, k)]
            missing = [a for (o, k), a in terms if not has_z(m, s, o, k)]
            if any((a < 0) if sense == "<=" else (a > 0) for a in missing):
                continue
            lhs = linear([a for _, a in kept] + [-b],
                         [m.z[s, o, k] for (o, k), _ in kept] + [m.x[s]])
            zcons.add(lhs <= 0 if sense == "<=" else lhs >= 0)


def _levels(info: BuildData, o: int) -> list[int]:
    return [int(k) for k in np.flatnonzero(info.mask[o])]


# ---------------------------------------------------------------- core
def define_core_constraints(m: pyo.ConcreteModel, scenario: Scenario) -> None:
    """Normalisation, linking and one price per offer.

    * normalisation: ``v0_s x_s + sum_{o,k} v_sok z_sok = 1``
    * off => 0: ``(v0_s + v_sok) z_sok <= y_gok`` (with an upper bound ``U_s`` on
      ``x_s`` below ``1 / v0_s``: ``max(v0_s + v_sok, 1 / U_s) z_sok <= y_gok``)
    * on => z = x, per offer: ``x_s - sum_k z_sok <= U_s (1 - sum_k y_gok)``, ``U_s = 1 / v0_s``
      or a tighter upper bound on ``x_s``
      (implies the per-level row ``x_s - z_sok <= (1 - y_gok) / v0_s`` given
      off => 0, with S*O rows instead of S*O*K)
    * one price: ``sum_k y_gok <= 1`` (RLT: ``sum_k z_sok <= x_s``)
    """
    info = _info(m)
    sc = scenario
    coefs: dict[int, list[float]] = {s: [float(sc.v0[s])] for s in range(sc.n_segments)}
    variables: dict[int, list] = {s: [m.x[s]] for s in range(sc.n_segments)}
    for s, o, k in m.ZI:
        if sc.v[s, o, k] > 0:
            coefs[s].append(float(sc.v[s, o, k]))
            variables[s].append(m.z[s, o, k])
    m.normalisation = pyo.Constraint(
        m.S, rule=lambda _, s: linear(coefs[s], variables[s]) == 1.0
    )
    if not info.projected:
        g_of = info.seg_menu
        # z <= U y with U = min(1 / (v0 + v), upper bound of x), written as z / U <= y
        m.link_off = pyo.Constraint(
            m.ZI, rule=lambda _, s, o, k: linear(
                [float(max(sc.v0[s] + sc.v[s, o, k], 1.0 / info.upper[s])), -1.0],
                [m.z[s, o, k], m.y[g_of[s], o, k]]) <= 0.0
        )
        m.link_on = pyo.ConstraintList()
        for s in range(sc.n_segments):
            for o in range(sc.n_offers):
                ks = [k for k in _levels(info, o) if has_z(m, s, o, k)]
                if ks:
                    u = info.upper[s]
                    m.link_on.add(linear([1.0] + [-1.0] * len(ks) + [u] * len(ks),
                                         [m.x[s]] + [m.z[s, o, k] for k in ks]
                                         + [m.y[g_of[s], o, k] for k in ks]) <= u)
    add_menu_rows(m, "one_price", (
        (g, [((o, k), 1.0) for k in _levels(info, o)], "<=", 1.0)
        for g in range(sc.n_menus) for o in range(sc.n_offers)
    ), rlt=True)


def define_rlt_bounds(m: pyo.ConcreteModel, scenario: Scenario) -> None:
    """Bounds from the smallest possible no-purchase share (McCormick envelope of z = x y).

    ``L_s = 1 / (v0_s + sum of the C largest max_k v_so.)`` (C = max_offers, or all)
    bounds ``x_s`` below (a variable bound). Sharper, per offer: with o on at k,
    ``x_s >= L_sok = 1 / (v0_s + v_sok + top-(C-1) of the other offers)``; with o
    off, ``x_s >= L'_so = 1 / (v0_s + top-C of the other offers)``. Rows:

    * on => z >= L_sok: ``z_sok >= L_sok y_gok``
    * upper McCormick, per offer: ``sum_k z_sok <= x_s - L'_so (1 - sum_k y_gok)``
    """
    info = _info(m)
    if info.projected:
        return
    g_of = info.seg_menu
    m.z_lower = pyo.Constraint(
        m.ZI, rule=lambda _, s, o, k: linear([1.0, -float(info.lower_on[s, o, k])],
                                             [m.z[s, o, k], m.y[g_of[s], o, k]]) >= 0.0
    )
    m.z_upper = pyo.ConstraintList()
    for s in range(scenario.n_segments):
        for o in range(scenario.n_offers):
            ks = [k for k in _levels(info, o) if has_z(m, s, o, k)]
            if ks:
                lo = info.lower_off[s, o]
                m.z_upper.add(linear([1.0] * len(ks) + [-lo] * len(ks) + [-1.0],
                                     [m.z[s, o, k] for k in ks] + [m.y[g_of[s], o, k] for k in ks]
                                     + [m.x[s]]) <= -lo)


def define_attraction_cuts(
    m: pyo.ConcreteModel, scenario: Scenario, n_sets: int = 1, n_tangents: int = 24
) -> None:
    """Tangent cuts on the purchase share of nested high-margin sets of ladder pairs.

    For any set T of pairs, segment s buys from T with probability
    ``sum_T v z = t x <= h(t) = t / (v0_s + t)`` where ``t = sum_T v_sok y_gok``
    (since ``x_s = 1 / (v0_s + sum_all v y) <= 1 / (v0_s + t)``). h is concave, so
    every tangent at ``t0 > 0`` is a valid linear row:

        sum_T v_sok z_sok - v0_s / (v0_s + t0)^2 sum_T v_sok y_gok <= t0^2 / (v0_s + t0)^2

    With T = every pair this is the tangent of ``x_s >= 1 / (v0_s + sum v y)``; it is
    written through ``A_s = sum_{o,k} v_sok y_gok`` (one row) and the normalisation as
    ``v0_s x_s + v0_s / (v0_s + t0)^2 A_s >= 1 - t0^2 / (v0_s + t0)^2``, two terms per
    tangent instead of two per pair (the LP is the same, 6x fewer nonzeros). The
    sets T are nested by margin ``p - c`` (the top 1/n_sets, 2/n_sets, ... of the
    pairs of segment s), so they bound how much purchase share the relaxation can
    move onto high-margin offers; ``t0`` runs geometrically up to the largest ``t``
    any menu of at most C offers reaches (for T = every pair, within the range
    ``1 / x - v0`` takes when ``x_s`` has tightened bounds).
    """
    info = _info(m)
    if info.projected or n_sets <= 0 or n_tangents <= 0:
        return
    sc = scenario
    card = sc.constraints.max_offers if "cardinality" in info.families else None
    margin = np.nan_to_num(sc.prices - sc.costs[:, None], nan=-np.inf)
    m.attraction_cuts = pyo.ConstraintList()
    m.attraction = pyo.Var(m.S, bounds=(0.0, None))  # A_s = sum_{o,k} v_sok y_gok
    m.attraction_def = pyo.ConstraintList()
    for s in range(sc.n_segments):
        g = info.seg_menu[s]
        pairs = [(o, k) for o, k in info.pairs if has_z(m, s, o, k)]
        if not pairs:
            continue
        pairs.sort(key=lambda p: -margin[p])
        v0 = sc.v0[s]
        sizes = sorted({max(1, round(len(pairs) * i / n_sets)) for i in range(1, n_sets + 1)})
        for size in sizes:
            T = pairs[:size]
            best = {}
            for o, k in T:
                best[o] = max(best.get(o, 0.0), sc.v[s, o, k])
            top = sorted(best.values(), reverse=True)
            tmax = sum(top if card is None else top[:card])
            if tmax <= 0:
                continue
            vt = [sc.v[s, o, k] for o, k in T]
            zs = [m.z[s, o, k] for o, k in T]
            ys = [m.y[g, o, k] for o, k in T]
            t_lo, t_hi = tmax / 30.0, tmax
            if size == len(pairs):
                # T = all pairs: t = 1 / x - v0 lies in the range of x; sum_T v z = 1 - v0 x
                # (normalisation) and t = A_s, one variable defined once, so each
                # tangent is a 2-term row (sparse LP)
                t_lo = max(t_lo, 1.0 / info.upper[s] - v0)
                t_hi = max(t_lo, min(t_hi, 1.0 / info.lower[s] - v0))
                m.attraction[s].setub(tmax)
                m.attraction_def.add(linear(vt + [-1.0], ys + [m.attraction[s]]) == 0.0)
                for t0 in np.geomspace(t_lo, t_hi, n_tangents):
                    slope = v0 / (v0 + t0) ** 2
                    m.attraction_cuts.add(linear([v0, slope], [m.x[s], m.attraction[s]])
                                          >= 1.0 - (t0 / (v0 + t0)) ** 2)
                continue
            for t0 in np.geomspace(t_lo, t_hi, n_tangents):
                slope = v0 / (v0 + t0) ** 2
                m.attraction_cuts.add(
                    linear(vt + [-slope * a for a in vt], zs + ys) <= (t0 / (v0 + t0)) ** 2
                )


# -------------------------------------------------------------- margin
