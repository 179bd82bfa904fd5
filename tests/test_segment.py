"""Customer features and segmentation: planted segments recovered, reproducible, MI importance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score

from bundleopt.datasets import make_market
from bundleopt.segment import CustomerSegmenter, customer_features


@pytest.fixture(scope="module")
def market():
    return make_market(seed=0)


@pytest.fixture(scope="module")
def features(market):
    return customer_features(market.transactions, market.catalog)


@pytest.fixture(scope="module")
def truth(market, features):
    return market.customers.set_index("customer_id")["segment"].reindex(features.index)


def test_features_by_hand():
    cat = pd.DataFrame(
        {
            "product_id": ["a", "b"],
            "unit_cost": [1.0, 1.0],
            "list_price": [10.0, 4.0],
            "category": ["x", "y"],
        }
    )
    tx = pd.DataFrame(
        {
            "order_id": ["o1", "o1", "o2", "o3"],
            "customer_id": ["u", "u", "u", "v"],
            "timestamp": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-03", "2024-01-05"]),
            "product_id": ["a", "b", "a", "b"],
            "quantity": [1.0, 2.0, 1.0, 1.0],
            "unit_price": [10.0, 4.0, 8.0, 4.0],
        }
    )
    f = customer_features(tx, cat)
    u = f.loc["u"]
    assert u["recency_days"] == 2.0 and u["frequency"] == 2 and u["monetary"] == 26.0
    assert u["mean_order_value"] == 13.0 and u["n_products"] == 2
    assert u["share_discounted"] == pytest.approx(1 / 4)  # one unit of a at 8 < 10
    assert u["paid_to_list"] == pytest.approx((1 + 2 + 0.8) / 4)
    assert u["cat_x"] == pytest.approx(18 / 26) and u["cat_y"] == pytest.approx(8 / 26)
    assert f.loc["v", "recency_days"] == 0.0 and f.loc["v", "cat_y"] == 1.0


def test_top_categories_pool_the_rest(market):
    f = customer_features(market.transactions, market.catalog, top_categories=2)
    cats = [c for c in f.columns if c.startswith("cat_")]
    assert len(cats) == 3 and cats[-1] == "cat_other"
    np.testing.assert_allclose(f[cats].sum(axis=1), 1.0)


def test_kmeans_recovers_planted_segments(features, truth):
    seg = CustomerSegmenter(random_state=0).fit(features)
    assert seg.n_segments_ == 3  # chosen by silhouette
    assert seg.scores_.idxmax() == 3 and list(seg.scores_.index) == list(range(2, 9))
    assert adjusted_rand_score(truth, seg.labels_) > 0.9
    # category shares (the planted difference) carry the most information
    assert seg.importance_.index[0].startswith("cat_")
    assert seg.importance_.is_monotonic_decreasing
    assert seg.weights_.sum() == pytest.approx(1.0)
    assert seg.weights_.is_monotonic_decreasing  # 0 = largest segment
    assert seg.profiles_.shape == (3, features.shape[1])


@pytest.mark.parametrize("seed", [1, 3, 5])
def test_kmeans_with_given_k_on_other_markets(seed):
    m = make_market(seed=seed)
    f = customer_features(m.transactions, m.catalog)
    t = m.customers.set_index("customer_id")["segment"].reindex(f.index)
    seg = CustomerSegmenter(n_segments=3, n_init=4).fit(f)
    assert adjusted_rand_score(t, seg.labels_) > 0.8


def test_reproducible_with_a_seed(features):
    a = CustomerSegmenter(random_state=7, k_range=(2, 4), n_init=3).fit(features)
    b = CustomerSegmenter(random_state=7, k_range=(2, 4), n_init=3).fit(features)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    pd.testing.assert_series_equal(a.scores_, b.scores_)
    pd.testing.assert_series_equal(a.importance_, b.importance_)
    np.testing.assert_array_equal(a.predict(features), a.labels_)
    c = clone(a).fit(features)  # scikit-learn contract: parameters only in __init__
    np.testing.assert_array_equal(c.labels_, a.labels_)
    assert c.get_params()["k_range"] == (2, 4)


def test_gmm_by_bic(features, truth):
    seg = CustomerSegmenter(method="gmm", k_range=(1, 4), n_init=2).fit(features)
    assert seg.scores_.name == "bic" and seg.n_segments_ == int(seg.scores_.idxmin())
    fixed = CustomerSegmenter(n_segments=3, method="gmm", n_init=2).fit(features)
    assert adjusted_rand_score(truth, fixed.labels_) > 0.5
    assert fixed.scores_.empty


def test_input_errors(features):
    bad = features.copy()
    bad.iloc[3, 1] = np.nan
    with pytest.raises(ValueError, match="frequency"):
        CustomerSegmenter(2).fit(bad)
    with pytest.raises(ValueError, match="not numeric"):
        CustomerSegmenter(2).fit(features.assign(name="x"))
    with pytest.raises(ValueError, match="method"):
        CustomerSegmenter(method="dbscan").fit(features)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not fitted"):
        CustomerSegmenter().predict(features)
    seg = CustomerSegmenter(2).fit(features)
    with pytest.raises(ValueError, match="missing column"):
        seg.predict(features.drop(columns="monetary"))


def test_minibatch_kmeans_above_threshold_recovers_the_segments(features, truth):
    """Above ``minibatch_above`` customers the fit uses MiniBatchKMeans (seeded), with the same
    planted segments recovered as full KMeans."""
    from sklearn.cluster import KMeans, MiniBatchKMeans

    full = CustomerSegmenter(n_segments=3, random_state=0).fit(features)
    mini = CustomerSegmenter(n_segments=3, random_state=0, minibatch_above=10, batch_size=256).fit(features)
    again = CustomerSegmenter(n_segments=3, random_state=0, minibatch_above=10, batch_size=256).fit(features)
    assert type(full.model_) is KMeans and type(mini.model_) is MiniBatchKMeans
    assert adjusted_rand_score(full.labels_, mini.labels_) > 0.9
    assert adjusted_rand_score(truth, mini.labels_) > 0.8
    np.testing.assert_array_equal(mini.labels_, again.labels_)
