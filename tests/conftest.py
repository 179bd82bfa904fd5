"""Shared pytest fixtures and skips."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run, so a red CI can be reproduced;
# HYPOTHESIS_PROFILE=explore draws new ones (benchmarks/exactness_sweep.py checks
# thousands of instances against brute force).
settings.register_profile("ci", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def swissmetro():
    """The Swissmetro data, or a skip saying how to get it."""
    from bundleopt.datasets import DatasetUnavailable, load_swissmetro

    try:
        return load_swissmetro()
    except DatasetUnavailable as exc:
        pytest.skip(f"real data unavailable: {exc}")


@pytest.fixture(scope="module")
def tiny():
    """The bad-input suites' shop: ``make_market(seed=0, **TINY)`` of ``test_bad_input``, six
    products; P000+P001 is a planted pair (mined as a bundle); P005 never sells."""
    from test_bad_input import TINY

    from bundleopt.datasets import make_market

    return make_market(seed=0, **TINY)
