"""PlanConfig (issue 17 item 5): every setting validated once with a one-line error, written
out whole in plan.json, and build_plan the same through a config or through keywords."""

from __future__ import annotations

import copy
import json
import pickle
from dataclasses import fields

import pytest

from bundleopt import PlanConfig
from bundleopt.datasets import make_market
from bundleopt.pipeline import build_plan
from bundleopt.report import plan_to_json, write_report

FIELDS = [f.name for f in fields(PlanConfig)]
# settings of a small, fast plan that still runs every stage (backtest and intervals included)
SMALL = {"n_segments": 2, "n_draws": 10, "backtest_split": 0.75, "min_segment_size": 10,
         "keep_on_sale": ("P001",), "max_price_change": 0.15, "price_points": ".99",
         "constraints": {"max_price_spread": 0.3}, "time_limit": 30.0}


@pytest.fixture(scope="module")
def market():
    return make_market(seed=1, n_products=8, n_customers=250, n_days=30)


@pytest.fixture(scope="module")
def config_plan(market):
    return build_plan(market.transactions, market.catalog, PlanConfig(**SMALL), sessions=market.sessions)


def _data(plan) -> dict:
    """The plan as written to plan.json, less what depends on the clock or the machine."""
    doc = plan_to_json(plan)
    for key in ("timings", "machine", "versions"):
        doc.pop(key)
    doc["solver"].pop("timings")
    doc["solver"].pop("notes")  # the solver log names its run times
    doc["data_summary"].pop("estimated_seconds")
    return doc


def test_every_field_is_written_to_plan_json(config_plan, tmp_path):
    folder = write_report(config_plan, tmp_path / "out")
    settings = json.loads((folder / "plan.json").read_text())["settings"]
    assert set(FIELDS) <= set(settings), sorted(set(FIELDS) - set(settings))
    assert {k: settings[k] for k in FIELDS} == config_plan.config.settings()
    assert settings["sessions"] is True
    # values as planned, normalised: the ladder has the list price, ids are a list
    assert settings["ladder"] == sorted(settings["ladder"]) and 1.0 in settings["ladder"]
    assert settings["keep_on_sale"] == ["P001"] and settings["constraints"] == {"max_price_spread": 0.3}


def test_config_and_keywords_give_the_same_plan(market, config_plan):
    by_keywords = build_plan(market.transactions, market.catalog, sessions=market.sessions, **SMALL)
    assert by_keywords.config == config_plan.config
    assert _data(by_keywords) == _data(config_plan)


def test_config_and_keywords_together_or_unknown_names_are_refused(market):
    with pytest.raises(ValueError, match="not both"):
        build_plan(market.transactions, market.catalog, PlanConfig(), n_segments=2, sessions=market.sessions)
    with pytest.raises(TypeError, match=r"unknown setting\(s\) \['n_segment'\]"):
        build_plan(market.transactions, market.catalog, n_segment=2, sessions=market.sessions)
    with pytest.raises(TypeError, match="config must be a PlanConfig"):
        build_plan(market.transactions, market.catalog, {"n_segments": 2})


BAD = [
    ({"n_segments": 0}, "n_segments"),
    ({"n_segments": True}, "n_segments"),
    ({"k_range": (4, 2)}, "k_range"),
    ({"k_range": 3}, "k_range"),
    ({"max_bundles": -1}, "max_bundles"),
    ({"max_offers": 0}, "max_offers"),
    ({"min_margin": 1.0}, "min_margin"),
    ({"personalised": "yes"}, "personalised"),
    ({"ladder": (0.9, "x")}, "ladder"),
    ({"ladder": (0.9, 0.9)}, "ladder"),
    ({"ladder": (0.9, 50.0)}, "ladder"),
    ({"bundle_utility": "magic"}, "bundle_utility"),
    ({"no_arbitrage": 1}, "no_arbitrage"),
    ({"constraints": {"no_such_rule": 1}}, "unknown constraint"),
    ({"constraints": [("max_offers", 2)]}, "constraints"),
    ({"min_support": 0.0}, "min_support"),
    ({"top_pairs": 0}, "top_pairs"),
    ({"min_pair_count": 2.5}, "min_pair_count"),
    ({"min_lift": float("nan")}, "min_lift"),
    ({"max_bundle_size": 1}, "max_bundle_size"),
    ({"max_candidates": 2.5}, "max_candidates"),
    ({"max_products": 0}, "max_products"),
    ({"errors": "ignore"}, "errors"),
    ({"allow_positive_price_coef": None}, "allow_positive_price_coef"),
    ({"smoothing": -1.0}, "smoothing"),
    ({"min_occasions": -1}, "min_occasions"),
    ({"random_state": "seed"}, "random_state"),
    ({"time_limit": 0}, "time_limit"),
    ({"threads": 0}, "threads"),
    ({"keep_on_sale": 3}, "keep_on_sale"),
    ({"max_price_change": -0.1}, "max_price_change"),
    ({"max_price_change": {"P001": "ten"}}, "max_price_change"),
    ({"price_points": "cheap"}, "price_points"),
    ({"backtest_split": 1.5}, "backtest_split"),
    ({"backtest_split": [0.5]}, "backtest_split"),
    ({"n_draws": 1}, "n_draws"),
    ({"robust_draws": 1}, "robust_draws"),
    ({"min_segment_size": 0}, "min_segment_size"),
    ({"purchase_share": 0.0}, "purchase_share"),
]


@pytest.mark.parametrize(("changes", "field"), BAD)
def test_a_bad_value_is_one_line_naming_the_setting(changes, field):
    with pytest.raises(ValueError, match=field) as err:
        PlanConfig(**changes)
    assert "\n" not in str(err.value)


def test_every_field_has_a_bad_value_case():
    tested = {name for changes, _ in BAD for name in changes}
    assert set(FIELDS) <= tested, sorted(set(FIELDS) - tested)


def test_values_are_normalised_so_equal_plans_have_equal_configs():
    a = PlanConfig(ladder=[1.1, 0.9], keep_on_sale="P001", n_segments=2.0, constraints=None)
    b = PlanConfig(ladder=(0.9, 1.0, 1.1), keep_on_sale=["P001"], n_segments=2, constraints={})
    assert a == b and a.ladder == (0.9, 1.0, 1.1) and isinstance(a.n_segments, int)
    with pytest.raises(TypeError):
        a.constraints["max_offers"] = 2  # read-only: the config stays as validated
    with pytest.raises(AttributeError):
        a.n_segments = 3  # type: ignore[misc]
    c = PlanConfig(constraints={"stock": {"P001": 5.0}}, max_price_change={"P001": 0.1})
    assert pickle.loads(pickle.dumps(c)) == c and copy.deepcopy(c) == c
    assert json.loads(json.dumps(c.settings()))["constraints"] == {"stock": {"P001": 5.0}}


def test_the_default_config_is_the_old_defaults():
    cfg = PlanConfig()
    assert cfg.rules.max_bundles == 3 and cfg.rules.min_bundle_discount == 0.0
    assert cfg.n_draws == 200 and cfg.time_limit == 60.0 and cfg.threads == 1 and cfg.errors == "drop"
