"""Menu-grouped choice data (issue 15 item 1): the closed-form likelihood, gradient and Hessian
equal the row-by-row ones, and grouped fits give the row-by-row estimates to 1e-8."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from bundleopt.choice import MNL
from bundleopt.choice.grouped import (
    MenuChoices,
    derivative_factors,
    derivatives,
    group_records,
    make_menu_data,
    numpy_derivatives,
)
from bundleopt.choice.identification import identify, identify_factored
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


@pytest.mark.parametrize("seed, dominant", [(0, False), (2, True)])
def test_factored_hessian_is_the_dense_one(seed, dominant):
    """``-H = diag + left^T right`` (the large-J path: no J x J temporaries) equals the dense
    closed form, and the numpy assembly equals both."""
    mc = _random_menus(seed, dominant=dominant)
    d = make_menu_data(mc, np.eye(5)[:, 1:])
    theta = np.random.default_rng(seed + 20).normal(size=6)
    ll, g, H = derivatives(jnp.asarray(theta), d)
    ll2, g2, f = derivative_factors(jnp.asarray(theta), d)
    assert f.left.shape == f.right.shape == (2 * 7 + 2 * 2, 6)
    neg = np.diag(np.asarray(f.diag)) + np.asarray(f.left).T @ np.asarray(f.right)
    np.testing.assert_allclose(-neg, np.asarray(H), atol=1e-12 * np.abs(np.asarray(H)).max())
    ll3, g3, H3 = numpy_derivatives(theta, d)
    assert ll3 == pytest.approx(float(ll), rel=1e-14)
    np.testing.assert_allclose(g3, np.asarray(g), atol=1e-13)
    np.testing.assert_allclose(H3, np.asarray(H), atol=1e-12 * np.abs(np.asarray(H)).max())


def _null_projector(ident) -> np.ndarray:
    U = ident.basis
    return np.eye(U.shape[0]) - U @ U.T


def _assert_same_identification(a, b):
    np.testing.assert_array_equal(a.unidentified, b.unidentified)
    np.testing.assert_allclose(a.scale, b.scale, rtol=1e-12)
    np.testing.assert_allclose(_null_projector(a), _null_projector(b), atol=1e-8)


@pytest.mark.parametrize("case", ["regular", "collinear_price", "never_available", "both"])
def test_factored_identification_equals_the_dense_eigen_decomposition(case):
    """The null space found in the factors' small subspace is the one ``eigh`` finds on the
    dense ``-H0``: a price constant per alternative (collinear with the constants) and an
    alternative never available are unidentified either way."""
    mc = _random_menus(5, M=9, J=6, K=2, R=80)
    X, avail = mc.X.copy(), mc.avail.copy()
    if case in ("collinear_price", "both"):
        X[:, :, 0] = np.arange(6)[None, :] * 1.5  # feature a is a constant per alternative
        X[~avail] = 0.0
    if case in ("never_available", "both"):
        avail[:, 4] = False
        X[:, 4] = 0.0
    keep = avail[mc.menu, mc.choice]
    mc = MenuChoices(X, avail, mc.menu[keep], mc.choice[keep], X[mc.menu[keep], mc.choice[keep]],
                     mc.count[keep], mc.alt_ids, mc.features)
    d = make_menu_data(mc, np.eye(6)[:, 1:])
    _, _, H0 = numpy_derivatives(np.zeros(7), d)
    f = derivative_factors(jnp.zeros(7), d)[2]
    dense = identify(H0)
    fact = identify_factored(f.diag, f.left, f.right)
    _assert_same_identification(dense, fact)
    forced_dense = identify_factored(f.diag, f.left, f.right, min_diag_share=1.0)  # every coordinate "bad"
    _assert_same_identification(dense, forced_dense)
    assert dense.unidentified.any() == (case != "regular")


def test_factored_identification_finds_null_vectors_outside_the_diagonal_part():
    """Coordinates with a zero diagonal part carry the null space (v on them with L v = 0):
    found through their unit vectors, as by the dense eigen-decomposition."""
    rng = np.random.default_rng(3)
    p, q = 30, 5
    L = rng.normal(size=(q, p))
    diag = rng.uniform(0.5, 2.0, p)
    diag[:8] = 0.0  # 8 coordinates, rank-5 coupling: a 3-dimensional null space among them
    M = np.diag(diag) + L.T @ L
    fact = identify_factored(diag, L, L)
    dense = identify(-M)
    _assert_same_identification(dense, fact)
    assert dense.basis.shape[1] == p - 3


def test_menu_data_refuses_an_asc_map_that_does_not_select():
    mc = _random_menus(0)
    A = np.eye(5)[:, 1:]
    A[0, 0] = 1.0  # constant 0 on two alternatives
    with pytest.raises(ValueError, match="select one alternative per constant"):
        make_menu_data(mc, A)
