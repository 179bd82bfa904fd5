"""Closed-form MNL prices: optimality (perturbations, gradient) and fine-ladder brute force."""

from __future__ import annotations

import numpy as np
import pytest

from bundleopt.optimize.brute_force import brute_force
from bundleopt.pricing_theory import (
    equal_sensitivity_optimum,
    ladder_scenario,
    markup_ladder,
    mnl_profit,
    mnl_profit_gradient,
    product_sensitivity_optimum,
)


def market(seed: int, n: int = 3):
    rng = np.random.default_rng(seed)
    return rng.normal(1.0, 1.0, n), rng.uniform(0.5, 2.0, n), rng.uniform(0.5, 3.0, n)


@pytest.mark.parametrize("seed", range(5))
def test_equal_beta_is_a_maximum(seed):
    a, _, c = market(seed)
    beta = 1.3
    opt = equal_sensitivity_optimum(a, beta, c)
    assert mnl_profit(opt.prices, a, beta, c) == pytest.approx(opt.profit, rel=1e-12)
    np.testing.assert_allclose(mnl_profit_gradient(opt.prices, a, beta, c), 0.0, atol=1e-12)
    rng = np.random.default_rng(100 + seed)
    for scale in (1e-3, 1e-1, 1.0):
        for _ in range(50):
            p = opt.prices + rng.normal(0.0, scale, len(a))
            assert mnl_profit(p, a, beta, c) <= opt.profit + 1e-13


@pytest.mark.parametrize("seed", range(5))
def test_product_beta_is_a_maximum(seed):
    a, beta, c = market(seed, 4)
    opt = product_sensitivity_optimum(a, beta, c)
    assert mnl_profit(opt.prices, a, beta, c) == pytest.approx(opt.profit, rel=1e-12)
    np.testing.assert_allclose(mnl_profit_gradient(opt.prices, a, beta, c), 0.0, atol=1e-12)
    np.testing.assert_allclose(opt.markups, 1 / beta + opt.profit)
    rng = np.random.default_rng(200 + seed)
    for _ in range(200):
        p = opt.prices + rng.normal(0.0, 0.3, len(a))
        assert mnl_profit(p, a, beta, c) <= opt.profit + 1e-13


def test_fixed_point_reduces_to_lambert_w():
    a, _, c = market(7, 5)
    eq = equal_sensitivity_optimum(a, 0.8, c)
    fp = product_sensitivity_optimum(a, 0.8, c)
    np.testing.assert_allclose(fp.prices, eq.prices, rtol=1e-12)
    assert fp.profit == pytest.approx(eq.profit, rel=1e-12)


def test_gradient_matches_finite_differences():
    a, beta, c = market(3)
    p = c + 1.0
    h = 1e-6
    fd = [(mnl_profit(p + h * e, a, beta, c) - mnl_profit(p - h * e, a, beta, c)) / (2 * h) for e in np.eye(3)]
    np.testing.assert_allclose(mnl_profit_gradient(p, a, beta, c), fd, rtol=1e-6, atol=1e-9)


def test_fine_ladder_brute_force_approaches_equal_beta_closed_form():
    a, c, beta = np.array([1.0, 0.3]), np.array([1.0, 2.0]), 1.0
    opt = equal_sensitivity_optimum(a, beta, c)
    gaps = []
    for n in (11, 41, 121):
        markups = np.linspace(0.5 * opt.markups[0], 1.5 * opt.markups[0], n)
        step = markups[1] - markups[0]
        sc = ladder_scenario(a, beta, c, markup_ladder(c, markups))
        decision, ev = brute_force(sc)
        prices = sc.prices[np.arange(2), decision.levels[0]]
        assert (decision.levels[0] >= 0).all()
        assert ev.profit <= opt.profit + 1e-12
        assert np.abs(prices - opt.prices).max() <= step + 1e-12
        gaps.append(opt.profit - ev.profit)
    assert gaps[-1] < 1e-4 and gaps[-1] <= gaps[0]


def test_fine_ladder_brute_force_approaches_fixed_point():
    a, beta, c = np.array([0.5, 1.5]), np.array([0.7, 1.6]), np.array([1.0, 0.5])
    opt = product_sensitivity_optimum(a, beta, c)
    grid = opt.prices[:, None] + np.linspace(-1.0, 1.0, 101)[None, :]
    step = 0.02
    decision, ev = brute_force(ladder_scenario(a, beta, c, grid))
    prices = grid[np.arange(2), decision.levels[0]]
    assert np.abs(prices - opt.prices).max() <= step + 1e-12
    assert 0 <= opt.profit - ev.profit < 1e-3


def test_bad_inputs():
    with pytest.raises(ValueError, match="beta"):
        equal_sensitivity_optimum([0.0], 0.0, [1.0])
    with pytest.raises(ValueError, match="equal length"):
        product_sensitivity_optimum([0.0, 1.0], 1.0, [1.0])
    with pytest.raises(ValueError, match="grid"):
        ladder_scenario([0.0, 1.0], 1.0, [1.0, 1.0], np.ones((3, 2)))
