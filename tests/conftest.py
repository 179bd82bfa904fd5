"""Shared pytest fixtures and skips."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def swissmetro():
    """The Swissmetro data, or a skip saying how to get it."""
    from bundleopt.datasets import DatasetUnavailable, load_swissmetro

    try:
        return load_swissmetro()
    except DatasetUnavailable as exc:
        pytest.skip(f"real data unavailable: {exc}")
