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


# Every public name after every submodule is imported: importing a submodule binds it as
# an attribute of its package, so a module named like a public function would replace
# the function (``from bundleopt.sweep import ...`` then ``bundleopt.sweep([])`` raised
# "'module' object is not callable").
_ALL_SUBMODULES_THEN_NAMES = """
import importlib, pkgutil, sys, types
import bundleopt
from bundleopt import _EXPORTS
for m in pkgutil.walk_packages(bundleopt.__path__, "bundleopt."):
    if not m.name.endswith("__main__"):
        importlib.import_module(m.name)
bad = []
for name, module in _EXPORTS.items():
    value = getattr(bundleopt, name)
    if isinstance(value, types.ModuleType) or not callable(value):
        bad.append(f"bundleopt.{name} is {value!r}")
    elif value is not getattr(importlib.import_module(module), name):
        bad.append(f"bundleopt.{name} is not {module}.{name}")
for pkg_name, pkg in list(sys.modules.items()):
    if pkg_name.startswith("bundleopt") and hasattr(pkg, "__path__"):
        for name in getattr(pkg, "__all__", ()):
            if isinstance(getattr(pkg, name), types.ModuleType):
                bad.append(f"{pkg_name}.{name} is a module")
print("\\n".join(bad) or "ok")
"""


def test_public_names_are_not_shadowed_by_submodules():
    out = subprocess.run([sys.executable, "-c", _ALL_SUBMODULES_THEN_NAMES],
                         capture_output=True, text=True, check=True, timeout=600)
    assert out.stdout.strip() == "ok", out.stdout


def test_no_public_name_is_a_submodule_name():
    import pkgutil

    submodules = {m.name for m in pkgutil.iter_modules(bundleopt.__path__)}
    assert not submodules & set(bundleopt.__all__)


def test_sweep_stays_the_function_after_importing_its_module():
    code = ("import bundleopt as bo\n"
            "from bundleopt.sweeping import sweep_table\n"
            "print(bo.sweep([], progress=False), bo.sweep is bo.sweeping.sweep)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300)
    assert out.stdout.split() == ["[]", "True"]


def test_no_submodule_anywhere_is_shadowed_by_a_name_of_its_package():
    """``import bundleopt.x.y`` and ``bundleopt.x.y`` are the same module for every package
    (before: ``bundleopt.data.validate`` was the function, hiding ``data/validate.py``)."""
    import importlib
    import pkgutil

    import bundleopt

    shadowed = []
    for info in pkgutil.walk_packages(bundleopt.__path__, "bundleopt."):
        if not info.ispkg:
            continue
        pkg = importlib.import_module(info.name)
        for sub in pkgutil.iter_modules(pkg.__path__):
            module = importlib.import_module(f"{info.name}.{sub.name}")
            if hasattr(pkg, sub.name) and getattr(pkg, sub.name) is not module:
                shadowed.append(f"{info.name}.{sub.name}")
    assert shadowed == []
