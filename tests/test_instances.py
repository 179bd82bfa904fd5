"""Random instance generator: shapes, the documented generative model, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from bundleopt.optimize.instances import random_instance
from bundleopt.scenario import Constraints


def test_shapes_and_ids():
    sc = random_instance(8, 4, 5, max_offers=3, n_bundles=3, seed=2)
    assert (sc.n_offers, sc.n_segments, sc.n_levels) == (8, 4, 5)
    assert sc.constraints.max_offers == 3
    assert sc.is_bundle.tolist() == [False] * 5 + [True] * 3
    assert np.isclose(sc.weights.sum(), 1.0)
    assert (sc.list_level == 4).all()


def test_same_seed_same_instance_other_seed_differs():
    a = random_instance(6, 3, 4, n_bundles=2, seed=7)
    b = random_instance(6, 3, 4, n_bundles=2, seed=7)
    c = random_instance(6, 3, 4, n_bundles=2, seed=8)
    np.testing.assert_array_equal(a.v, b.v)
    np.testing.assert_array_equal(a.prices, b.prices)
    assert a.components == b.components
    assert not np.allclose(a.v, c.v)


def test_costs_below_lowest_level_and_bundle_economics():
    sc = random_instance(12, 3, 6, n_bundles=5, seed=3)
    assert (sc.costs < np.nanmin(sc.prices, axis=1)).all()
    single = sc.single_offer()
    lp = sc.list_prices()
    for o in np.flatnonzero(sc.is_bundle):
        comp = [single[p] for p in sc.components[o]]
        assert 2 <= len(comp) <= 3 and len(set(comp)) == len(comp)
        assert np.isclose(sc.costs[o], sc.costs[comp].sum())
        ratio = lp[o] / lp[comp].sum()
        assert 0.75 - 1e-12 <= ratio <= 0.95 + 1e-12
    assert len(set(sc.components)) == sc.n_offers


def test_weights_follow_the_mnl_price_response():
    """log v is affine in price with the same negative slope for every considered offer."""
    sc = random_instance(5, 3, 4, seed=4, consideration=1.0)
    for s in range(3):
        slopes = np.diff(np.log(sc.v[s]), axis=1) / np.diff(sc.prices, axis=1)
        assert np.allclose(slopes, slopes[0, 0]) and slopes[0, 0] < 0


def test_consideration_sets_and_no_purchase_share():
    sc = random_instance(30, 6, 3, seed=5, consideration=0.5, no_purchase_share=0.3)
    considered = sc.v[:, :, 0] > 0
    assert 0.2 < considered.mean() < 0.8
    assert considered.any(axis=1).all()
    at_list = sc.v[:, :, -1].sum(axis=1)
    np.testing.assert_allclose(sc.v0 / (sc.v0 + at_list), 0.3)


def test_constraints_and_personalised_flags():
    sc = random_instance(4, 2, 2, 2, personalised=True, constraints=Constraints(min_margin=0.1))
    assert sc.personalised and sc.n_menus == 2
    assert sc.constraints.max_offers == 2 and sc.constraints.min_margin == 0.1


@pytest.mark.parametrize(
    "kwargs",
    [dict(n_offers=0, n_segments=1, n_levels=1), dict(n_offers=3, n_segments=1, n_levels=1, n_bundles=2),
     dict(n_offers=4, n_segments=1, n_levels=1, n_bundles=2), dict(n_offers=3, n_segments=1, n_levels=1, no_purchase_share=1.0)],
)
def test_bad_sizes_raise(kwargs):
    with pytest.raises(ValueError):
        random_instance(**kwargs)
