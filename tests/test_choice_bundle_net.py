"""BundleNet: bundles never sold are scored from their components; into the optimizer."""

from __future__ import annotations

import jax
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from bundleopt.choice.bundle_net import BundleNet, customer_tastes
from bundleopt.choice.neural import init_params
from bundleopt.choice.precision import float64
from bundleopt.datasets.bundle_market import NO_PURCHASE, simulate_bundle_market


def make(truth, **kw) -> BundleNet:
    return BundleNet(components=truth.components, product_features=truth.products[["category"]],
                     customer_features=["income"], no_purchase=NO_PURCHASE, hidden=(8,), max_epochs=400,
                     patience=30, seed=0, **kw)


@pytest.fixture(scope="module")
def market():
    df, truth = simulate_bundle_market(n_obs=2500, n_products=6, hidden=3, seed=1)
    return df, truth, make(truth).fit(df), make(truth, interaction=False).fit(df)


def test_never_sold_bundles_get_the_sign_and_size_of_their_complementarity(market) -> None:
    df, truth, net, additive = market
    hidden = list(truth.hidden)
    assert not df["alt"].isin(hidden).any()  # truly never sold (never even offered)
    assert {truth.interaction[b] > 0 for b in hidden} == {True, False}  # both kinds are hidden
    u = net.offer_utilities(hidden)
    assert np.isfinite(u).all()
    g = net.interaction_of(hidden)
    assert (np.sign(g) == np.sign(truth.interaction[hidden])).all()
    err_net = (g - truth.interaction[hidden]).abs().mean()
    err_add = (additive.interaction_of(hidden) - truth.interaction[hidden]).abs().mean()
    assert (additive.interaction_of(hidden) == 0).all()
    assert err_net < 0.5 * err_add


def test_it_predicts_choices_among_unseen_bundles_better_than_the_additive_baseline(market) -> None:
    _, truth, net, additive = market
    fresh, _ = simulate_bundle_market(n_obs=1500, n_products=6, hidden=(), seed=7)  # every bundle offered
    fresh = fresh[fresh["obs"].isin(fresh.loc[fresh["alt"].isin(truth.hidden), "obs"])]
    chosen = fresh["chosen"] == 1

    def loglik(model):
        p = model.predict_proba(fresh)
        assert np.isfinite(p).all() and (p[fresh["alt"].isin(truth.hidden)] > 0).all()
        np.testing.assert_allclose(p.groupby(fresh["obs"]).sum(), 1.0, atol=1e-9)
        return float(np.log(p[chosen]).sum())

    assert loglik(net) > loglik(additive) + 5.0


def test_price_coefficient_is_negative_by_construction_and_probabilities_fall_with_price(market) -> None:
    df, truth, net, _ = market
    Z = np.random.default_rng(0).normal(size=(300, 1)) * 5
    for seed in range(4):
        with float64():  # the kernels, called directly, in the models' precision
            taste = init_params(jax.random.PRNGKey(seed), 1, [4], 2, 0)["layers"]
            taste[-1]["b"] = taste[-1]["b"] + 4.0 * (seed - 2)
            beta, _ = customer_tastes({"taste": taste}, Z)
        assert (np.asarray(beta) < 0).all()
    beta = net.as_segments(n_draws=200, seed=3).table["price"]
    assert (beta < 0).all() and beta.std() > 0.05  # heterogeneous, as the truth
    b = truth.hidden[0]
    one = pd.DataFrame({"obs": 0, "alt": [NO_PURCHASE, *truth.components[b], b], "price": [0, 1.5, 1.5, 2.5],
                        "income": 0.0})
    dearer = one.assign(price=np.where(one["alt"] == b, 3.5, one["price"]))
    assert net.predict_proba(dearer).iloc[-1] < net.predict_proba(one).iloc[-1]


def test_unseen_bundles_go_to_the_optimizer_with_their_components(market) -> None:
    from bundleopt.optimize import evaluate, solve
    from bundleopt.scenario import Scenario

    _, truth, net, _ = market
    offers = ["p1", "p2", "p3", "p4", *truth.hidden[:1]]
    if not set(truth.components[truth.hidden[0]]) <= set(offers):
        offers = [*dict.fromkeys([*offers, *truth.components[truth.hidden[0]]])]
    lists = np.array([truth.products.loc[list(truth.components[o]), "list_price"].sum() for o in offers])
    prices = lists[:, None] * np.array([0.8, 1.0, 1.2])[None, :]
    costs = np.array([truth.products.loc[list(truth.components[o]), "cost"].sum() for o in offers])
    sc = Scenario.from_models(net, offers, prices, costs)
    assert sc.n_segments == 16 and sc.components[-1] == tuple(truth.components[offers[-1]])
    assert np.isfinite(sc.v).all() and (sc.v > 0).all()
    sol = solve(sc, threads=1)
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(evaluate(sc, sol.decision).profit, rel=1e-6)


def test_sklearn_conventions_and_one_line_errors(market) -> None:
    df, truth, net, _ = market
    c = clone(net)
    assert c.get_params()["interaction"] is True
    with pytest.raises(NotFittedError):
        c.offer_utilities()
    with pytest.raises(ValueError, match="not offers of the model"):
        net.predict_proba(df.assign(alt=df["alt"].replace({"p1+p2": "p1+p9"})))
    with pytest.raises(ValueError, match="not seen in fitting"):
        net.offer_utilities(["p9"])
    with pytest.raises(ValueError, match="no_purchase"):
        make(truth).set_params(no_purchase="nothing").fit(df)
    with pytest.raises(ValueError, match="product_features has no row"):
        make(truth).set_params(product_features=truth.products[["category"]].iloc[:2]).fit(df)
    with pytest.raises(ValueError, match="components"):
        make(truth).set_params(components={"p1+p2": "p1"}).fit(df)
    with pytest.raises(ValueError, match="lacks the customer feature"):
        net.as_segments(customers=pd.DataFrame({"age": [1.0]}))
    with pytest.raises(ValueError, match="n_draws must be a positive"):
        net.as_segments(n_draws=0)
    seg = net.as_segments(n_draws=3, customers=pd.DataFrame({"income": [-2.0, 2.0]}))
    assert len(seg.table) == 3 and (seg.table["price"] < 0).all()
