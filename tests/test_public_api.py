"""Every name bundleopt re-exports resolves, and import stays light."""

import subprocess
import sys

import bundleopt


def test_every_export_resolves():
    for name in bundleopt.__all__:
        assert getattr(bundleopt, name) is not None


def test_unknown_name_is_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        bundleopt.nope  # noqa: B018


def test_import_does_not_start_jax_or_pyomo():
    code = "import sys, bundleopt; print('jax' in sys.modules, 'pyomo' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
