"""The conditioned model (optimize/conditioning.py): a scaled relaxation of the raw one.

Properties: scaling by powers of two is exact, every point feasible for the raw model
stays feasible for the conditioned one (so its bounds stay valid), entries below the
drop tolerance are gone, and a badly scaled instance that HiGHS got wrong before the
conditioning (huge no-purchase weights) now matches brute force.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from bundleopt.optimize.brute_force import brute_force
from bundleopt.optimize.columns import start_vector
from bundleopt.optimize.conditioning import LinearProgram, column_scales, condition, power_of_two
from bundleopt.optimize.highs_backend import compile_model
from bundleopt.optimize.milp import solve_milp
from bundleopt.optimize.model import build_model
from bundleopt.scenario import Constraints, Scenario


def _random_lp(seed: int) -> tuple[LinearProgram, np.ndarray]:
    """A random LP with entries over 24 orders of magnitude and a point feasible for it."""
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(2, 8)), int(rng.integers(2, 8))
    dense = rng.normal(size=(m, n)) * 10.0 ** rng.uniform(-12, 12, size=(m, n))
    dense[rng.random((m, n)) < 0.3] = 0.0
    hi = 10.0 ** rng.uniform(-6, 6, size=n)
    lo = np.where(rng.random(n) < 0.5, 0.0, hi * rng.uniform(1e-6, 0.9, size=n))
    point = lo + (hi - lo) * rng.random(n)
    act = dense @ point
    row_lo = np.where(rng.random(m) < 0.5, act - np.abs(act) * rng.random(m), -np.inf)
    row_hi = np.where(rng.random(m) < 0.5, act, np.inf)
    row_hi = np.where(np.isinf(row_lo) & np.isinf(row_hi), act, row_hi)
    lp = LinearProgram(c=rng.normal(size=n) * 10.0 ** rng.uniform(-9, 9, size=n), offset=0.0,
                       A=sp.csc_array(dense), row_lo=row_lo, row_hi=row_hi, col_lo=lo, col_hi=hi)
    return lp, point


@given(seed=st.integers(0, 10_000))
@settings(max_examples=60, deadline=None)
def test_conditioned_model_is_a_relaxation(seed: int) -> None:
    lp, point = _random_lp(seed)
    out, scaling = condition(lp)
    scaled = point / scaling.col_scale
    act = out.A @ scaled
    slack = 1e-12 * (1.0 + np.abs(act))
    assert np.all(act >= out.row_lo - slack) and np.all(act <= out.row_hi + slack)
    assert np.all(scaled >= out.col_lo - 1e-15) and np.all(scaled <= out.col_hi + 1e-15)
    # objective: the same value, divided by obj_scale
    assert np.isclose(out.c @ scaled * scaling.obj_scale, lp.c @ point, rtol=1e-12, atol=0)
    # no entry below the drop tolerance of its row's largest, every row's largest near 1
    dense = out.A.toarray()
    for row in dense:
        nz = np.abs(row[row != 0])
        if nz.size:
            assert nz.max() <= np.sqrt(2) * (1 + 1e-12)
            assert nz.min() >= 1e-8 * 0.999
    assert scaling.dropped == (lp.A.nnz - out.A.nnz)


def test_powers_of_two_are_exact() -> None:
    values = np.array([3.0, 1e-300, 7e250, 0.0, np.inf, -2.0])
    p = power_of_two(values)
    assert np.all(np.log2(p) == np.round(np.log2(p)))
    assert p[3] == p[4] == p[5] == 1.0
    assert column_scales(np.array([1e-6]), np.array([1e6]))[0] == 1.0  # geometric mean


def test_rule_rows_keep_small_entries() -> None:
    A = sp.csc_array(np.array([[1.0, 1e-10], [1.0, 1e-10]]))
    lp = LinearProgram(c=np.zeros(2), offset=0.0, A=A, row_lo=np.array([-np.inf, -np.inf]),
                       row_hi=np.array([1.0, 1.0]), col_lo=np.zeros(2), col_hi=np.ones(2))
    out, scaling = condition(lp, exact_rows=np.array([False, True]))
    assert scaling.dropped == 1
    assert out.A.toarray()[1, 1] == pytest.approx(1e-10)
    assert out.A.toarray()[0, 1] == 0.0 and out.row_hi[0] == 1.0  # min of the term is 0


def _huge_v0_scenario() -> Scenario:
    """Four offers, four segments whose no-purchase weights are 4e3 to 5e7 times the
    attractions' (purchase probabilities 1e-9 to 1e-3): HiGHS's presolve cut the optimum
    off the raw model (0.0046 instead of 0.0075)."""
    rng = np.random.default_rng(108)
    prices = np.array([[200.0, 180.0, 160.0], [120.0, 110.0, 100.0], [90.0, 80.0, 70.0],
                       [260.0, 240.0, 220.0]])
    v = np.exp(rng.normal(0, 1.5, size=(4, 4, 1)) - 0.02 * prices[None])
    v0 = np.array([1.7e5, 9.1e5, 4.3e3, 4.9e7])
    return Scenario.from_arrays(v, v0, prices, costs=[120.0, 60.0, 50.0, 150.0],
                                weights=[0.13, 0.14, 0.65, 0.08], personalised=False,
                                constraints=Constraints(max_offers=4))


def test_badly_scaled_instance_matches_brute_force() -> None:
    sc = _huge_v0_scenario()
    best = brute_force(sc)[1].profit
    run = solve_milp(sc, threads=1, mip_gap=1e-9, warm_start=False)
    assert run.result.bound >= best * (1 - 1e-6)
    model = build_model(sc)
    cm = compile_model(model)
    assert cm.scaling.col_scale.max() / cm.scaling.col_scale.min() > 1e3  # it was rescaled
    assert start_vector(cm, run.decision) is not None


@given(seed=st.integers(0, 10_000))
@settings(max_examples=60, deadline=None)
def test_top_of_others_has_no_cancellation(seed: int) -> None:
    """The bounds L_sok / L'_so sum the other offers' attractions without subtracting an
    offer from a total: exact to 1e-12 relative with attractions over 24 orders."""
    from bundleopt.optimize.model import top_of_others

    rng = np.random.default_rng(seed)
    n_s, n_o = int(rng.integers(1, 4)), int(rng.integers(1, 8))
    v = 10.0 ** rng.uniform(-12, 12, size=(n_s, n_o))
    if n_o > 1 and rng.random() < 0.3:
        v[:, 0] = v[:, 1]  # ties
    for m in range(n_o + 2):
        got = top_of_others(v, m)
        for s in range(n_s):
            for o in range(n_o):
                want = np.sort(np.delete(v[s], o))[::-1][:m].sum()
                assert got[s, o] == pytest.approx(want, rel=1e-12, abs=0)
