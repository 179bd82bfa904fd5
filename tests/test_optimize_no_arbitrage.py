"""No-arbitrage and bundle discount band (formulations/no_arbitrage.md)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from test_optimize_core import FAST, assert_matches_brute_force, small

from bundleopt.optimize import solve
from bundleopt.optimize.evaluation import evaluate
from bundleopt.scenario import Constraints, Scenario


@FAST
@given(seed=st.integers(0, 10_000), dmin=st.sampled_from([None, 0.0, 0.1, 0.2]),
       dmax=st.sampled_from([None, 0.2, 0.3]), personalised=st.booleans())
def test_no_arbitrage_equals_brute_force(seed: int, dmin: float | None, dmax: float | None,
                                         personalised: bool) -> None:
    if personalised:
        sc = small(seed, personalised=True, n_offers=3, n_bundles=1, n_levels=2,
                   min_bundle_discount=dmin, max_bundle_discount=dmax, synergy=1.0)
    else:
        sc = small(seed, personalised=False, n_offers=5, n_bundles=2, n_levels=3,
                   min_bundle_discount=dmin, max_bundle_discount=dmax, synergy=1.0)
    assert_matches_brute_force(sc)


def test_bundle_priced_against_chosen_or_list_component_prices() -> None:
    """A bundle customers love, priced at 19 vs components 10 + 10 (list): legal only
    while both singles stay at (or off, i.e. at) list price 10 with d_min = 0.0."""
    prices = np.array([[8.0, 10.0], [8.0, 10.0], [16.0, 19.0]])
    v = np.array([[[0.2, 0.1], [0.2, 0.1], [50.0, 40.0]]])
    sc = Scenario.from_arrays(v, [1.0], prices, [1.0, 1.0, 2.0], [1.0],
                              components=[("a",), ("b",), ("a", "b")], offer_ids=["a", "b", "ab"],
                              constraints=Constraints(min_bundle_discount=0.0))
    sol = solve(sc, threads=1)
    ev = evaluate(sc, sol.decision)
    assert ev.feasible, ev.violations
    lv = sol.decision.levels[0]
    assert lv[2] == 1  # the bundle at 19
    assert lv[0] in (-1, 1) and lv[1] in (-1, 1)  # no component at 8 (8 + 10 < 19)
