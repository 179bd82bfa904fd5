"""Know before running (issue 15 item 3): memory and time estimated from the data's size; a
run that cannot fit stops at once, naming the option that helps."""

from __future__ import annotations

import pytest

from bundleopt.choice.resources import ResourceError, check_memory, estimate_plan_resources

SIZES = {"n_lines": 368_505, "n_customers": 30_178, "n_products": 1000, "n_candidates": 10,
         "n_periods": 120, "n_segments": 6}


def test_estimate_grows_with_products_and_lines():
    base = estimate_plan_resources(**SIZES)
    more_products = estimate_plan_resources(**{**SIZES, "n_products": 4000})
    more_lines = estimate_plan_resources(**{**SIZES, "n_lines": 10 * SIZES["n_lines"]})
    assert base.n_alternatives == 1011 and base.n_parameters == 1012
    assert more_products.memory > base.memory and more_products.seconds > 4 * base.seconds
    assert more_lines.memory > base.memory
    assert 0.5e9 < base.memory < 4e9  # the goal for this size is 4 GB


def test_check_memory_names_the_option():
    est = estimate_plan_resources(**SIZES)
    check_memory(est, available=64e9)
    with pytest.raises(ResourceError, match="--max-products") as err:
        check_memory(est, available=0.2e9)
    assert "\n" not in str(err.value)


def test_build_plan_stops_before_the_heavy_stages(monkeypatch):
    import bundleopt.choice.resources as res
    from bundleopt.datasets import make_market
    from bundleopt.pipeline import build_plan

    monkeypatch.setattr(res, "available_memory", lambda: 1e6)
    steps = []
    m = make_market(seed=0, n_customers=100)
    with pytest.raises(ResourceError, match="only 0.0 GB of memory is available"):
        build_plan(m.transactions, m.catalog, purchase_share=0.3, progress=lambda s, f: steps.append(s))
    assert steps == ["validating data"]


def test_the_check_is_redone_with_the_number_of_segments_chosen(monkeypatch):
    """Before segmentation the planner checks the fewest segments it may fit (a run that
    cannot fit even those stops at once); after it, the number chosen, before the heavy
    stages (choice data, fits), naming --segments."""
    import bundleopt.choice.resources as res
    from bundleopt.datasets import make_market
    from bundleopt.pipeline import build_plan

    seen = []
    real = res.estimate_plan_resources

    def recording(**sizes):
        seen.append(sizes["n_segments"])
        est = real(**sizes)
        return est if len(seen) == 1 else res.ResourceEstimate(1e15, est.seconds, est.n_alternatives,
                                                               est.n_parameters, est.detail)

    monkeypatch.setattr(res, "estimate_plan_resources", recording)
    steps = []
    m = make_market(seed=0, n_customers=200)
    with pytest.raises(ResourceError, match="--segments"):
        build_plan(m.transactions, m.catalog, purchase_share=0.3, k_range=(2, 4),
                   progress=lambda s, f: steps.append(s))
    assert seen[0] == 2 and len(seen) == 2 and 2 <= seen[1] <= 4
    assert steps == ["validating data", "segmenting customers"]
