"""Menu-grouped choice data (issue 15 item 1): the closed-form likelihood, gradient and Hessian
equal the row-by-row ones, and grouped fits give the row-by-row estimates to 1e-8."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from bundleopt.choice import MNL
from bundleopt.choice.grouped import MenuChoices, derivatives, group_records, make_menu_data
from bundleopt.choice.likelihood import loglik_grad_hess, make_data
from bundleopt.choice.precision import float64


@pytest.fixture(autouse=True, scope="module")
def _float64():
    """These tests call the JAX kernels directly: in float64, as the models' methods do."""
    with float64():
        yield


def _random_menus(seed: int, M=7, J=5, K=2, R=40, dominant=False) -> MenuChoices:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(M, J, K))
    if dominant:
        X[:, 0, 0] = 12.0  # one alternative with nearly all the probability
    av = rng.random((M, J)) < 0.7
    av[:, 0] = True
    X[~av] = 0.0
    return MenuChoices(
        X=X, avail=av, menu=rng.integers(0, M, R), choice=rng.integers(0, J, R),
        x_chosen=rng.normal(size=(R, K)), count=rng.integers(1, 5, R).astype(float),
        alt_ids=pd.Index(range(J)), features=("a", "b"),
    )


@pytest.mark.parametrize("seed, dominant", [(0, False), (1, False), (2, True)])
def test_closed_form_derivatives_equal_the_row_by_row_ones(seed, dominant):
    mc = _random_menus(seed, dominant=dominant)
    A = np.eye(5)[:, 1:]
    theta = np.random.default_rng(seed + 10).normal(size=4 + 2)
    ll, g, H = derivatives(jnp.asarray(theta), make_menu_data(mc, A))
    X, y, av, w = mc.to_arrays()
    ref = loglik_grad_hess(jnp.asarray(theta), make_data(X, y, av, A, w), len(y))
    assert float(ll) == pytest.approx(float(ref[0]), rel=1e-12)
    np.testing.assert_allclose(np.asarray(g), np.asarray(ref[1]), atol=1e-9 * np.abs(ref[1]).max())
    np.testing.assert_allclose(np.asarray(H), np.asarray(ref[2]), atol=1e-9 * np.abs(ref[2]).max())


def test_grouping_adds_counts_of_identical_records():
    m, j, x, w = group_records(np.array([0, 0, 1, 0]), np.array([2, 2, 2, 1]), np.array([1.0, 1.0, 1.0, 1.0]))
    assert sorted(zip(m.tolist(), j.tolist(), w.tolist(), strict=True)) == [(0, 1, 1.0), (0, 2, 2.0), (1, 2, 1.0)]


def test_grouped_fit_equals_row_by_row_fit():
    mc = _random_menus(3, M=20, J=4, K=2, R=400)
    mc = MenuChoices(mc.X, mc.avail, mc.menu, mc.choice, mc.x_chosen, mc.count,
                     pd.Index(["n", "p", "q", "r"]), ("a", "b"))
    X, y, av, w = mc.to_arrays()
    rows = [(r, mc.alt_ids[j], int(j == y[r]), int(av[r, j]), X[r, j, 0], X[r, j, 1])
            for r in range(len(y)) for j in range(4)]
    df = pd.DataFrame(rows, columns=["obs", "alt", "chosen", "avail", "a", "b"])
    long = MNL(features=["a", "b"], reference="n").fit(df, avail="avail", weights=w)
    grouped = MNL(features=["a", "b"], reference="n").fit_menus(mc)
    np.testing.assert_allclose(grouped.params_, long.params_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(grouped.std_errors_, long.std_errors_, rtol=1e-8)
    assert grouped.loglik_ == pytest.approx(long.loglik_, rel=1e-12)
    assert grouped.null_loglik_ == pytest.approx(long.null_loglik_, rel=1e-12)
    assert grouped.converged_


def test_fit_menus_refuses_other_features():
    with pytest.raises(ValueError, match="fit_menus needs features"):
        MNL(features=["a"]).fit_menus(_random_menus(0))
