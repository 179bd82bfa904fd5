"""Estimation honesty (issue 13 item 13): separation and unidentified parameters are named,
identifiable parameters keep their standard errors; too many latent classes are refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bundleopt.choice import MNL, LatentClassMNL, simulate_mnl
from bundleopt.choice.identification import IdentificationWarning


def _separated(n: int = 40, seed: int = 0) -> pd.DataFrame:
    """Every observation chooses the alternative with the largest x: perfectly separated."""
    rng = np.random.default_rng(seed)
    rows = []
    for obs in range(n):
        x = rng.normal(size=3)
        for j in range(3):
            rows.append((obs, j, int(j == int(np.argmax(x))), x[j], obs // 4))
    return pd.DataFrame(rows, columns=["obs", "alt", "chosen", "x", "cust"])


def test_mnl_separation_is_named_and_not_converged():
    with pytest.warns(IdentificationWarning, match=r"separation.*\bx\b"):
        m = MNL(features=["x"]).fit(_separated())
    assert not m.converged_
    assert "x" in m.separated_
    assert np.isnan(m.std_errors_["x"])


def test_latent_class_separation_is_not_converged():
    with pytest.warns(IdentificationWarning, match="separation"):
        m = LatentClassMNL(n_classes=2, features=["x"], n_starts=2).fit(_separated(), customer="cust")
    assert not m.converged_ and m.separated_


@pytest.mark.parametrize("kind", ["zero", "constant_within_obs"])
def test_unidentified_feature_keeps_other_standard_errors(kind):
    df, _ = simulate_mnl(n_obs=600, n_alts=3, n_features=2, seed=0)
    df["z"] = 0.0 if kind == "zero" else df["obs"] * 0.1  # same value for every alternative
    ref = MNL(features=["x0", "x1"]).fit(df)
    with pytest.warns(IdentificationWarning, match=r"do not identify z"):
        m = MNL(features=["x0", "x1", "z"]).fit(df)
    assert m.unidentified_ == ["z"] and m.separated_ == []
    assert m.converged_
    assert np.isnan(m.std_errors_["z"]) and abs(m.params_["z"]) < 1e-8
    # the identifiable ones are the fit without z: same estimates and standard errors
    np.testing.assert_allclose(m.params_[ref.params_.index], ref.params_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(m.std_errors_[ref.params_.index], ref.std_errors_, rtol=1e-8)


def test_collinear_feature_names_both_and_keeps_the_rest():
    df, _ = simulate_mnl(n_obs=600, n_alts=3, n_features=2, seed=1)
    df["d1"] = (df["alt"] == 1).astype(float)  # duplicates ASC_1
    with pytest.warns(IdentificationWarning, match="do not identify"):
        m = MNL(features=["x0", "x1", "d1"]).fit(df)
    assert set(m.unidentified_) == {"ASC_1", "d1"}
    assert np.isfinite(m.std_errors_[["ASC_2", "x0", "x1"]]).all()
    assert m.std_errors_[["ASC_1", "d1"]].isna().all()


def test_regular_fit_warns_nothing():
    import warnings

    df, _ = simulate_mnl(n_obs=800, n_alts=3, n_features=2, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", IdentificationWarning)
        m = MNL(features=["x0", "x1"]).fit(df)
    assert m.converged_ and m.separated_ == [] and m.unidentified_ == []


def test_latent_class_unidentified_feature_keeps_other_standard_errors():
    df, _ = simulate_mnl(n_obs=400, n_alts=3, n_features=2, seed=1)
    df["z"] = 0.0
    df["cust"] = df["obs"] // 4
    with pytest.warns(IdentificationWarning, match="do not identify z"):
        m = LatentClassMNL(n_classes=2, features=["x0", "x1", "z"], n_starts=2).fit(df, customer="cust")
    assert m.std_errors_.loc["z"].isna().all()
    assert np.isfinite(m.std_errors_.drop(index="z").to_numpy()).all()


@pytest.mark.parametrize("n_classes, customer, pattern", [
    (500, None, "exceeds the 20 customers"),
    (8, "cust", "exceeds the 5 customers"),
])
def test_too_many_classes_is_one_line_error(n_classes, customer, pattern):
    df = _separated(20)
    with pytest.raises(ValueError, match=pattern) as err:
        LatentClassMNL(n_classes=n_classes, features=["x"]).fit(df, customer=customer)
    assert "\n" not in str(err.value)


def test_more_parameters_than_choice_probabilities_is_refused():
    df = _separated(6)
    df["cust"] = df["obs"]
    with pytest.raises(ValueError, match="parameters but the data pin down at most 12"):
        LatentClassMNL(n_classes=5, features=["x"]).fit(df, customer="cust")


@pytest.mark.parametrize("lower", [False, True])
def test_covariance_inverse_by_cholesky_mirrors_every_block(lower, monkeypatch):
    """``_pd_inverse`` (the covariance of models with thousands of parameters: Cholesky and
    ``potri``, one triangle mirrored block by block) is the inverse, symmetric, whichever
    triangle LAPACK filled and wherever the blocks end; an indefinite matrix goes through
    LU, a singular one gives None."""
    import scipy.linalg

    from bundleopt.choice import identification

    cho = scipy.linalg.cho_factor
    monkeypatch.setattr(identification.scipy.linalg, "cho_factor",
                        lambda M, check_finite=False, overwrite_a=False: cho(M, lower=lower, overwrite_a=overwrite_a))
    a = np.random.default_rng(1).normal(size=(150, 150))
    M = a @ a.T + 150 * np.eye(150)
    inv = identification._pd_inverse(M, block=64)  # blocks of 64, 64, 22
    np.testing.assert_allclose(inv, np.linalg.inv(M), rtol=1e-10, atol=1e-15)
    assert np.array_equal(inv, inv.T)
    np.testing.assert_allclose(identification._pd_inverse(np.diag([2.0, -1.0])), np.diag([0.5, -1.0]))
    assert identification._pd_inverse(np.zeros((2, 2))) is None
    spent = np.diag([2.0, -1.0])
    assert identification._pd_inverse(spent, overwrite=True) is None  # in place: the caller goes to LU
    np.testing.assert_allclose(identification.subspace_covariance(-np.diag([2.0, -1.0])), np.diag([0.5, -1.0]))
