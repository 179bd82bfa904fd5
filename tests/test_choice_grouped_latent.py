"""Latent-class MNL on menu-grouped panel data equals the row-by-row fit (issue 15)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bundleopt.choice import LatentClassMNL
from bundleopt.choice.grouped_latent import fit_latent_menus, panel_menus_from_long


def _menu_market(n_customers: int = 60, per_customer: int = 12, seed: int = 3) -> pd.DataFrame:
    """Two latent classes, three alternatives (one with price 0: the outside option), prices
    from four menus, so a customer meets the same menu and choice several times."""
    rng = np.random.default_rng(seed)
    menus = np.array([[0.0, 1.0, 2.0], [0.0, 1.5, 2.0], [0.0, 1.0, 3.0], [0.0, 2.0, 1.0]])
    asc = np.array([0.0, 1.0, 2.0])
    beta = np.array([-0.4, -2.0])
    rows = []
    for i in range(n_customers):
        c = int(rng.random() < 0.4)
        z = float(rng.standard_normal())
        for t in range(per_customer):
            p = menus[rng.integers(len(menus))]
            u = asc + beta[c] * p + rng.gumbel(size=3)
            y = int(np.argmax(u))
            rows += [{"customer": f"c{i}", "obs": f"{i}-{t}", "alt": a, "chosen": int(a == y), "price": p[a],
                      "z": z} for a in range(3)]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def market() -> pd.DataFrame:
    return _menu_market()


def test_grouping_keeps_every_occasion_and_merges_repeats(market):
    panel = panel_menus_from_long(market, obs="obs", alt="alt", choice="chosen", customer="customer",
                                  features=["price"])
    mc = panel.menus
    assert mc.count.sum() == market["obs"].nunique()
    assert len(mc.menu) < market["obs"].nunique()  # repeats were merged
    assert mc.X.shape[0] == 4 and panel.n_customers == market["customer"].nunique()
    # per customer, the records' counts are the customer's occasions
    per_cust = pd.Series(mc.count).groupby(panel.customer_ids[panel.customer]).sum()
    assert (per_cust == market.groupby("customer")["obs"].nunique().reindex(per_cust.index)).all()


@pytest.mark.parametrize("membership", [None, pytest.param(["z"], marks=pytest.mark.slow)])
def test_grouped_latent_class_equals_row_by_row_fit(market, membership):
    kw = {"n_classes": 2, "features": ["price"], "reference": 0, "n_starts": 2, "random_state": 0,
          "membership": membership}
    long = LatentClassMNL(**kw).fit(market, obs="obs", alt="alt", choice="chosen", customer="customer")
    panel = panel_menus_from_long(market, obs="obs", alt="alt", choice="chosen", customer="customer",
                                  features=["price"], membership=membership)
    grouped = fit_latent_menus(LatentClassMNL(**kw), panel)
    np.testing.assert_allclose(grouped.class_params_.to_numpy(), long.class_params_.to_numpy(), atol=1e-8)
    np.testing.assert_allclose(grouped.membership_params_.to_numpy(), long.membership_params_.to_numpy(),
                               atol=1e-8)
    np.testing.assert_allclose(grouped.std_errors_.to_numpy(), long.std_errors_.to_numpy(), rtol=1e-6)
    assert grouped.loglik_ == pytest.approx(long.loglik_, rel=1e-12)
    np.testing.assert_allclose(grouped.start_logliks_, long.start_logliks_, rtol=1e-9)
    np.testing.assert_allclose(grouped.posterior_.to_numpy(),
                               long.posterior_.reindex(grouped.posterior_.index).to_numpy(), atol=1e-8)
    np.testing.assert_allclose(grouped.shares_, long.shares_, atol=1e-8)
    assert grouped.n_obs_ == long.n_obs_ and grouped.n_customers_ == long.n_customers_
    assert grouped.converged_ == long.converged_
    # the fitted model predicts like the row-by-row one
    np.testing.assert_allclose(grouped.predict_proba(market).to_numpy(), long.predict_proba(market).to_numpy(),
                               atol=1e-8)


def test_grouped_latent_class_refuses_other_features(market):
    panel = panel_menus_from_long(market, obs="obs", alt="alt", choice="chosen", customer="customer",
                                  features=["price"])
    with pytest.raises(ValueError, match="generic only"):
        fit_latent_menus(LatentClassMNL(n_classes=2, features=["price", "z"]), panel)
    with pytest.raises(ValueError, match="membership"):
        fit_latent_menus(LatentClassMNL(n_classes=2, features=["price"], membership=["z"]), panel)
