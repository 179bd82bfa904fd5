"""Issue 15 goal: where the row-by-row path fits (Ta-Feng top 50, purchase share 0.3), the
grouped path gives the same estimates and the same plan."""

from __future__ import annotations

import numpy as np
import pytest

import bundleopt.pipeline as pipeline
from bundleopt.data import build_choice_data, validate
from bundleopt.data.schemas import NO_PURCHASE


@pytest.mark.slow
@pytest.mark.realdata
def test_tafeng_top50_same_estimates_and_plan_as_the_row_by_row_path(monkeypatch):
    from bundleopt.data.choice_data import build_menu_choices
    from bundleopt.datasets import DatasetUnavailable, load_tafeng

    try:
        tx, cat = load_tafeng(top_products=50)
    except DatasetUnavailable as exc:
        pytest.skip(f"Ta-Feng unavailable: {exc}")
    kw = {"purchase_share": 0.3, "backtest_split": None, "n_draws": None, "random_state": 0}
    grouped_plan = pipeline.build_plan(tx, cat, **kw)
    seg = grouped_plan.assignments
    segs = sorted(int(s) for s in seg.unique())
    checked = validate(tx, cat)
    cands = grouped_plan.candidates
    bundles = cands if len(cands) else None
    # the row-by-row path: long format (occasions x alternatives), one MNL per segment
    long = build_choice_data(checked.transactions, checked.catalog, purchase_share=0.3, bundles=bundles,
                             segments=seg, random_state=0)
    row_models = pipeline.fit_segment_models(long[long["segment"].notna()], segs, tol=1e-22)
    grouped = build_menu_choices(checked.transactions, checked.catalog, purchase_share=0.3, bundles=bundles,
                                 segments=seg, random_state=0)
    menu_models = pipeline.fit_menu_models({s: grouped.menus[s] for s in segs}, tol=1e-22)
    for s in segs:
        a, b = row_models[s], menu_models[s]
        assert list(a.params_.index) == list(b.params_.index)
        np.testing.assert_allclose(b.params_, a.params_, rtol=1e-8, atol=1e-8)
        np.testing.assert_allclose(b.std_errors_, a.std_errors_, rtol=1e-6)
        n_long = (long["segment"] == s) & (long["chosen"] == 1)
        assert grouped.occasions[s] == n_long.sum()
        assert grouped.purchases[s] == (n_long & (long["alt"] != NO_PURCHASE)).sum()
    # the same plan when the pipeline is handed the row-by-row models
    monkeypatch.setattr(pipeline, "fit_menu_models", lambda menus, **_: {s: row_models[s] for s in menus})
    row_plan = pipeline.build_plan(tx, cat, **kw)
    np.testing.assert_array_equal(row_plan.solution.decision.levels, grouped_plan.solution.decision.levels)
    assert row_plan.profit == pytest.approx(grouped_plan.profit, rel=1e-8)
    # (the plan's own fits stop at the default tolerance: estimates within ~2e-6 relative of these)
    np.testing.assert_allclose(grouped_plan.params["estimate"], row_plan.params["estimate"], rtol=1e-5, atol=1e-8)
