"""The rule registry (bundleopt.optimize.rules): every record is complete and every
consumer reads it. A new family without its builder, check, example here, section in
formulations/rules.md or test file fails these tests."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import numpy as np
import pyomo.environ as pyo
import pytest

from bundleopt.optimize import coupled, decompose, diagnose, families
from bundleopt.optimize.brute_force import cross_segment_rules
from bundleopt.optimize.evaluation import _quantities, _rule_checks
from bundleopt.optimize.instances import random_instance
from bundleopt.optimize.menu_oracle import simple_rules
from bundleopt.optimize.model import build_model, ladder_pairs
from bundleopt.optimize.rule_checks import RuleCheck
from bundleopt.optimize.rules import (
    REGISTRY,
    active_families,
    coupling_families,
    family,
    segment_scenario,
)
from bundleopt.scenario import Constraints, Scenario

ROOT = Path(__file__).resolve().parents[1]


def _base() -> Scenario:
    """Personalised, two segments, bundles: every family can add rows."""
    return random_instance(6, 2, 3, n_bundles=2, personalised=True, seed=11, max_bundle_size=2)


def _floor(sc: Scenario) -> float:
    """A margin floor that removes some but not all levels."""
    rate = (sc.prices - sc.costs[:, None]) / sc.prices
    return float(np.nanmedian(rate))


EXAMPLES = {
    "margin_floor": lambda sc: {"min_margin": _floor(sc)},
    "margin_rate": lambda sc: {"min_margin_rate": 0.3},
    "cardinality": lambda sc: {"max_offers": 2, "max_bundles": 1},
    "bundles_per_product": lambda sc: {"max_bundles_per_product": 0},
    "no_arbitrage": lambda sc: {"min_bundle_discount": 0.0, "max_bundle_discount": 0.5},
    "cannibalisation": lambda sc: {"max_cannibalisation": 0.5},
    "fairness": lambda sc: {"max_price_spread": 0.05},
    "stock": lambda sc: {"stock": {"p0": 0.1}},
    "must_offer": lambda sc: {"must_offer": ("p1",)},
}
"""Settings that switch each family on (a new family needs one)."""


def _with(name: str) -> Scenario:
    sc = _base()
    return sc.with_constraints(**EXAMPLES[name](sc))


def test_every_family_has_an_example_and_unique_name() -> None:
    names = [r.name for r in REGISTRY]
    assert len(set(names)) == len(names)
    assert set(names) == set(EXAMPLES)


@pytest.mark.parametrize("rule", REGISTRY, ids=lambda r: r.name)
def test_record_is_complete(rule) -> None:
    known = {f.name for f in fields(Constraints)}
    assert rule.settings and set(rule.settings) <= known
    assert {k for k, _ in rule.off} <= set(rule.settings)
    builder = getattr(families, rule.rows)  # the builder exists
    assert callable(builder) and rule.rows.startswith("define_") and rule.rows.endswith("_constraints")
    sc = _with(rule.name)
    assert rule.is_on(sc) and rule.name in active_families(sc)
    assert not rule.is_on(sc.with_constraints(**dict(rule.off)))  # off switches it off
    assert not rule.is_on(_base())


@pytest.mark.parametrize("rule", REGISTRY, ids=lambda r: r.name)
def test_evaluator_runs_the_family_check(rule) -> None:
    """Its checks run, each named after one of its settings (the messages name it)."""
    sc = _with(rule.name)
    q = _quantities(sc, np.full((1, sc.n_menus, sc.n_offers), 0))
    checks = rule.check(sc, q)
    assert checks and all(isinstance(c, RuleCheck) and c.rule in rule.settings for c in checks)
    assert {c.rule for c in checks} <= {c.rule for c in _rule_checks(sc, q)}
    assert not [c for c in _rule_checks(_base(), q) if c.rule in rule.settings]


@pytest.mark.parametrize("rule", REGISTRY, ids=lambda r: r.name)
def test_model_builds_the_family_rows(rule) -> None:
    """Switching the family on changes the model (rows, or the level mask)."""
    sc = _with(rule.name)

    def size(fams: list[str]) -> tuple[int, int]:
        m = build_model(sc, families=fams)
        rows = sum(1 for _ in m.component_data_objects(pyo.Constraint, active=True))
        cols = sum(1 for _ in m.component_data_objects(pyo.Var))
        return rows, cols

    assert size([rule.name]) != size([])


@pytest.mark.parametrize("rule", REGISTRY, ids=lambda r: r.name)
def test_coupling_is_read_by_brute_force_and_the_decompositions(rule) -> None:
    sc = _with(rule.name)
    couples = rule.couples(sc)
    assert (rule.name in coupling_families(sc)) == couples
    assert (rule.settings[0] in cross_segment_rules(sc)) == couples  # brute force
    assert decompose.decomposes(sc) == (not couples)
    assert (rule.name in coupled.local_families(sc)) == (not couples)
    by_windows = rule.name == "fairness" and simple_rules(sc, coupled.local_families(sc))  # price windows
    assert coupled.applies(sc) == (couples and (rule.name in coupled.DUALISED or by_windows))
    sub = segment_scenario(sc, 1)
    assert rule.is_on(sub) == (not couples)  # the coupling families are left to the caller
    assert sub.n_segments == 1 and sub.weights.tolist() == [1.0]
    assert np.array_equal(sub.v[0], sc.v[1])
    # one segment: nothing couples, every rule is kept
    one = segment_scenario(segment_scenario(sc, 0).with_constraints(**EXAMPLES[rule.name](sc)), 0)
    assert rule.is_on(one) or rule.name == "fairness"  # fairness needs personalised menus


@pytest.mark.parametrize("rule", REGISTRY, ids=lambda r: r.name)
def test_diagnosis_names_the_family_and_its_settings(rule) -> None:
    sc = _with(rule.name)
    text = diagnose.describe(sc, [rule.name])
    assert text.startswith(rule.name) and all(f"{s}=" in text for s in rule.settings)


@pytest.mark.parametrize("rule", [r for r in REGISTRY if not r.dominance_safe], ids=lambda r: r.name)
def test_no_dominated_level_is_dropped_under_an_unsafe_family(rule) -> None:
    sc = _with(rule.name)
    assert ladder_pairs(sc, {rule.name}, drop_dominated=True)[1] == {}


@pytest.mark.parametrize("rule", REGISTRY, ids=lambda r: r.name)
def test_family_has_its_section_and_test_file(rule) -> None:
    text = (ROOT / "formulations" / "rules.md").read_text()
    match = re.search(rf"^## {re.escape(rule.section)} \(`{rule.rows}`.*?(?=^## |\Z)", text, re.M | re.S)
    assert match, f"formulations/rules.md has no section '## {rule.section} (`{rule.rows}`'"
    tests = re.findall(r"`(tests/test_[a-z_]+\.py)", match.group(0))
    assert tests and all((ROOT / t).is_file() for t in tests)


def test_unknown_family_is_a_one_line_error() -> None:
    with pytest.raises(ValueError, match="unknown rule family 'nope'; known: \\['margin_floor'"):
        family("nope")
    with pytest.raises(ValueError, match="unknown rule family"):
        build_model(_base(), families=["nope"])
