"""MNL estimation on simulated data: recovery, invariance, predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bundleopt.choice import MNL, simulate_mnl

FEATURES = ["x0", "x1", "x2"]


@pytest.fixture(scope="module")
def market():
    return simulate_mnl(n_obs=6000, n_alts=4, n_features=3, seed=11, avail_prob=0.75)


@pytest.fixture(scope="module")
def fitted(market):
    df, _ = market
    return MNL(features=FEATURES, robust=True).fit(df, obs="obs", alt="alt", choice="chosen", avail="available")


def test_recovers_true_parameters_within_three_std_errors(fitted, market):
    _, truth = market
    assert fitted.converged_
    assert list(fitted.params_.index) == ["ASC_1", "ASC_2", "ASC_3", *FEATURES]
    z = (fitted.params_ - truth) / fitted.std_errors_
    assert (z.abs() < 3).all(), z
    # robust (sandwich) errors agree with the Hessian ones when the model is right
    np.testing.assert_allclose(fitted.robust_std_errors_, fitted.std_errors_, rtol=0.15)


def test_fit_statistics(fitted, market):
    df, _ = market
    n_avail = df.groupby("obs")["available"].sum()
    assert fitted.n_obs_ == 6000
    assert fitted.null_loglik_ == pytest.approx(-np.log(n_avail).sum())
    assert fitted.loglik_ > fitted.null_loglik_
    assert fitted.rho2_ == pytest.approx(1 - fitted.loglik_ / fitted.null_loglik_)
    # at the optimum the score is zero
    assert np.abs(fitted.fit_result_.grad).max() < 1e-6


def test_invariant_to_row_order(fitted, market):
    df, _ = market
    shuffled = df.sample(frac=1.0, random_state=3)
    refit = MNL(features=FEATURES).fit(shuffled, obs="obs", alt="alt", choice="chosen", avail="available")
    np.testing.assert_allclose(refit.params_, fitted.params_, rtol=1e-8, atol=1e-9)
    assert refit.loglik_ == pytest.approx(fitted.loglik_, rel=1e-12)


def test_unavailable_rows_may_be_dropped(fitted, market):
    """Absent (obs, alt) rows are unavailable: dropping the unavailable rows changes nothing."""
    df, _ = market
    kept = df[df["available"] == 1].drop(columns="available")
    refit = MNL(features=FEATURES).fit(kept, obs="obs", alt="alt", choice="chosen")
    np.testing.assert_allclose(refit.params_, fitted.params_, rtol=1e-8, atol=1e-9)


def test_predict_proba_sums_to_one_per_observation(fitted, market):
    df, _ = market
    p = fitted.predict_proba(df)
    assert isinstance(p, pd.Series) and p.index.equals(df.index)
    assert (p[df["available"] == 0] == 0).all()
    np.testing.assert_allclose(p.groupby(df["obs"]).sum(), 1.0, atol=1e-12)
    # log-likelihood from the predictions equals the fitted one
    assert np.log(p[df["chosen"] == 1]).sum() == pytest.approx(fitted.loglik_, rel=1e-10)
    # shuffled rows get the same probability per row
    sh = df.sample(frac=1.0, random_state=1)
    np.testing.assert_allclose(fitted.predict_proba(sh), p.loc[sh.index], atol=1e-14)


def test_alternative_specific_coefficients_and_reference():
    df, truth = simulate_mnl(n_obs=3000, n_alts=3, n_features=2, seed=5)
    m = MNL(features=["x0"], reference=2, features_by_alt={1: ["x1"], 2: ["x1"], 0: ["x1"]}).fit(df)
    assert list(m.params_.index) == ["ASC_0", "ASC_1", "x0", "x1_1", "x1_2", "x1_0"]
    # constants are relative to alternative 2 now
    z_asc0 = (m.params_["ASC_0"] - (0 - truth["ASC_2"])) / m.std_errors_["ASC_0"]
    assert abs(z_asc0) < 3
    for name in ["x1_0", "x1_1", "x1_2"]:
        assert abs((m.params_[name] - truth["x1"]) / m.std_errors_[name]) < 3.5


def test_no_asc_and_string_alternatives():
    df, truth = simulate_mnl(n_obs=2000, n_alts=3, n_features=2, params=[-1.0, 0.5], seed=2)
    df["alt"] = df["alt"].map({0: "bus", 1: "car", 2: "rail"})
    df = df.rename(columns={"obs": "trip", "alt": "mode", "chosen": "y"})
    m = MNL(features=["x0", "x1"], asc=False).fit(df, obs="trip", alt="mode", choice="y")
    assert list(m.params_.index) == ["x0", "x1"]
    assert (((m.params_ - truth[["x0", "x1"]]) / m.std_errors_).abs() < 3).all()
    assert m.predict_proba(df).groupby(df["trip"]).sum().sub(1).abs().max() < 1e-12


def test_weights_scale_the_loglikelihood():
    df, _ = simulate_mnl(n_obs=1500, n_alts=3, n_features=2, seed=4)
    a = MNL(features=["x0", "x1"]).fit(df)
    b = MNL(features=["x0", "x1"]).fit(df, weights=np.full(1500, 2.0))
    np.testing.assert_allclose(a.params_, b.params_, rtol=1e-8)
    assert b.loglik_ == pytest.approx(2 * a.loglik_)
    np.testing.assert_allclose(b.std_errors_ * np.sqrt(2), a.std_errors_, rtol=1e-8)


def test_unfitted_model_raises():
    with pytest.raises(ValueError, match="not fitted"):
        MNL(features=["x0"]).predict_proba(pd.DataFrame())


def test_large_data_path_finds_the_same_maximum():
    """Prefix L-BFGS + approximate-Hessian steps + one exact check = plain L-BFGS + Newton."""
    from bundleopt.choice.fitting import maximize_loglik
    from bundleopt.choice.likelihood import make_data
    from bundleopt.choice.precision import float64
    from bundleopt.choice.simulate import simulate_mnl_arrays

    X, y, avail, _ = simulate_mnl_arrays(8000, 5, 3, seed=6)
    with float64():  # the kernels, called directly, in the models' precision
        data = make_data(X, y, avail, np.eye(5)[:, 1:])
        plain = maximize_loglik(data, warm_start_obs=None)
        fast = maximize_loglik(data, warm_start_obs=400, block=250)
    assert fast.lbfgs_obs == 500 and fast.n_full_grad >= 1  # max(400, 8000 // 16) rows
    assert plain.converged and fast.converged
    np.testing.assert_allclose(fast.theta, plain.theta, rtol=1e-6, atol=1e-7)
    assert fast.loglik == pytest.approx(plain.loglik, abs=1e-6)
