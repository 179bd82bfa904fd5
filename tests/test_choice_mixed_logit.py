"""MixedLogit: simulated maximum likelihood with random coefficients (bundleopt.choice.mixed_logit)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from bundleopt.choice.draws import standard_draws, uniform_draws
from bundleopt.choice.long_format import pack_long
from bundleopt.choice.mixed_logit import MixedLogit
from bundleopt.choice.precision import float64
from bundleopt.choice.simulated_likelihood import (
    Layout,
    _block_loglik,
    group_panel,
    sim_loglik_and_grad,
)
from bundleopt.choice.spec import Specification


@pytest.fixture(autouse=True, scope="module")
def _float64():
    """These tests call the JAX kernels directly: in float64, as the models' methods do."""
    with float64():
        yield


def simulate_panel(n_cust: int, n_choices: int, mean: float = -1.0, sd: float = 1.0, beta_x1: float = 0.5,
                   asc: tuple[float, float] = (0.3, -0.2), seed: int = 0) -> pd.DataFrame:
    """Long-format panel: 3 alternatives, ``x0`` with a N(mean, sd) coefficient per customer,
    ``x1`` fixed ``beta_x1``, constants ``asc`` for alternatives 1, 2 (0 is the reference)."""
    rng = np.random.default_rng(seed)
    b0 = mean + sd * rng.standard_normal(n_cust)
    n = n_cust * n_choices
    x0 = rng.normal(size=(n, 3)) * 1.5
    x1 = rng.normal(size=(n, 3))
    cust = np.repeat(np.arange(n_cust), n_choices)
    V = b0[cust, None] * x0 + beta_x1 * x1 + np.array([0.0, *asc])[None, :]
    P = np.exp(V - V.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = (rng.random(n)[:, None] > np.cumsum(P, axis=1)).sum(axis=1)
    return pd.DataFrame({
        "obs": np.repeat(np.arange(n), 3), "alt": np.tile(np.arange(3), n),
        "chosen": (np.tile(np.arange(3), n) == np.repeat(y, 3)).astype(int),
        "x0": x0.ravel(), "x1": x1.ravel(), "customer": np.repeat(cust, 3),
    })


@pytest.fixture(scope="module")
def panel_df() -> pd.DataFrame:
    return simulate_panel(n_cust=400, n_choices=6, seed=1)


@pytest.fixture(scope="module")
def panel_fit(panel_df: pd.DataFrame) -> MixedLogit:
    return MixedLogit(features=["x0", "x1"], random={"x0": "normal"}, n_draws=100, robust=True).fit(
        panel_df, panel="customer")


def test_recovers_known_parameters_on_a_simulated_panel(panel_fit: MixedLogit) -> None:
    truth = pd.Series({"ASC_1": 0.3, "ASC_2": -0.2, "x0": -1.0, "x1": 0.5, "SD_x0": 1.0})
    est, se = panel_fit.params_[truth.index], panel_fit.std_errors_[truth.index]
    assert list(panel_fit.params_.index) == list(truth.index)
    assert (se > 0).all() and (se < 0.2).all()
    assert (np.abs(est - truth) < 4 * se).all(), pd.DataFrame({"est": est, "se": se, "truth": truth})
    assert panel_fit.converged_ and panel_fit.n_customers_ == 400 and panel_fit.n_obs_ == 2400
    assert panel_fit.loglik_ > panel_fit.mnl_loglik_ + 50  # heterogeneity the MNL misses
    ratio = panel_fit.robust_std_errors_ / panel_fit.std_errors_  # well specified: sandwich ~ inverse Hessian
    assert ((ratio > 0.7) & (ratio < 1.4)).all(), ratio


def test_panel_with_one_choice_per_customer_is_the_cross_section(panel_df: pd.DataFrame) -> None:
    df = panel_df[panel_df["obs"] < 600].copy()
    df["one"] = df["obs"] + 1000  # one customer per observation, same order
    kw = dict(features=["x0", "x1"], random={"x0": "normal"}, n_draws=50, sd_starts=(1.0,))
    cross = MixedLogit(**kw).fit(df)
    panel = MixedLogit(**kw).fit(df, panel="one")
    np.testing.assert_allclose(panel.params_, cross.params_, rtol=1e-6, atol=1e-8)
    assert panel.loglik_ == pytest.approx(cross.loglik_, rel=1e-10)
    grouped = MixedLogit(**kw).fit(df, panel="customer")  # 100 customers x 6 choices
    assert grouped.n_customers_ == 100 and cross.n_customers_ == 600
    assert grouped.loglik_ != pytest.approx(cross.loglik_, rel=1e-6)


@pytest.mark.parametrize("kinds", [("normal",), ("triangular", "neg_lognormal"), ("lognormal", "normal")])
def test_analytic_gradient_matches_autodiff(panel_df: pd.DataFrame, kinds: tuple[str, ...]) -> None:
    df = panel_df[panel_df["customer"] < 30].copy()
    df.loc[df.index % 7 == 0, "x1"] = 0.0
    spec = Specification.create(["x0", "x1"], True, None, None)
    alt_ids = pd.Index([0, 1, 2])
    arrays = pack_long(df.iloc[3:], obs="obs", alt="alt", columns=spec.design_columns(alt_ids), choice="chosen",
                       alt_ids=alt_ids)  # the first observation dropped: unequal panels
    cust = pd.factorize(df.iloc[3:].drop_duplicates("obs")["customer"])[0]
    layout = Layout(2, 2, tuple(range(len(kinds))), kinds)
    data, size, _ = group_panel(arrays, cust, lambda n: standard_draws(n, 7, kinds), spec.asc_matrix(alt_ids),
                                block_elements=300)
    theta = jnp.asarray([0.2, -0.1, -0.7, 0.4, 0.6, -0.3][: 4 + len(kinds)])

    def reference(th):
        return jnp.sum(data.weight * _block_loglik(th, data.X, data.y, data.avail, data.mask, data.Z, data.A, layout))

    ll_ref, g_ref = jax.value_and_grad(reference)(theta)
    ll, g = sim_loglik_and_grad(theta, data, layout, size)
    assert size < data.X.shape[0]  # several blocks
    assert float(ll) == pytest.approx(float(ll_ref), rel=1e-12)
    np.testing.assert_allclose(np.asarray(g), np.asarray(g_ref), rtol=1e-9, atol=1e-9)


def test_predict_proba_is_the_average_mnl_over_the_coefficient_draws(panel_fit: MixedLogit,
                                                                      panel_df: pd.DataFrame) -> None:
    p = panel_fit.predict_proba(panel_df, n_draws=200, seed=5)
    assert p.index.equals(panel_df.index)
    np.testing.assert_allclose(p.groupby(panel_df["obs"]).sum(), 1.0, atol=1e-12)
    draws = panel_fit.coefficient_draws(n_draws=200, seed=5)  # (R, ASC_1, ASC_2, x0, x1)
    x0 = panel_df["x0"].to_numpy().reshape(-1, 3)
    x1 = panel_df["x1"].to_numpy().reshape(-1, 3)
    asc = np.stack([np.zeros(200), draws["ASC_1"], draws["ASC_2"]], axis=1)  # (R, 3)
    V = x0[:, :, None] * draws["x0"].to_numpy() + x1[:, :, None] * draws["x1"].to_numpy() + asc.T[None]
    P = np.exp(V) / np.exp(V).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(p.to_numpy(), P.mean(axis=2).ravel(), rtol=1e-10)
    assert draws["x0"].std() == pytest.approx(panel_fit.params_["SD_x0"], rel=0.05)


def test_clone_and_not_fitted() -> None:
    m = MixedLogit(features=["x0"], random={"x0": "lognormal"}, n_draws=10, draws="sobol")
    c = clone(m)
    assert c.get_params() == m.get_params() and c is not m
    with pytest.raises(NotFittedError, match="not fitted"):
        c.predict_proba(pd.DataFrame({"obs": [0, 0], "alt": [0, 1], "x0": [1.0, 2.0]}))
    with pytest.raises(ValueError):  # NotFittedError is a ValueError too
        c.coefficient_draws()


def test_neg_lognormal_keeps_the_sign(panel_df: pd.DataFrame) -> None:
    df = panel_df[panel_df["customer"] < 150]
    m = MixedLogit(features=["x0", "x1"], random={"x0": "neg_lognormal"}, n_draws=50).fit(df, panel="customer")
    draws = m.coefficient_draws(n_draws=500, seed=3)
    assert (draws["x0"] < 0).all() and draws["x1"].nunique() == 1
    assert np.median(draws["x0"]) == pytest.approx(-np.exp(m.params_["x0"]), rel=0.05)


def test_bad_input_gives_one_line_errors(panel_df: pd.DataFrame) -> None:
    df = panel_df[panel_df["customer"] < 5]
    with pytest.raises(ValueError, match="random names coefficient"):
        MixedLogit(features=["x0"], random={"x9": "normal"}).fit(df)
    with pytest.raises(ValueError, match="unknown distribution"):
        MixedLogit(features=["x0"], random={"x0": "cauchy"}).fit(df)
    with pytest.raises(ValueError, match="at least one random"):
        MixedLogit(features=["x0"]).fit(df)
    with pytest.raises(ValueError, match="unknown column"):
        MixedLogit(features=["x0"], random={"x0": "normal"}).fit(df, panel="nope")
    bad = df.copy()
    bad.loc[bad.index[1], "customer"] = 99
    with pytest.raises(ValueError, match="constant within each observation"):
        MixedLogit(features=["x0"], random={"x0": "normal"}, n_draws=5).fit(bad, panel="customer")
    with pytest.raises(ValueError, match="draws must be one of"):
        MixedLogit(features=["x0"], random={"x0": "normal"}, draws="random").fit(df)


def test_draws_are_inside_the_cube_and_distinct_across_units() -> None:
    for method in ("halton", "sobol"):
        u = uniform_draws(50, 40, 2, method=method, seed=0)
        assert u.shape == (50, 40, 2) and (u > 0).all() and (u < 1).all()
        assert not np.allclose(u[0], u[1])
        np.testing.assert_array_equal(u, uniform_draws(50, 40, 2, method=method, seed=0))
    z = standard_draws(20, 100, ["normal", "triangular"], seed=2)
    assert abs(z[..., 0].mean()) < 0.01 and abs(z[..., 0].std() - 1) < 0.02
    assert z[..., 1].min() >= -1 and z[..., 1].max() <= 1 and abs(z[..., 1].std() - 6**-0.5) < 0.01


# ---------------------------------------------------------------------------- into the optimizer
def simulate_market(n_cust: int = 300, n_choices: int = 4, seed: int = 0) -> pd.DataFrame:
    """No purchase (0) and 3 products at random prices; price coefficient -exp(N(0.3, 0.8))."""
    rng = np.random.default_rng(seed)
    b = -np.exp(0.3 + 0.8 * rng.standard_normal(n_cust))
    n = n_cust * n_choices
    price = np.concatenate([np.zeros((n, 1)), rng.uniform(0.5, 3.0, size=(n, 3))], axis=1)
    cust = np.repeat(np.arange(n_cust), n_choices)
    V = b[cust, None] * price + np.array([0.0, 1.5, 1.0, 2.0])[None, :]
    P = np.exp(V) / np.exp(V).sum(axis=1, keepdims=True)
    y = (rng.random(n)[:, None] > np.cumsum(P, axis=1)).sum(axis=1)
    alts = np.tile(np.arange(4), n)
    return pd.DataFrame({"obs": np.repeat(np.arange(n), 4), "alt": alts, "chosen": (alts == np.repeat(y, 4)).astype(int),
                         "price": price.ravel(), "customer": np.repeat(cust, 4)})


@pytest.fixture(scope="module")
def market_fit() -> MixedLogit:
    df = simulate_market()
    return MixedLogit(features=["price"], random={"price": "neg_lognormal"}, reference=0, n_draws=50).fit(
        df, panel="customer")


PRICES = np.array([[1.0, 1.5, 2.0], [0.8, 1.2, 1.8], [1.5, 2.2, 3.0]])
COSTS = np.array([0.6, 0.5, 0.9])


def test_from_models_turns_draws_into_equal_segments(market_fit: MixedLogit) -> None:
    from bundleopt.choice import DrawSegments, mixed_logit_weights, preference_weights
    from bundleopt.choice.draw_segments import DEFAULT_SEGMENT_DRAWS
    from bundleopt.scenario import Scenario

    assert market_fit.params_["SD_price"] > 0.3
    sc = Scenario.from_models(market_fit, [1, 2, 3], PRICES, COSTS)
    assert sc.n_segments == DEFAULT_SEGMENT_DRAWS
    np.testing.assert_allclose(sc.weights, 1.0 / DEFAULT_SEGMENT_DRAWS)
    v, v0, w = mixed_logit_weights(market_fit, [1, 2, 3], PRICES, n_draws=DEFAULT_SEGMENT_DRAWS)
    np.testing.assert_allclose(sc.v, v)
    np.testing.assert_allclose(sc.v0, v0)
    # each segment is the MNL of one coefficient draw: v = exp(ASC + beta_r * price)
    seg = DrawSegments.from_model(market_fit, n_draws=8, seed=4)
    v8, v0_8 = preference_weights(seg, [1, 2, 3], PRICES)
    b = seg.table["price"].to_numpy()
    asc = seg.table[["ASC_1", "ASC_2", "ASC_3"]].to_numpy()
    np.testing.assert_allclose(v8, np.exp(asc[:, :, None] + b[:, None, None] * PRICES[None]))
    np.testing.assert_allclose(v0_8, 1.0)
    assert (b < 0).all()


def test_solve_is_exact_for_the_sampled_model(market_fit: MixedLogit) -> None:
    from bundleopt.choice import DrawSegments
    from bundleopt.optimize import evaluate, solve
    from bundleopt.optimize.brute_force import brute_force
    from bundleopt.scenario import Scenario

    sc = Scenario.from_models(DrawSegments.from_model(market_fit, n_draws=8, seed=1), [1, 2, 3], PRICES, COSTS)
    sol = solve(sc, threads=1, mip_gap=1e-9)
    _, best = brute_force(sc)
    assert sol.status == "optimal"
    assert evaluate(sc, sol.decision).profit == pytest.approx(best.profit, rel=1e-7)


def test_plan_is_scored_out_of_sample_and_the_gap_shrinks_with_more_draws(market_fit: MixedLogit) -> None:
    from bundleopt.optimize.brute_force import brute_force
    from bundleopt.sampling_gap import sample_average_gap

    def enumerate_all(sc):  # exact, and fast on 3 offers x 3 levels whatever the number of draws
        return brute_force(sc)[0], "optimal"

    table = sample_average_gap(market_fit, [1, 2, 3], PRICES, COSTS, n_draws=(2, 512), seeds=range(24),
                               n_eval_draws=4096, optimizer=enumerate_all)
    assert len(table) == 48 and list(table.columns[:5]) == ["n_draws", "seed", "in_sample", "out_of_sample", "gap"]
    by = table.groupby("n_draws")[["in_sample", "out_of_sample", "gap"]].mean()
    # sample-average optimism: the optimum on few draws over-promises on average
    assert by.loc[2, "gap"] > 0 and by.loc[2, "gap"] > by.loc[512, "gap"]
    assert table.groupby("n_draws")["gap"].apply(lambda g: g.abs().mean()).is_monotonic_decreasing
    assert abs(by.loc[512, "gap"]) < 0.02 * by.loc[512, "out_of_sample"]
    assert by.loc[512, "out_of_sample"] >= by.loc[2, "out_of_sample"] - 1e-9  # more draws, a better plan
