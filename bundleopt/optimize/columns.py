"""A decision as a column vector of the compiled MILP, and back.

Both directions read the compiled model's
:class:`~bundleopt.optimize.highs_backend.ColumnLayout` (each column's role, segment,
menu, offer, level) and its build data (:class:`~bundleopt.optimize.model.BuildInfo`),
never a Pyomo name, so the Pyomo model may be freed once compiled.
"""

from __future__ import annotations

import numpy as np

from bundleopt.optimize.highs_backend import ATTRACTION, CompiledModel, X, Y, Z
from bundleopt.scenario import NOT_OFFERED, Decision


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


__all__ = ["decision_from_values", "start_vector"]
