"""Adaptive loop: the market sells with the true probabilities, the posterior recovers the
truth, the oracle is never beaten, and a short loop's regret falls."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bundleopt.adaptive import Market, ThompsonPolicy, benchmark_market, run_simulation
from bundleopt.adaptive.market import NO_PURCHASE
from bundleopt.adaptive.policy import aggregate_sales
from bundleopt.choice import MNL
from bundleopt.optimize import evaluate, solve
from bundleopt.scenario import NOT_OFFERED, Decision


@pytest.fixture(scope="module")
def market() -> Market:
    return benchmark_market(seed=0)


def _menu_decision(market: Market) -> Decision:
    """Different menus per segment, different levels."""
    lv = np.full((2, market.catalog.n_offers), NOT_OFFERED)
    lv[0, [0, 1, 4]] = [0, 2, 4]
    lv[1, [1, 3, 5]] = [3, 1, 0]
    return Decision(lv)


def test_sales_frame_is_long_format_of_the_menus(market):
    d = _menu_decision(market)
    sales = market.sell(d, 300, period=2, rng=1, first_obs=1000)
    assert list(sales.columns) == ["obs", "period", "segment", "alt", "chosen", "price", "cost"]
    assert sales["obs"].is_monotonic_increasing and sales["obs"].min() >= 1000
    assert sales["obs"].nunique() == 300 and (sales["period"] == 2).all()
    assert (sales.groupby("obs")["chosen"].sum() == 1).all()
    cat = market.catalog
    for seg, rows in sales.groupby("segment"):
        s = cat.segment_ids.index(seg)
        on = np.flatnonzero(d.levels[s] != NOT_OFFERED)
        expected = {NO_PURCHASE: 0.0} | {cat.offer_ids[o]: cat.prices[o, d.levels[s, o]] for o in on}
        for _, cust in rows.groupby("obs"):
            assert dict(zip(cust["alt"], cust["price"], strict=True)) == pytest.approx(expected)


def test_sell_draws_with_the_true_probabilities(market):
    """Pearson chi-square of counts per (segment, alternative) against the truth, and of the
    segment counts against the shares, below the 0.999 quantile (fixed seed)."""
    d = _menu_decision(market)
    n = 40_000
    sales = market.sell(d, n, rng=7)
    P = evaluate(market.scenario(0), d).probabilities
    chosen = sales[sales["chosen"] == 1]
    seg_counts = chosen["segment"].value_counts().reindex(market.catalog.segment_ids).to_numpy()
    chi_seg = ((seg_counts - n * market.shares) ** 2 / (n * market.shares)).sum()
    assert chi_seg < stats.chi2.ppf(0.999, df=1)
    chi, dof = 0.0, 0
    for s, seg in enumerate(market.catalog.segment_ids):
        on = np.flatnonzero(d.levels[s] != NOT_OFFERED)
        p = np.r_[1 - P[s, on].sum(), P[s, on]]
        alts = [NO_PURCHASE, *[market.catalog.offer_ids[o] for o in on]]
        obs = chosen.loc[chosen["segment"] == seg, "alt"].value_counts().reindex(alts, fill_value=0).to_numpy()
        exp = obs.sum() * p
        chi += ((obs - exp) ** 2 / exp).sum()
        dof += len(alts) - 1
    assert chi < stats.chi2.ppf(0.999, df=dof)
    # and the test has teeth: the same counts are far from a market with other tastes
    other = Market(market.catalog, market.tastes + 0.3, market.price_sensitivity, market.shares)
    P2 = evaluate(other.scenario(0), d).probabilities
    s = 1
    on = np.flatnonzero(d.levels[s] != NOT_OFFERED)
    alts = [NO_PURCHASE, *[market.catalog.offer_ids[o] for o in on]]
    obs = chosen.loc[chosen["segment"] == "s1", "alt"].value_counts().reindex(alts, fill_value=0).to_numpy()
    exp2 = obs.sum() * np.r_[1 - P2[s, on].sum(), P2[s, on]]
    assert ((obs - exp2) ** 2 / exp2).sum() > stats.chi2.ppf(0.999, df=len(alts) - 1)


def test_drift_is_a_seeded_random_walk():
    m = benchmark_market(seed=3, drift_sd=0.1)
    np.testing.assert_array_equal(m.tastes_at(0), m.tastes)
    np.testing.assert_array_equal(m.tastes_at(40), benchmark_market(seed=3, drift_sd=0.1).tastes_at(40))
    steps = np.diff(np.stack([m.tastes_at(t) for t in range(201)]), axis=0)
    # 200 x 12 i.i.d. N(0, 0.1^2) steps: the sample sd is within 5% of 0.1
    assert steps.std() == pytest.approx(0.1, rel=0.05)
    assert not np.allclose(m.scenario(0).v, m.scenario(10).v)
    np.testing.assert_array_equal(benchmark_market(seed=3).tastes_at(40), m.tastes)  # no drift: constant


def test_aggregate_sales_by_hand():
    sales = pd.DataFrame({
        "obs": [0, 0, 1, 1, 2, 2, 2],
        "segment": ["a", "a", "a", "a", "b", "b", "b"],
        "alt": [NO_PURCHASE, "x", NO_PURCHASE, "x", NO_PURCHASE, "x", "y"],
        "chosen": [1, 0, 0, 1, 0, 0, 1],
        "price": [0.0, 5.0, 0.0, 5.0, 0.0, 4.0, 9.0],
    })
    out = aggregate_sales(sales, ("x", "y"), "segment")
    menus, counts = out["a"]
    np.testing.assert_array_equal(menus, [[5.0, np.nan]])
    np.testing.assert_array_equal(counts, [[1, 1, 0]])
    menus, counts = out["b"]
    np.testing.assert_array_equal(menus, [[4.0, 9.0]])
    np.testing.assert_array_equal(counts, [[0, 0, 1]])
    pooled = aggregate_sales(sales, ("x", "y"), None)
    assert list(pooled) == ["all"] and pooled["all"][1].sum() == 3


def _random_plans(market: Market, n_periods: int, rng: np.random.Generator) -> list[Decision]:
    n_off, K = market.catalog.prices.shape
    return [Decision(rng.integers(-1, K, size=(2, n_off))) for _ in range(n_periods)]


def test_posterior_mean_is_the_mle_with_a_flat_prior_and_covers_the_truth(market):
    """With a very wide prior the MAP is the MNL MLE (fitted independently by
    bundleopt.choice.MNL on the long sales), and the truth is within 4 posterior sd."""
    rng = np.random.default_rng(5)
    policy = ThompsonPolicy(prior_sd=1e4, price_prior=(0.0, 1e4)).reset(market.catalog)
    frames = []
    for t, d in enumerate(_random_plans(market, 30, rng)):
        sales = market.sell(d, 800, period=t, rng=rng, first_obs=800 * t)
        policy.update(sales, t)
        frames.append(sales)
    sales = pd.concat(frames, ignore_index=True)
    cat = market.catalog
    R = dict(zip(cat.offer_ids, cat.prices[np.arange(cat.n_offers), cat.list_level], strict=True))
    post = policy.posterior()
    a_true = market.tastes - market.price_sensitivity[:, None] * np.array(list(R.values()))[None]
    for s, seg in enumerate(cat.segment_ids):
        df = sales[sales["segment"] == seg].copy()
        df["pc"] = np.where(df["alt"] == NO_PURCHASE, 0.0, df["price"] - df["alt"].map(R).fillna(0.0))
        mle = MNL(features=["pc"], reference=NO_PURCHASE).fit(df)
        p = post[post["group"] == seg].set_index("parameter")
        ours = p["mean"].to_numpy()
        theirs = np.r_[[mle.params_[f"ASC_{o}"] for o in cat.offer_ids], mle.params_["pc"]]
        np.testing.assert_allclose(ours, theirs, atol=1e-6)
        np.testing.assert_allclose(p["sd"].to_numpy()[-1], mle.std_errors_["pc"], rtol=1e-4)
        truth = np.r_[a_true[s], -market.price_sensitivity[s]]
        assert np.all(np.abs(ours - truth) < 4 * p["sd"].to_numpy())


def test_oracle_never_beaten_and_short_loop_improves(market):
    res = run_simulation(market, ThompsonPolicy(seed=1), n_periods=20, customers_per_period=400, seed=2)
    p = res.periods
    assert len(p) == 20 and len(res.decisions) == 20
    # oracle optimal under the truth (decomposed LP: exact): regret >= 0 in every period
    assert (p["regret"] >= -1e-9 * p["oracle_profit"]).all()
    np.testing.assert_allclose(p["cumulative_regret"], p["regret"].cumsum())
    # and oracle >= any feasible decision: check against a few random menus
    truth = market.scenario(0)
    for d in _random_plans(market, 20, np.random.default_rng(0)):
        ev = evaluate(truth, d)
        if ev.feasible:
            assert ev.profit <= p["oracle_profit"].iloc[0] / 400 + 1e-12
    # learning: the last periods lose less than the first ones and are near the oracle
    assert p["regret"].tail(5).mean() < 0.5 * p["regret"].head(5).mean()
    assert p["policy_profit"].tail(5).sum() >= 0.95 * p["oracle_profit"].tail(5).sum()
    # realised sales are close to the expected ones over 20 periods of 400 customers
    assert p["realised_revenue"].sum() == pytest.approx(p["policy_revenue"].sum(), rel=0.05)


def test_latent_segments_pooled_policy_and_drift(tmp_path):
    m = benchmark_market(seed=2, personalised=False, observed_segments=False, drift_sd=0.05)
    res = run_simulation(m, ThompsonPolicy(seed=0, forget=0.9, explore=0.5), n_periods=6,
                         customers_per_period=200, seed=0)
    assert all(d.levels.shape == (1, m.catalog.n_offers) for d in res.decisions)
    assert set(res.posterior["group"]) == {"all"}
    # drifting truth: the oracle is re-solved each period (its profit changes)
    assert res.periods["oracle_profit"].nunique() > 1
    # MILP oracle (two latent segments, one menu): within HiGHS' relative gap 1e-4
    assert (res.periods["regret"] >= -1e-4 * res.periods["oracle_profit"]).all()
    paths = res.save(tmp_path / "sim")
    assert all(path.exists() for path in paths.values())
    payload = json.loads(paths["summary"].read_text())
    assert payload["summary"]["periods"] == 6 and len(payload["periods"]["regret"]) == 6


def test_thompson_draws_differ_and_greedy_is_the_map(market):
    pol = ThompsonPolicy(seed=0).reset(market.catalog)
    a, b = pol.model_scenario(sample=True).v, pol.model_scenario(sample=True).v
    assert not np.allclose(a, b)
    mean = pol.model_scenario(sample=False)
    np.testing.assert_array_equal(mean.v, pol.model_scenario(sample=False).v)
    greedy = ThompsonPolicy(thompson=False).reset(market.catalog)
    np.testing.assert_array_equal(greedy.plan(0).levels, solve(mean, threads=1).decision.levels)


def test_user_errors(market):
    with pytest.raises(ValueError, match="shares"):
        Market(market.catalog, market.tastes, market.price_sensitivity, [0.5, 0.6])
    with pytest.raises(ValueError, match="price_sensitivity"):
        Market(market.catalog, market.tastes, [-1.0, 1.0], market.shares)
    with pytest.raises(ValueError, match="decision must have shape"):
        market.sell(Decision(np.zeros((3, 2), int)), 10)
    with pytest.raises(ValueError, match="n_customers"):
        market.sell(_menu_decision(market), 0)
    with pytest.raises(ValueError, match="n_periods"):
        run_simulation(market, ThompsonPolicy(), n_periods=0)
    with pytest.raises(ValueError, match="reset"):
        ThompsonPolicy().plan(0)
    with pytest.raises(ValueError, match="forget"):
        ThompsonPolicy(forget=0.0)
    with pytest.raises(ValueError, match="personalised"):
        benchmark_market(seed=0, personalised=True, observed_segments=False)


def test_simulate_command_writes_curves(tmp_path):
    import typer
    from typer.testing import CliRunner

    from bundleopt.commands import simulate

    app = typer.Typer()
    app.callback()(lambda: None)
    simulate.register(app)
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["simulate", "--periods", "3", "--customers", "50", "--out", str(out)])
    assert result.exit_code == 0, result.output
    periods = pd.read_csv(out / "periods.csv")
    assert len(periods) == 3 and {"regret", "cumulative_regret", "revenue_ratio"} <= set(periods.columns)
    assert (out / "curves.png").stat().st_size > 0
    assert json.loads((out / "summary.json").read_text())["settings"]["customers_per_period"] == 50
    uniform = CliRunner().invoke(app, ["simulate", "--periods", "2", "--customers", "50", "--uniform",
                                       "--out", str(tmp_path / "uniform")])
    assert uniform.exit_code == 0, uniform.output
    assert json.loads((tmp_path / "uniform" / "summary.json").read_text())["settings"]["personalised"] is False
    bad = CliRunner().invoke(app, ["simulate", "--periods", "0", "--out", str(out)])
    assert bad.exit_code != 0


def test_simulation_save_never_empties_a_users_folder(tmp_path):
    m = benchmark_market(seed=2, personalised=False, observed_segments=False)
    res = run_simulation(m, ThompsonPolicy(seed=0), n_periods=2, customers_per_period=50, seed=0)
    users = tmp_path / "mine"
    users.mkdir()
    (users / "periods.csv").write_text("my own file\n")
    with pytest.raises(FileExistsError):
        res.save(users, overwrite=True)
    assert (users / "periods.csv").read_text() == "my own file\n"
    paths = res.save(tmp_path / "sim")
    assert (tmp_path / "sim" / ".bundleopt-manifest.json").exists()
    with pytest.raises(FileExistsError):
        res.save(tmp_path / "sim")  # its own folder: replaced only when asked
    assert res.save(tmp_path / "sim", overwrite=True) == paths
