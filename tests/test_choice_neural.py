"""TasteNet: neural taste coefficients, price coefficient negative by construction."""

from __future__ import annotations

import jax
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from bundleopt.choice.neural import TasteNet, init_params, tastes
from bundleopt.choice.precision import float64


@pytest.fixture(autouse=True, scope="module")
def _float64():
    """Some tests call the JAX kernels directly: in float64, as the models' methods do."""
    with float64():
        yield


def simulate(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """3 alternatives, price and quality; the price coefficient depends non-linearly on income."""
    rng = np.random.default_rng(seed)
    income = rng.normal(size=n)
    b_price = -(0.5 + 1.5 / (1 + np.exp(-2 * income)))  # a logistic curve in income
    price = rng.uniform(0.5, 3.0, size=(n, 3))
    quality = rng.normal(size=(n, 3))
    V = b_price[:, None] * price + 0.8 * quality + np.array([0.0, 0.5, -0.3])
    P = np.exp(V) / np.exp(V).sum(axis=1, keepdims=True)
    y = (rng.random(n)[:, None] > np.cumsum(P, axis=1)).sum(axis=1)
    alts = np.tile(np.arange(3), n)
    df = pd.DataFrame({"obs": np.repeat(np.arange(n), 3), "alt": alts, "chosen": (alts == np.repeat(y, 3)).astype(int),
                       "price": price.ravel(), "quality": quality.ravel(), "income": np.repeat(income, 3)})
    return df, b_price


@pytest.fixture(scope="module")
def fitted() -> tuple[TasteNet, pd.DataFrame, np.ndarray]:
    df, b = simulate()
    m = TasteNet(features=["price", "quality"], customer_features=["income"], hidden=(8,), learning_rate=0.05,
                 max_epochs=600, patience=30, seed=0).fit(df)
    return m, df, b


def test_price_coefficient_is_negative_for_any_weights() -> None:
    Z = np.random.default_rng(1).normal(size=(500, 2)) * 5
    free = []
    for seed in range(5):
        params = init_params(jax.random.PRNGKey(seed), 2, [4, 4], 3, 2)
        params["layers"][-1]["b"] = params["layers"][-1]["b"] + 3.0 * (seed - 2)  # push either way
        beta = np.asarray(tastes(params, Z, price_index=1))
        assert (beta[:, 1] < 0).all()
        free.append(beta[:, 0])
    free = np.concatenate(free)
    assert (free > 0).any() and (free < 0).any()  # the unconstrained coefficients take both signs


def test_trains_on_simulated_data_and_recovers_the_taste_pattern(fitted) -> None:
    m, df, b = fitted
    assert m.val_loss_[m.best_epoch_] < m.val_loss_[0] - 0.05  # it learned
    assert m.best_epoch_ < len(m.val_loss_)
    beta = m.taste_coefficients(df)
    assert (beta["price"] < 0).all()
    assert np.corrcoef(beta["price"].to_numpy(), b)[0, 1] > 0.8
    assert beta["quality"].mean() == pytest.approx(0.8, abs=0.25)


def test_probability_falls_when_own_price_rises(fitted) -> None:
    m, df, _ = fitted
    p = m.predict_proba(df)
    np.testing.assert_allclose(p.groupby(df["obs"]).sum(), 1.0, atol=1e-12)
    dearer = df.assign(price=np.where(df["alt"] == 2, df["price"] + 0.5, df["price"]))
    q = m.predict_proba(dearer)
    assert (q[df["alt"] == 2] < p[df["alt"] == 2]).all()


def test_same_seed_same_model_and_sklearn_conventions() -> None:
    df, _ = simulate(n=400, seed=3)
    kw = dict(features=["price", "quality"], customer_features=["income"], hidden=(4,), max_epochs=50, seed=7)
    a, b = TasteNet(**kw).fit(df), TasteNet(**kw).fit(df)
    np.testing.assert_array_equal(a.val_loss_, b.val_loss_)
    c = clone(a)
    assert c.get_params() == a.get_params()
    with pytest.raises(NotFittedError):
        c.predict_proba(df)
    with pytest.raises(ValueError, match="price="):
        TasteNet(features=["quality"], customer_features=["income"]).fit(df)
    bad = df.copy()
    bad.loc[0, "income"] = 99.0
    with pytest.raises(ValueError, match="constant within each observation"):
        TasteNet(**kw).fit(bad)


# ---------------------------------------------------------------------------- into the optimizer
def simulate_shop(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    """No purchase (0, price 0) and 3 products; the price coefficient is a logistic curve in income."""
    rng = np.random.default_rng(seed)
    income = rng.normal(size=n)
    b_price = -(0.4 + 2.0 / (1 + np.exp(-2 * income)))
    price = np.concatenate([np.zeros((n, 1)), rng.uniform(0.5, 3.0, size=(n, 3))], axis=1)
    V = b_price[:, None] * price + np.array([0.0, 1.5, 1.0, 2.0])
    y = (V + rng.gumbel(size=V.shape)).argmax(axis=1)
    alts = np.tile(np.arange(4), n)
    return pd.DataFrame({"obs": np.repeat(np.arange(n), 4), "alt": alts, "chosen": (alts == np.repeat(y, 4)).astype(int),
                         "price": price.ravel(), "income": np.repeat(income, 4)})


@pytest.fixture(scope="module")
def shop_fit() -> TasteNet:
    return TasteNet(features=["price"], customer_features=["income"], reference=0, hidden=(8,), learning_rate=0.05,
                    max_epochs=400, patience=30, seed=0).fit(simulate_shop())


PRICES = np.array([[1.0, 1.5, 2.0], [0.8, 1.2, 1.8], [1.5, 2.2, 3.0]])
COSTS = np.array([0.6, 0.5, 0.9])


def test_sampled_customers_are_mnl_segments_of_the_network(shop_fit: TasteNet) -> None:
    from bundleopt.choice.draw_segments import DEFAULT_SEGMENT_DRAWS
    from bundleopt.scenario import Scenario

    seg = shop_fit.as_segments(n_draws=8, seed=2)
    assert (seg.table["price"] < 0).all() and seg.table["price"].std() > 0.1
    # segment r is the network's MNL for its customer: same probabilities as predict_proba
    z = shop_fit.customers_[np.random.default_rng(2).integers(0, len(shop_fit.customers_), 8)][:, 0]
    frame = pd.DataFrame({"obs": np.repeat(np.arange(8), 4), "alt": np.tile(np.arange(4), 8),
                          "price": np.tile([0.0, *PRICES[:, 1]], 8), "income": np.repeat(z, 4)})
    p = shop_fit.predict_proba(frame).to_numpy().reshape(8, 4)
    sc = Scenario.from_models(seg, [1, 2, 3], PRICES, COSTS)
    v = sc.v[:, :, 1]
    np.testing.assert_allclose(v / (sc.v0[:, None] + v.sum(axis=1, keepdims=True)), p[:, 1:], rtol=1e-9)
    assert Scenario.from_models(shop_fit, [1, 2, 3], PRICES, COSTS).n_segments == DEFAULT_SEGMENT_DRAWS


def test_neural_plan_gap_out_of_sample_shrinks_with_more_customers(shop_fit: TasteNet) -> None:
    from bundleopt.optimize.brute_force import brute_force
    from bundleopt.sampling_gap import sample_average_gap

    table = sample_average_gap(shop_fit, [1, 2, 3], PRICES, COSTS, n_draws=(2, 256), seeds=range(16),
                               n_eval_draws=2048, optimizer=lambda sc: (brute_force(sc)[0], "optimal"))
    by = table.groupby("n_draws")["gap"]
    assert by.mean().loc[2] > 0 and by.mean().loc[2] > by.mean().loc[256]
    assert by.apply(lambda g: g.abs().mean()).is_monotonic_decreasing
    assert abs(by.mean().loc[256]) < 0.03 * table.groupby("n_draws")["out_of_sample"].mean().loc[256]
