"""Long-format choice data from transactions: occasions, alternatives, no-purchase, prices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bundleopt.data import NO_PURCHASE, build_choice_data, validate
from bundleopt.data.choice_data import purchase_occasions
from bundleopt.datasets import make_market


def toy():
    cat = pd.DataFrame(
        {"product_id": ["a", "b", "c"], "unit_cost": [1.0, 1.0, 1.0], "list_price": [4.0, 5.0, 6.0]}
    )
    tx = pd.DataFrame(
        {
            "order_id": ["o1", "o1", "o2", "o3"],
            "customer_id": ["u", "u", "v", "u"],
            "timestamp": [
                "2024-01-01 10:00",
                "2024-01-01 10:00",
                "2024-01-01 12:00",
                "2024-01-02 09:00",
            ],
            "product_id": ["a", "b", "a", "c"],
            "quantity": [1, 2, 1, 1],
            "unit_price": [3.0, 5.0, 4.0, 6.0],
        }
    )
    ses = pd.DataFrame(
        {
            "session_id": ["s1", "s2", "s3", "s4", "s5"],
            "customer_id": ["u", "v", "v", "u", "w"],
            "timestamp": [
                "2024-01-01 10:00",
                "2024-01-01 12:00",
                "2024-01-01 15:00",
                "2024-01-02 09:00",
                "2024-01-02 11:00",
            ],
            "order_id": ["o1", "o2", None, "o3", None],
        }
    )
    return validate(tx, cat, sessions=ses)


def one_chosen(df: pd.DataFrame) -> None:
    assert (df.groupby("obs", observed=True)["chosen"].sum() == 1).all()
    assert df.groupby("obs", observed=True).size().nunique() == 1  # a rectangle
    assert (df.loc[df["chosen"] == 1, "available"] == 1).all()
    assert not df.duplicated(["obs", "alt"]).any()


def test_toy_with_sessions():
    v = toy()
    df = build_choice_data(v.transactions, v.catalog, sessions=v.sessions)
    one_chosen(df)
    plain = build_choice_data(v.transactions, v.catalog, sessions=v.sessions, categorical=False)
    pd.testing.assert_frame_equal(
        df.astype({"obs": str, "alt": str, "customer": str}),
        plain.astype({"obs": str, "alt": str, "customer": str}),
    )
    assert isinstance(df["alt"].dtype, pd.CategoricalDtype) and plain["alt"].dtype == object
    assert list(df.columns) == [
        "obs",
        "alt",
        "chosen",
        "available",
        "price",
        "customer",
        "timestamp",
        "is_bundle",
    ]
    # 4 lines -> 4 purchase occasions, 2 visits without order -> 2 no-purchase occasions
    assert df["obs"].nunique() == 6
    assert set(df["alt"]) == {NO_PURCHASE, "a", "b", "c"}
    chosen = df[df["chosen"] == 1].set_index("obs")
    assert chosen.loc["o1#0", "alt"] == "a" and chosen.loc["o1#0", "price"] == 3.0
    assert (
        chosen.loc["visit:s3", "alt"] == NO_PURCHASE and chosen.loc["visit:s5", "customer"] == "w"
    )
    none = df[df["alt"] == NO_PURCHASE]
    assert (none["price"] == 0).all() and (none["available"] == 1).all()
    # listed price of a on 2024-01-01 = median paid that day (3, 4) = 3.5; of c = list price 6
    row = df[(df["obs"] == "visit:s3")].set_index("alt")
    assert (
        row.loc["a", "price"] == 3.5
        and row.loc["b", "price"] == 5.0
        and row.loc["c", "price"] == 6.0
    )


def test_toy_bundles_are_matched():
    v = toy()
    bundles = pd.DataFrame(
        {
            "bundle_id": ["a+b"],
            "components": [("b", "a")],
            "list_price": [8.1],
            "components_price": [9.0],
        }
    )
    df = build_choice_data(v.transactions, v.catalog, sessions=v.sessions, bundles=bundles)
    one_chosen(df)
    chosen = df[df["chosen"] == 1].set_index("obs")
    # order o1 (a, b) is one occasion choosing the bundle, at the sum of prices paid
    assert chosen.loc["o1#0", "alt"] == "a+b" and chosen.loc["o1#0", "price"] == 8.0
    assert "o1#1" not in chosen.index
    # elsewhere the bundle is listed at (listed a + listed b) * 0.9
    row = df[df["obs"] == "o3#0"].set_index("alt")
    assert row.loc["a+b", "price"] == pytest.approx(0.9 * (4.0 + 5.0))
    assert row.loc["a+b", "is_bundle"] == 1 and row.loc["a", "is_bundle"] == 0


def test_purchase_occasions_greedy_largest_bundle_first():
    tx = pd.DataFrame(
        {
            "order_id": ["o"] * 4,
            "customer_id": ["u"] * 4,
            "timestamp": pd.to_datetime(["2024-01-01"] * 4),
            "product_id": ["a", "b", "c", "d"],
            "quantity": [1.0] * 4,
            "unit_price": [1.0, 2.0, 3.0, 4.0],
        }
    )
    b = pd.DataFrame(
        {
            "bundle_id": ["a+b", "a+b+c", "c+d"],
            "components": [("a", "b"), ("a", "b", "c"), ("c", "d")],
        }
    )
    occ = purchase_occasions(tx, b)
    assert sorted(occ["alt"]) == ["a+b+c", "d"]
    assert occ.set_index("alt").loc["a+b+c", "price"] == 6.0


def test_market_size_assumption():
    v = toy()
    df = build_choice_data(v.transactions, v.catalog, purchase_share=0.4, random_state=1)
    one_chosen(df)
    n_none = (df["chosen"].astype(bool) & (df["alt"] == NO_PURCHASE)).sum()
    assert n_none == round(4 * 0.6 / 0.4)  # 6
    assert df.attrs["purchase_share"] == 0.4
    again = build_choice_data(v.transactions, v.catalog, purchase_share=0.4, random_state=1)
    pd.testing.assert_frame_equal(df, again)
    with pytest.raises(ValueError, match="sessions"):
        build_choice_data(v.transactions, v.catalog)
    with pytest.raises(ValueError, match="purchase_share"):
        build_choice_data(v.transactions, v.catalog, purchase_share=0)


def test_availability_sold_and_offers():
    v = toy()
    df = build_choice_data(v.transactions, v.catalog, sessions=v.sessions, availability="sold")
    one_chosen(df)
    row = df[df["obs"] == "visit:s3"].set_index("alt")  # day 1: a, b sold, c not
    assert row["available"].to_dict() == {NO_PURCHASE: 1, "a": 1, "b": 1, "c": 0}
    sub = build_choice_data(v.transactions, v.catalog, sessions=v.sessions, offers=["a", "c"])
    one_chosen(sub)
    assert sub.attrs["n_dropped_occasions"] == 1  # the b line of o1
    with pytest.raises(ValueError, match="not in the catalog"):
        build_choice_data(v.transactions, v.catalog, sessions=v.sessions, offers=["zz"])


def test_market_prices_table_and_segments():
    m = make_market(seed=2, n_customers=120, n_days=20)
    v = validate(m.transactions, m.catalog, sessions=m.sessions)
    seg = m.customers.set_index("customer_id")["segment"]
    df = build_choice_data(
        v.transactions, v.catalog, sessions=v.sessions, prices=m.prices, segments=seg
    )
    one_chosen(df)
    assert df["obs"].nunique() == (
        v.sessions["order_id"].isna().sum()
        + df["obs"].str.contains("#").sum() / df["alt"].nunique()
    )
    assert df["segment"].notna().all()
    # every price equals the day's shelf price except the chosen one (price paid, also the day's price)
    day = df.assign(date=df["timestamp"].dt.normalize()).merge(
        m.prices, left_on=["date", "alt"], right_on=["date", "product_id"]
    )
    np.testing.assert_allclose(day["price_x"], day["price_y"])


def test_mnl_recovers_the_truth_on_a_one_segment_market():
    choice = pytest.importorskip("bundleopt.choice", exc_type=ImportError)
    m = make_market(seed=0, n_segments=1, extra_item_rate=0.0, n_customers=250)
    v = validate(m.transactions, m.catalog, sessions=m.sessions)
    pairs = m.truth.planted_pairs
    bundles = pd.DataFrame({"bundle_id": ["+".join(p) for p in pairs], "components": pairs})
    df = build_choice_data(
        v.transactions, v.catalog, sessions=v.sessions, bundles=bundles, prices=m.prices
    )
    model = choice.MNL(features=["price"], reference=NO_PURCHASE).fit(
        df, obs="obs", alt="alt", choice="chosen", avail="available"
    )
    est, se = model.params_, model.std_errors_
    t = m.truth
    truth = {"price": t.beta[0], **{f"ASC_{p}": a for p, a in t.asc.iloc[0].items()}}
    for (j, k), gamma in t.synergy.items():  # a pair's constant: a_j + a_k - alpha + gamma
        truth[f"ASC_{j}+{k}"] = t.asc.iloc[0][j] + t.asc.iloc[0][k] - t.alpha[0] + gamma
    names = [n for n in truth if n in est.index]
    assert len(names) >= 20
    z = (est[names] - pd.Series(truth)[names]) / se[names]
    assert (z.abs() < 4).all(), z.abs().sort_values().tail()
    assert est["price"] == pytest.approx(t.beta[0], rel=0.15)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    share=st.one_of(st.none(), st.floats(0.05, 1.0)),
    availability=st.sampled_from(["always", "sold"]),
    with_bundles=st.booleans(),
)
def test_property_one_chosen_available_row_per_occasion(seed, share, availability, with_bundles):
    m = make_market(seed=seed, n_products=6, n_pairs=2, n_customers=15, n_days=5)
    v = validate(m.transactions, m.catalog, sessions=m.sessions)
    bundles = None
    if with_bundles:
        pairs = m.truth.planted_pairs
        bundles = pd.DataFrame({"bundle_id": ["+".join(p) for p in pairs], "components": pairs})
    df = build_choice_data(
        v.transactions,
        v.catalog,
        sessions=v.sessions if share is None else None,
        purchase_share=share,
        bundles=bundles,
        availability=availability,
    )
    one_chosen(df)
    none = df[df["alt"] == NO_PURCHASE]
    assert (none["price"] == 0).all() and (none["available"] == 1).all()
    assert (df.loc[df["alt"] != NO_PURCHASE, "price"] > 0).all()
    # every line of every order is accounted for by exactly one occasion
    chosen = df[(df["chosen"] == 1) & (df["alt"] != NO_PURCHASE)]
    n_items = chosen["alt"].astype(str).str.count(r"\+").add(1).sum()
    assert n_items == len(v.transactions.drop_duplicates(["order_id", "product_id"]))


def test_bundle_with_a_component_never_bought():
    v = toy()
    cat = pd.concat(
        [v.catalog, pd.DataFrame({"product_id": ["d"], "unit_cost": [1.0], "list_price": [7.0]})],
        ignore_index=True,
    )
    bundles = pd.DataFrame({"bundle_id": ["a+d"], "components": [("a", "d")]})
    df = build_choice_data(v.transactions, cat, sessions=v.sessions, bundles=bundles)
    assert "d" not in set(df["alt"])  # not an offer: never bought
    row = df[df["obs"] == "visit:s3"].set_index("alt")
    assert row.loc["a+d", "price"] == 3.5 + 7.0 and row.loc["a+d", "available"] == 1
    with pytest.raises(ValueError, match="component"):
        bad = pd.DataFrame({"bundle_id": ["a+z"], "components": [("a", "z")]})
        build_choice_data(v.transactions, cat, sessions=v.sessions, bundles=bad)


@pytest.mark.parametrize("share, with_sessions", [(0.3, False), (0.05, False), (None, True)])
def test_grouped_choice_data_fits_as_the_long_format(share, with_sessions):
    """build_menu_choices + fit_menu_models = build_choice_data + fit_segment_models (1e-8),
    with the same occasion counts, while holding no occasions x alternatives array."""
    from bundleopt.data.choice_data import build_menu_choices
    from bundleopt.pipeline import fit_menu_models, fit_segment_models

    m = make_market(seed=1, n_customers=150)
    vd = validate(m.transactions, m.catalog, sessions=m.sessions if with_sessions else None)
    custs = sorted(vd.transactions["customer_id"].astype(str).unique())
    seg = pd.Series([i % 2 for i in range(len(custs) - 3)], index=custs[:-3])  # 3 unsegmented
    kw = {"sessions": vd.sessions} if with_sessions else {"purchase_share": share}
    long = build_choice_data(vd.transactions, vd.catalog, segments=seg, random_state=4, **kw)
    grouped = build_menu_choices(vd.transactions, vd.catalog, segments=seg, random_state=4, **kw)
    chosen = long[long["chosen"] == 1]
    for s in (0, 1):
        assert grouped.occasions[s] == (chosen["segment"] == s).sum()
        assert grouped.purchases[s] == ((chosen["segment"] == s) & (chosen["alt"] != NO_PURCHASE)).sum()
        mc = grouped.menus[s]
        assert mc.X.shape[0] <= long["timestamp"].dt.to_period("D").nunique()
        assert len(mc.menu) < (chosen["segment"] == s).sum()  # grouped
    assert grouped.n_unsegmented == chosen["segment"].isna().sum()
    # both fits to machine precision (their default stopping rules leave ~1e-7 and differ)
    a = fit_segment_models(long[long["segment"].notna()], [0, 1], tol=1e-22)
    b = fit_menu_models(grouped.menus, tol=1e-22)
    for s in (0, 1):
        np.testing.assert_allclose(b[s].params_, a[s].params_, rtol=1e-8, atol=1e-8)
        np.testing.assert_allclose(b[s].std_errors_, a[s].std_errors_, rtol=1e-6)


def test_no_purchase_draws_match_one_draw():
    from bundleopt.data.choice_data import no_purchase_draws

    counts = no_purchase_draws(1000, 0.03, random_state=5, chunk=777)
    one = np.bincount(np.random.default_rng(5).integers(0, 1000, int(round(1000 * 0.97 / 0.03))), minlength=1000)
    np.testing.assert_array_equal(counts, one)
