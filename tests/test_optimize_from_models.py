"""Scenario.from_models: fitted choice model -> scenario -> solve."""

from __future__ import annotations

import numpy as np
import pytest

from bundleopt.choice import MNL, preference_weights
from bundleopt.choice.simulate import simulate_mnl
from bundleopt.optimize import evaluate, solve
from bundleopt.scenario import Scenario


def test_from_models_matches_preference_weights() -> None:
    m = MNL(features=["price"]).fit(
        simulate_mnl(n_obs=1500, n_alts=4, n_features=1, params=[0.4, 0.2, -0.1, -1.0], seed=3)[0]
        .rename(columns={"x0": "price"}))
    prices = np.array([[1.0, 1.5], [1.0, 2.0], [0.5, 1.0]])
    sc = Scenario.from_models(m, [1, 2, 3], prices, [0.3, 0.4, 0.2], max_offers=2)
    v, v0 = preference_weights(m, [1, 2, 3], prices)
    np.testing.assert_allclose(sc.v, v)
    np.testing.assert_allclose(sc.v0, v0)
    assert sc.offer_ids == (1, 2, 3) and sc.weights.tolist() == [1.0]
    sol = solve(sc, threads=1)
    assert sol.objective == pytest.approx(evaluate(sc, sol.decision).profit, rel=1e-6)
    two = Scenario.from_models([m, m], [1, 2, 3], prices, [0.3, 0.4, 0.2], weights=[0.5, 0.5])
    assert two.n_segments == 2
    with pytest.raises(ValueError, match="weights"):
        Scenario.from_models([m, m], [1, 2, 3], prices, [0.3, 0.4, 0.2])
