"""Privacy: keyed pseudonyms in every output, small segments merged before personalising."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bundleopt.datasets import make_market
from bundleopt.pipeline import build_plan
from bundleopt.plan_parts.privacy import merge_small_segments, pseudonymise
from bundleopt.report import write_report


def test_pseudonyms_are_keyed_and_stable():
    a = pseudonymise(["C1", "C2"], b"k" * 16)
    assert a == pseudonymise(["C1", "C2"], b"k" * 16) and a[0] != a[1]
    assert all(len(p) == 16 and int(p, 16) >= 0 for p in a)
    assert a != pseudonymise(["C1", "C2"], b"j" * 16)  # another key, other pseudonyms
    with pytest.raises(ValueError, match="at least 16 bytes"):
        pseudonymise(["C1"], "short")


def test_small_segments_merge_into_the_nearest():
    seg = pd.Series([0] * 100 + [1] * 30 + [2] * 80, index=[f"c{i}" for i in range(210)])
    x = np.concatenate([np.zeros(100), np.full(30, 9.0), np.full(80, 10.0)])  # 1 is near 2
    feats = pd.DataFrame({"spend": x}, index=seg.index)
    out, notes = merge_small_segments(seg, feats, 50)
    assert out.value_counts().min() >= 50 and sorted(out.unique()) == [0, 1]
    assert (out.iloc[100:] == out.iloc[-1]).all() and out.iloc[0] != out.iloc[-1]
    assert "segment 1 (30 customers, under 50) merged into segment 2" in notes[0]
    same, none = merge_small_segments(seg, feats, 10)
    assert none == [] and same.equals(seg)
    one, _ = merge_small_segments(seg, feats, 1000)  # all small: one segment
    assert one.nunique() == 1


@pytest.fixture(scope="module")
def market():
    return make_market(seed=3, n_products=10, n_customers=250, n_pairs=2)


def test_build_plan_merges_small_segments_and_says_so(market):
    plan = build_plan(market.transactions, market.catalog, sessions=market.sessions, n_segments=3,
                      min_lift=1.2, threads=1, min_segment_size=120, n_draws=None)
    assert (plan.segments["n_customers"] >= 120).all() and len(plan.segments) < 3
    assert any("merged into segment" in n for n in plan.notes)
    assert plan.scenario.n_segments == len(plan.segments)
    with pytest.raises(ValueError, match="min_segment_size"):
        build_plan(market.transactions, market.catalog, sessions=market.sessions, min_segment_size=0)


def test_no_customer_id_in_any_output_file(market, tmp_path):
    plan = build_plan(market.transactions, market.catalog, sessions=market.sessions, n_segments=2,
                      min_lift=1.2, threads=1, n_draws=None)
    out = write_report(plan, tmp_path / "rep", customer_key=b"s" * 32)
    ids = set(market.transactions["customer_id"].astype(str))
    for path in out.iterdir():
        if path.suffix in (".csv", ".json", ".md", ".html"):
            text = path.read_text()
            leaked = [i for i in ids if i in text]
            assert not leaked, (path.name, leaked[:3])
    table = pd.read_csv(out / "customer_segments.csv")
    assert list(table["customer"]) == pseudonymise(plan.assignments.index, b"s" * 32)
