"""preference_weights: shapes, values by hand, agreement with predict_proba."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bundleopt.choice import (
    MNL,
    LatentClassMNL,
    preference_weights,
    segment_weights,
    simulate_latent_class,
)
from bundleopt.choice.simulate import simulate_mnl


@pytest.fixture(scope="module")
def model():
    """Alternatives 0 (no purchase, reference), 1, 2; features price (generic), quality (alt 2 only)."""
    df, _ = simulate_mnl(n_obs=1500, n_alts=3, n_features=2, params=[0.3, -0.2, -1.2, 0.8], seed=9)
    df = df.rename(columns={"x0": "price", "x1": "quality"})
    return MNL(features=["price"], features_by_alt={2: ["quality"]}).fit(df), df


def test_values_by_hand(model):
    m, _ = model
    b = m.params_
    prices = np.array([[1.0, 2.0, np.nan], [0.5, 1.5, 2.5]])
    v, v0 = preference_weights(m, [1, 2], prices, features={"quality": np.array([0.0, 2.0])})
    assert v.shape == (1, 2, 3) and v0.shape == (1,)
    assert v0[0] == 1.0  # alternative 0 is the reference and the default no-purchase option
    assert v[0, 0, 0] == pytest.approx(np.exp(b["ASC_1"] + b["price"] * 1.0))
    assert v[0, 0, 1] == pytest.approx(np.exp(b["ASC_1"] + b["price"] * 2.0))
    assert v[0, 0, 2] == 0.0  # missing level
    assert v[0, 1, 2] == pytest.approx(np.exp(b["ASC_2"] + b["price"] * 2.5 + b["quality_2"] * 2.0))
    # the method is the same function
    v2, _ = m.preference_weights([1, 2], prices, features={"quality": np.array([0.0, 2.0])})
    np.testing.assert_array_equal(v, v2)
    np.testing.assert_array_equal(segment_weights(m), [1.0])


def test_other_no_purchase_alternative_is_consistent(model):
    """With alt 1 as no-purchase, v0 = exp(ASC_1) and the choice probabilities are unchanged."""
    m, _ = model
    prices = np.array([[1.0, 2.0]])
    v, v0 = preference_weights(m, [2], prices, features={"quality": np.array([1.0])}, no_purchase=1)
    assert v0[0] == pytest.approx(np.exp(m.params_["ASC_1"]))
    # offer 2 at level 0 against no purchase (alt 1): P = v / (v0 + v)
    frame = pd.DataFrame({"obs": [0, 0], "alt": [1, 2], "price": [0.0, 1.0], "quality": [0.0, 1.0]})
    # alt 1's price enters its utility: keep it 0 so alt 1 is just its constant
    p = m.predict_proba(frame)
    assert p.iloc[1] == pytest.approx(v[0, 0, 0] / (v0[0] + v[0, 0, 0]))


def test_matches_predict_proba_on_an_offer_set(model):
    m, _ = model
    prices = np.array([[1.3], [0.7]])
    quality = np.array([0.0, -0.5])
    v, v0 = preference_weights(m, [1, 2], prices, features={"quality": quality})
    frame = pd.DataFrame(
        {"obs": 0, "alt": [0, 1, 2], "price": [0.0, 1.3, 0.7], "quality": [0.0, 0.0, -0.5]}
    )
    p = m.predict_proba(frame).to_numpy()
    expected = np.r_[v0[0], v[0, :, 0]] / (v0[0] + v[0, :, 0].sum())
    np.testing.assert_allclose(p, expected, rtol=1e-12)


def test_errors(model):
    m, _ = model
    prices = np.ones((2, 2))
    with pytest.raises(ValueError, match=r"offers \[7\]"):
        preference_weights(m, [1, 7], prices, features={"quality": np.zeros(2)})
    with pytest.raises(ValueError, match="price_feature='cost'"):
        preference_weights(m, [1, 2], prices, price_feature="cost", features={"quality": np.zeros(2)})
    with pytest.raises(ValueError, match=r"feature\(s\) \['quality'\]"):
        preference_weights(m, [1, 2], prices)
    with pytest.raises(ValueError, match="shape"):
        preference_weights(m, [1, 2], np.ones((3, 2)), features={"quality": np.zeros(2)})
    with pytest.raises(ValueError, match="no_purchase=5"):
        preference_weights(m, [1, 2], prices, features={"quality": np.zeros(2)}, no_purchase=5)
    with pytest.raises(ValueError, match="fitted MNL"):
        preference_weights(object(), [1], prices)


def test_latent_class_weights_per_segment():
    df, _ = simulate_latent_class(n_customers=200, obs_per_customer=5, n_alts=3, seed=1)
    df = df.rename(columns={"x0": "price"})
    lc = LatentClassMNL(n_classes=2, features=["price", "x1"], n_starts=1).fit(df, customer="customer")
    prices = np.array([[1.0, 2.0], [1.5, np.nan]])
    v, v0 = lc.preference_weights([1, 2], prices, features={"x1": np.array([0.5, -0.5])})
    assert v.shape == (2, 2, 2) and v0.shape == (2,)
    np.testing.assert_array_equal(v0, [1.0, 1.0])
    for s in range(2):
        b = lc.class_params_[s]
        assert v[s, 1, 0] == pytest.approx(np.exp(b["ASC_2"] + 1.5 * b["price"] - 0.5 * b["x1"]))
    assert v[:, 1, 1].tolist() == [0.0, 0.0]
    np.testing.assert_allclose(segment_weights(lc), lc.shares_)
    np.testing.assert_allclose(lc.segment_weights(), lc.shares_)
