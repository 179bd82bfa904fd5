"""Scale a compiled model so that the numbers HiGHS sees sit near 1, and remove the
entries it could not resolve without changing what the model proves.

The MILP's raw coefficients are attractions ``v[s, o, k]`` and their inverses, which
on real data (price coefficients in currency units) span tens of orders of magnitude.
HiGHS drops matrix entries at or below ``small_matrix_value`` (1e-9) and judges
feasibility to an absolute 1e-7, so a raw model can lose rows' meaning in silence.
:func:`condition` rewrites ``min c u  s.t.  r_lo <= A u <= r_hi, u_lo <= u <= u_hi``
(``formulations/milp.md``, "Scaling"):

1. **Columns** ``u_j = d_j u'_j`` with ``d_j`` a power of two
   (:func:`column_scales`): ``max(|u_lo_j|, |u_hi_j|)`` (1 where infinite), or for a
   positive box the geometric mean ``sqrt(u_lo_j u_hi_j)``. Every variable of the model
   has a finite box (``z <= 1 / (v0 + v)``, ``y`` binary, ``A_s <= t_max``), so ``u'``
   lies in about ``[-1, 1]``; ``x[s]`` in ``[L_s, 1 / v0_s]`` lies within
   ``sqrt(v0_s / L_s)`` of 1.
2. **Rows** divided by ``r_i``, the power of two nearest to the row's largest
   ``|A_ij d_j|``: the largest entry of every row is then within a factor
   ``sqrt(2)`` of 1.
3. **Negligible entries** ``|A'_ij| < drop_tol`` are removed by *relaxing* the row:
   the term ``A'_ij u'_j`` lies in ``[m_ij, M_ij]`` over the column's box, so
   ``r'_lo <= A' u' <= r'_hi`` implies
   ``r'_lo - M_ij <= (A' u' without the term) <= r'_hi - m_ij``. The conditioned
   model is a relaxation of the original: every feasible point stays feasible, its
   optimum and its best bound are valid upper bounds on the original's (the
   decision it returns is scored by the exact evaluator, so the reported profit and
   gap stay true). Each removal loosens one row by at most ``drop_tol`` (|u'| <= 1).
4. **Objective** divided by ``e``, the power of two nearest to the largest term that
   can *raise* the profit (:func:`objective_scale`): loss-making terms far larger than
   every profitable one would otherwise push the profitable ones below HiGHS' dual
   tolerance (1e-7), and with them the decisions that make any money.

Powers of two make every scaling exact in floating point (only exponents change).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

INF = float("inf")


@dataclass(frozen=True)
class Scaling:
    """How a model was conditioned: ``u = col_scale * u'``, row i of the solver's
    model is the original row divided by ``row_scale[i]`` (and relaxed where entries
    were removed), the solver's objective is the original divided by ``obj_scale``.
    ``dropped``: entries removed; ``max_shift``: the largest loosening of a row bound,
    in the solver's (scaled) row units."""

    col_scale: np.ndarray
    row_scale: np.ndarray
    obj_scale: float
    dropped: int = 0
    max_shift: float = 0.0


@dataclass(frozen=True)
class LinearProgram:
    """``min c u + offset  s.t.  row_lo <= A u <= row_hi, col_lo <= u <= col_hi``
    (``A`` in CSC form)."""

    c: np.ndarray
    offset: float
    A: sp.csc_array
    row_lo: np.ndarray
    row_hi: np.ndarray
    col_lo: np.ndarray
    col_hi: np.ndarray


def power_of_two(values: np.ndarray) -> np.ndarray:
    """The power of two nearest (in log scale) to each positive finite value; 1 elsewhere."""
    values = np.asarray(values, dtype=float)
    ok = np.isfinite(values) & (values > 0)
    out = np.ones_like(values)
    out[ok] = np.exp2(np.round(np.log2(values[ok])))
    return out


