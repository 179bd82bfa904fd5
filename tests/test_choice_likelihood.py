"""The fused likelihood kernels against the reference and finite differences."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bundleopt.choice.likelihood import (
    block_size,
    loglik,
    loglik_and_grad,
    loglik_grad_hess,
    loglik_per_obs,
    make_data,
    n_blocks,
    score_outer,
)
from bundleopt.choice.precision import float64


@pytest.fixture(autouse=True, scope="module")
def _float64():
    """These tests call the JAX kernels directly: in float64, as the models' methods do."""
    with float64():
        yield


def _data(n=60, J=4, K=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, J, K))
    y = rng.integers(0, J, n).astype(np.int32)
    avail = rng.random((n, J)) < 0.7
    avail[np.arange(n), y] = True
    avail[:, 0] = True
    X[~avail] = 0.0
    A = np.eye(J)[:, 1:]
    theta = rng.standard_normal(J - 1 + K) * 0.4
    return make_data(X, y, avail, A, rng.random(n) + 0.5), jnp.asarray(theta)


@pytest.mark.parametrize("size", [7, 13, 60])
def test_fused_matches_reference(size):
    """Blocks of any size (the last one overlapping) give the reference LL, gradient, Hessian."""
    data, theta = _data()
    ll, g = loglik_and_grad(theta, data, size, n_blocks(60, size))
    ll2, g2, H = loglik_grad_hess(theta, data, size, n_blocks(60, size))
    assert ll == pytest.approx(float(loglik(theta, data)), rel=1e-13)
    np.testing.assert_allclose(g, jax.grad(loglik)(theta, data), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g2, g, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(H, jax.hessian(loglik)(theta, data), rtol=1e-11, atol=1e-11)


def test_gradient_matches_finite_differences():
    """Analytic gradient = central finite differences of the log-likelihood (float64)."""
    data, theta = _data(seed=3)
    _, g = loglik_and_grad(theta, data, 16, 4)
    h = 1e-6
    fd = np.array(
        [
            (float(loglik(theta.at[i].add(h), data)) - float(loglik(theta.at[i].add(-h), data))) / (2 * h)
            for i in range(theta.shape[0])
        ]
    )
    np.testing.assert_allclose(np.asarray(g), fd, rtol=1e-6, atol=1e-6)


def test_hessian_matches_finite_differences_of_gradient():
    data, theta = _data(seed=4)
    _, _, H = loglik_grad_hess(theta, data, 16, 4)
    h = 1e-5
    cols = [
        (np.asarray(loglik_and_grad(theta.at[i].add(h), data, 16, 4)[1]) - np.asarray(loglik_and_grad(theta.at[i].add(-h), data, 16, 4)[1]))
        / (2 * h)
        for i in range(theta.shape[0])
    ]
    np.testing.assert_allclose(np.asarray(H), np.stack(cols, axis=1), rtol=1e-6, atol=1e-6)


def test_score_outer_is_sum_of_score_outer_products():
    data, theta = _data(seed=5)
    G = jax.jacobian(loglik_per_obs)(theta, data) * data.weight[:, None]
    np.testing.assert_allclose(score_outer(theta, data, 11, 6), G.T @ G, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize(("size", "blocks"), [(10, 2), (7, 5), (4, 14)])
def test_prefix_blocks_are_a_subsample(size, blocks):
    """Visiting the first m blocks = the log-likelihood of the first m * size observations
    (also when m is not a multiple of the blocks processed together)."""
    data, theta = _data(n=60)
    sub = data._replace(weight=data.weight.at[size * blocks :].set(0.0))
    ll, g = loglik_and_grad(theta, data, size, blocks)
    assert float(ll) == pytest.approx(float(loglik(theta, sub)), rel=1e-13)
    np.testing.assert_allclose(g, jax.grad(loglik)(theta, sub), rtol=1e-12, atol=1e-12)


def test_block_size_targets_cache():
    assert block_size(1_000_000, 20, 8) == 1953
    assert block_size(10, 20, 8) == 10
    assert block_size(10_000, 20, 8) == 10_000  # 12.8 MB: one block
