"""Latent-class MNL: recovery of a simulated two-class panel market, consistency with MNL."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from bundleopt.choice import MNL, LatentClassMNL, simulate_latent_class


def _match(estimated: pd.DataFrame, truth: pd.DataFrame) -> list[int]:
    """Permutation of estimated classes closest to the true ones (labels are arbitrary)."""
    best = min(
        itertools.permutations(estimated.columns),
        key=lambda perm: float(((estimated[list(perm)].to_numpy() - truth.to_numpy()) ** 2).sum()),
    )
    return list(best)


@pytest.fixture(scope="module")
def shares_market():
    return simulate_latent_class(n_customers=600, obs_per_customer=8, n_alts=3, shares=[0.35, 0.65], seed=7)


@pytest.fixture(scope="module")
def shares_fit(shares_market):
    df, _ = shares_market
    model = LatentClassMNL(n_classes=2, features=["x0", "x1"], asc=False, n_starts=3, random_state=0)
    return model.fit(df, obs="obs", alt="alt", choice="chosen", customer="customer")


def test_recovers_two_class_market(shares_fit, shares_market):
    _, truth = shares_market
    m = shares_fit
    assert m.converged_
    perm = _match(m.class_params_, truth["class_params"])
    est = m.class_params_[perm].to_numpy()
    se = m.std_errors_[perm].to_numpy()
    z = (est - truth["class_params"].to_numpy()) / se
    assert np.all(np.abs(z) < 3), z
    shares = m.shares_[perm]
    assert shares.sum() == pytest.approx(1.0)
    tol = 3 * np.sqrt(truth["shares"] * (1 - truth["shares"]) / 600)
    assert np.all(np.abs(shares - truth["shares"]) < tol), (shares, truth["shares"])


def test_posterior_per_customer(shares_fit, shares_market):
    _, truth = shares_market
    m = shares_fit
    post = m.posterior_
    assert post.shape == (600, 2) and post.index.name == "customer"
    np.testing.assert_allclose(post.sum(axis=1), 1.0, atol=1e-12)
    perm = _match(m.class_params_, truth["class_params"])
    assigned = np.asarray(perm)[post.to_numpy().argmax(axis=1)]
    # with 8 choices per customer, the class is identified for most customers
    assert (assigned == truth["classes"][post.index.to_numpy()]).mean() > 0.8
    # EM starts all reached (nearly) the same optimum on this well-separated market
    assert max(m.start_logliks_) - m.loglik_ < 1e-3


def test_predict_proba_sums_to_one(shares_fit, shares_market):
    df, _ = shares_market
    p = shares_fit.predict_proba(df)
    np.testing.assert_allclose(p.groupby(df["obs"]).sum(), 1.0, atol=1e-12)


def test_one_class_is_the_mnl(shares_market):
    df, _ = shares_market
    df = df[df["customer"] < 150]
    lc = LatentClassMNL(n_classes=1, features=["x0", "x1"], n_starts=1).fit(df, customer="customer")
    mnl = MNL(features=["x0", "x1"]).fit(df)
    np.testing.assert_allclose(lc.class_params_[0], mnl.params_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(lc.std_errors_[0], mnl.std_errors_, rtol=1e-5)
    assert lc.loglik_ == pytest.approx(mnl.loglik_, abs=1e-8)
    np.testing.assert_allclose(lc.shares_, [1.0])


def test_membership_model():
    df, truth = simulate_latent_class(
        n_customers=700, obs_per_customer=6, n_alts=3, membership_params=[[0.0, 0.0], [0.3, 1.5]], seed=3
    )
    m = LatentClassMNL(n_classes=2, features=["x0", "x1"], membership=["z0"], asc=False, n_starts=2)
    m.fit(df, customer="customer")
    perm = _match(m.class_params_, truth["class_params"])
    z = (m.class_params_[perm].to_numpy() - truth["class_params"].to_numpy()) / m.std_errors_[perm].to_numpy()
    assert np.all(np.abs(z) < 3), z
    # membership logit of the true class 1 relative to the true class 0
    g = m.membership_params_[perm[1]] - m.membership_params_[perm[0]]
    se = m.membership_std_errors_.to_numpy().max(axis=1)
    assert np.all(np.abs(g.to_numpy() - np.array([0.3, 1.5])) < 3 * se), (g, se)
    p = m.predict_proba(df)
    np.testing.assert_allclose(p.groupby(df["obs"]).sum(), 1.0, atol=1e-12)


def test_membership_must_be_constant_within_customer(shares_market):
    df, _ = shares_market
    df = df.assign(age=np.arange(len(df)))
    with pytest.raises(ValueError, match="constant within a customer"):
        LatentClassMNL(n_classes=2, features=["x0"], membership=["age"]).fit(df, customer="customer")
    with pytest.raises(ValueError, match=r"customer='shopper'"):
        LatentClassMNL(n_classes=2, features=["x0"]).fit(df, customer="shopper")
    with pytest.raises(ValueError, match=r"membership='income'"):
        LatentClassMNL(n_classes=2, features=["x0"], membership=["income"]).fit(df, customer="customer")