def column_scales(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Power-of-two scale of each column: the geometric mean ``sqrt(lo hi)`` of a box
    ``0 < lo <= hi`` (a no-purchase share ``x[s]`` in ``[L_s, 1 / v0_s]``, which can span
    many orders of magnitude when ``v0`` is tiny: its values then sit within
    ``sqrt(hi / lo)`` of 1 either way), else the largest ``|bound|`` (1 when infinite)."""
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    size = np.maximum(np.abs(lo), np.abs(hi))
    positive = (lo > 0) & np.isfinite(hi)
    size = np.where(positive, np.sqrt(np.where(positive, lo * hi, 1.0)), size)
    return power_of_two(size)


def condition(lp: LinearProgram, *, drop_tol: float = 1e-8, exact_rows: np.ndarray | None = None,
              exact_tol: float = 1e-12) -> tuple[LinearProgram, Scaling]:
    """The conditioned (scaled, relaxed where negligible) model and its :class:`Scaling`.

    See the module docstring for the maths; ``drop_tol`` is the smallest entry kept
    relative to its row's largest; in the rows marked by ``exact_rows`` (business rules,
    whose relaxation could let a decision break them) only entries below ``exact_tol``
    are removed (the solver must then keep entries down to that size).
    """
    n_rows, n_cols = lp.A.shape
    col_scale = column_scales(lp.col_lo, lp.col_hi)
    col_lo = lp.col_lo / col_scale
    col_hi = lp.col_hi / col_scale
    A = sp.csc_array(lp.A, copy=True)
    A.data = A.data * np.repeat(col_scale, np.diff(A.indptr))
    coo = A.tocoo()
    row_max = np.zeros(n_rows)
    np.maximum.at(row_max, coo.row, np.abs(coo.data))
    row_scale = power_of_two(row_max)
    data = coo.data / row_scale[coo.row]
    row_lo = lp.row_lo / row_scale
    row_hi = lp.row_hi / row_scale
    tol = np.full(n_rows, drop_tol) if exact_rows is None else np.where(exact_rows, exact_tol, drop_tol)
    small = (np.abs(data) < tol[coo.row]) & (data != 0.0)
    # only entries whose column has a finite box can be bounded, hence removed
    small &= np.isfinite(col_lo[coo.col]) & np.isfinite(col_hi[coo.col])
    max_shift = 0.0
    if small.any():
        a = data[small]
        ends = np.stack([a * col_lo[coo.col[small]], a * col_hi[coo.col[small]]])
        term_lo, term_hi = ends.min(axis=0), ends.max(axis=0)
        shift_lo = np.zeros(n_rows)
        shift_hi = np.zeros(n_rows)
        np.add.at(shift_lo, coo.row[small], term_hi)  # r_lo - max(term)
        np.add.at(shift_hi, coo.row[small], term_lo)  # r_hi - min(term)
        row_lo = np.where(np.isfinite(row_lo), row_lo - shift_lo, row_lo)
        row_hi = np.where(np.isfinite(row_hi), row_hi - shift_hi, row_hi)
        max_shift = float(max(np.abs(shift_lo).max(), np.abs(shift_hi).max()))
        data = np.where(small, 0.0, data)
    A_out = sp.csc_array((data, (coo.row, coo.col)), shape=(n_rows, n_cols))
    A_out.eliminate_zeros()
    c = lp.c * col_scale
    obj_scale = objective_scale(c, col_lo, col_hi)
    out = LinearProgram(c=c / obj_scale, offset=lp.offset / obj_scale, A=A_out,
                        row_lo=row_lo, row_hi=row_hi, col_lo=col_lo, col_hi=col_hi)
    return out, Scaling(col_scale=col_scale, row_scale=row_scale, obj_scale=obj_scale,
                        dropped=int(small.sum()), max_shift=max_shift)


def objective_scale(c: np.ndarray, lo: np.ndarray, hi: np.ndarray, max_ratio: float = 1e9) -> float:
    """Power of two dividing the (minimised) objective: the largest term that can
    *lower* it, ``max_j max(0, -c_j hi_j, c_j lo_j)`` over the (scaled) box, so that the
    terms that make a decision profitable sit near 1 even when loss-making terms are
    far larger (those may then reach ``max_ratio``; beyond that the largest term sets
    the scale). 1 for an empty or zero objective."""
    if not c.size:
        return 1.0
    gain = np.maximum(0.0, np.maximum(-c * np.where(np.isfinite(hi), hi, 1.0),
                                      -c * np.where(np.isfinite(lo), lo, -1.0)))
    largest = float(np.abs(c).max())
    scale = float(gain.max()) if gain.max() > 0 else largest
    scale = max(scale, largest / max_ratio)
    return float(power_of_two(np.array([scale]))[0]) if scale > 0 else 1.0


def identity_scaling(n_rows: int, n_cols: int) -> Scaling:
    """The scaling of a model handed over as it is."""
    return Scaling(col_scale=np.ones(n_cols), row_scale=np.ones(n_rows), obj_scale=1.0)


__all__ = ["LinearProgram", "Scaling", "column_scales", "condition", "identity_scaling",
           "objective_scale", "power_of_two"]
