"""What each column of a compiled model stands for, and a decision as a column vector.

The numeric seam between the Pyomo builder and the algorithms: compiling a model
(:func:`bundleopt.optimize.highs_backend.compile_model`) records each column's role,
segment, menu, offer and level in a :class:`ColumnLayout`; the algorithms (the bound
tightening, the warm start, reading a decision back) use those arrays and the build's
plain data (:class:`~bundleopt.optimize.model.BuildInfo`), never a Pyomo name, so the
Pyomo model may be freed once compiled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from bundleopt.scenario import NOT_OFFERED, Decision

if TYPE_CHECKING:
    import pyomo.environ as pyo

    from bundleopt.optimize.highs_backend import CompiledModel



# Roles of the compiled model's columns (:class:`ColumnLayout`).
OTHER, X, Y, Z, ATTRACTION = -1, 0, 1, 2, 3
ROLE_NAMES = {OTHER: "other", X: "x", Y: "y", Z: "z", ATTRACTION: "attraction"}


@dataclass(frozen=True)
class ColumnLayout:
    """What each column of a compiled model stands for, as arrays (one entry per column):
    the numeric seam between the Pyomo builder and the algorithms, which read these
    arrays and never a Pyomo name.

    ``role``: :data:`X` (no-purchase share ``x[s]``), :data:`Y` (``y[g, o, k]``),
    :data:`Z` (``z[s, o, k]``), :data:`ATTRACTION` (``A_s``) or :data:`OTHER`;
    ``segment``: s for x, z and attraction columns, -1 otherwise; ``menu``: g for y;
    ``offer`` / ``level``: (o, k) for y and z columns; -1 where a field does not apply.
    """

    role: np.ndarray
    segment: np.ndarray
    menu: np.ndarray
    offer: np.ndarray
    level: np.ndarray

    def __len__(self) -> int:
        return len(self.role)

    def x_columns(self, n_segments: int) -> np.ndarray:
        """Column of ``x[s]`` for each segment s (-1 where there is none)."""
        out = np.full(n_segments, -1, dtype=int)
        cols = np.flatnonzero(self.role == X)
        out[self.segment[cols]] = cols
        return out

    def find(self, role: int, *index: int) -> int | None:
        """Column of one variable (``find(X, s)``, ``find(Y, g, o, k)``,
        ``find(Z, s, o, k)``), or None when the build has no such column."""
        keys = {X: (self.segment,), ATTRACTION: (self.segment,), Y: (self.menu, self.offer, self.level),
                Z: (self.segment, self.offer, self.level)}[role]
        hit = self.role == role
        for arr, value in zip(keys, index, strict=True):
            hit &= arr == value
        cols = np.flatnonzero(hit)
        return int(cols[0]) if len(cols) else None


def column_layout(model: pyo.ConcreteModel, columns: list) -> ColumnLayout:
    """The :class:`ColumnLayout` of ``columns`` (Pyomo variables, in column order),
    told apart by the component they belong to (``model.x``, ``model.y``, ...), not by
    their names."""
    n = len(columns)
    role = np.full(n, OTHER, dtype=np.int8)
    segment, menu, offer, level = (np.full(n, -1, dtype=int) for _ in range(4))
    parts = {id(getattr(model, name)): r for name, r in
             (("x", X), ("y", Y), ("z", Z), ("attraction", ATTRACTION)) if hasattr(model, name)}
    for i, var in enumerate(columns):
        r = parts.get(id(var.parent_component()), OTHER)
        if r == OTHER:
            continue
        role[i] = r
        idx = var.index()
        if r in (X, ATTRACTION):
            segment[i] = int(idx)
        elif r == Y:
            menu[i], offer[i], level[i] = (int(t) for t in idx)
        else:
            segment[i], offer[i], level[i] = (int(t) for t in idx)
    return ColumnLayout(role=role, segment=segment, menu=menu, offer=offer, level=level)


def _info(cm: CompiledModel):
    if cm.info is None:
        raise ValueError("the compiled model carries no build data (compile a model from "
                         "bundleopt.optimize.model.build_model)")
    return cm.info


def decision_from_values(cm: CompiledModel, values: np.ndarray) -> Decision:
    """Read ``y[g, o, k] > 0.5`` into a :class:`Decision` (menus x offers)."""
    sc = _info(cm).scenario
    lay = cm.layout
    levels = np.full((sc.n_menus, sc.n_offers), NOT_OFFERED, dtype=int)
    cols = np.flatnonzero((lay.role == Y) & (np.asarray(values) > 0.5))
    for i in cols[np.lexsort((lay.level[cols], lay.offer[cols], lay.menu[cols]))]:
        levels[lay.menu[i], lay.offer[i]] = lay.level[i]
    return Decision(levels)


def start_vector(cm: CompiledModel, decision: Decision) -> np.ndarray | None:
    """Column values of ``decision`` (y, x = 1 / (v0 + sum v on), z = x y, attraction
    A = sum v on), or None when the decision uses a level the model has no variable
    for. A dominated level the build left out is replaced by its dominating level
    (never worse)."""
    info = _info(cm)
    sc = info.scenario
    lv = decision.levels
    if lv.shape != (sc.n_menus, sc.n_offers):
        return None
    if info.lift:  # dominated levels were left out: use the level that replaced them
        lv = lv.copy()
        for g in range(lv.shape[0]):
            for o in range(lv.shape[1]):
                lv[g, o] = info.lift.get((o, int(lv[g, o])), lv[g, o])
    on = lv != NOT_OFFERED
    if np.any(on & ~info.mask[np.arange(sc.n_offers)[None], np.clip(lv, 0, None)]):
        return None
    x = np.empty(sc.n_segments)
    attraction = np.empty(sc.n_segments)
    for s in range(sc.n_segments):
        row = lv[info.seg_menu[s]]
        offered = np.flatnonzero(row != NOT_OFFERED)
        attraction[s] = sc.v[s, offered, row[offered]].sum()
        x[s] = 1.0 / (sc.v0[s] + attraction[s])
    lay = cm.layout
    vec = np.zeros(len(lay))
    seg_menu = np.asarray(info.seg_menu, dtype=int)
    m = lay.role == X
    vec[m] = x[lay.segment[m]]
    m = lay.role == Y
    vec[m] = lv[lay.menu[m], lay.offer[m]] == lay.level[m]
    m = lay.role == Z
    s = lay.segment[m]
    vec[m] = x[s] * (lv[seg_menu[s], lay.offer[m]] == lay.level[m])
    m = lay.role == ATTRACTION
    vec[m] = attraction[lay.segment[m]]
    return vec


__all__ = ["ATTRACTION", "OTHER", "X", "Y", "Z", "ColumnLayout", "column_layout",
           "decision_from_values", "start_vector"]
