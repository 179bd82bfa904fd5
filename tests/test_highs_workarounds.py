"""The numeric seam (optimize/highs_backend.py): the compiled model's column layout, and
the HiGHS workarounds, which all live in that module, each naming the HiGHS version it
concerns and a test that exists."""

from __future__ import annotations

import ast
import re
import time
from pathlib import Path

import numpy as np
import pytest

from bundleopt.optimize import columns as cols
from bundleopt.optimize import highs_backend as hb
from bundleopt.optimize.columns import decision_from_values, start_vector
from bundleopt.optimize.instances import random_instance
from bundleopt.optimize.model import build_model
from bundleopt.scenario import Constraints, Decision

ROOT = Path(__file__).resolve().parents[1]


def test_layout_matches_the_pyomo_variables_of_every_column() -> None:
    sc = random_instance(6, 3, 3, max_offers=3, seed=2, personalised=True,
                         constraints=Constraints(max_offers=3, min_margin_rate=0.2))
    model = build_model(sc)
    cm = hb.compile_model(model)
    lay = cm.layout
    assert len(lay) == cm.lp.num_col_
    # every column's role and indices agree with the variable it was compiled from
    # the columns' Pyomo names, in the compiler's order, only to check the layout against
    from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

    repn = LinearStandardFormCompiler().write(model, mixed_form=True, set_sense=None)
    by_name = {v.name: i for i, v in enumerate(repn.columns)}
    for part, role in (("x", cols.X), ("y", cols.Y), ("z", cols.Z), ("attraction", cols.ATTRACTION)):
        comp = getattr(model, part, None)
        if comp is None:
            continue
        for idx, var in comp.items():
            i = by_name.get(var.name)
            if i is None:  # not in any row or the objective: not compiled
                continue
            assert lay.role[i] == role
            idx = idx if isinstance(idx, tuple) else (idx,)
            assert lay.find(role, *idx) == i
    assert set(np.unique(lay.role)) <= {cols.OTHER, cols.X, cols.Y, cols.Z, cols.ATTRACTION}
    assert np.array_equal(lay.x_columns(sc.n_segments), [by_name[model.x[s].name] for s in range(3)])
    assert lay.find(cols.Y, 0, 99, 0) is None


def test_a_decision_goes_through_the_columns_and_back_without_the_model() -> None:
    sc = random_instance(6, 3, 3, max_offers=3, seed=5)
    cm = hb.compile_model(build_model(sc))  # the Pyomo model is freed here
    levels = np.full((1, 6), -1)
    levels[0, [0, 2]] = [int(np.flatnonzero(cm.info.mask[0])[0]), int(np.flatnonzero(cm.info.mask[2])[0])]
    vec = start_vector(cm, Decision(levels))
    assert vec is not None and len(vec) == cm.lp.num_col_
    assert np.array_equal(decision_from_values(cm, vec).levels, levels)
    # x = 1 / (v0 + sum of the offered attractions), z = x y
    xs = vec[cm.layout.x_columns(3)]
    on = sc.v[:, [0, 2], levels[0, [0, 2]]].sum(axis=1)
    assert np.allclose(xs, 1.0 / (sc.v0 + on))


def test_no_solver_column_is_identified_by_its_pyomo_name() -> None:
    """Outside :func:`columns.column_layout` (run once by the compile step), the
    algorithms read the layout arrays."""
    mine = ["milp.py", "dispatch.py", "tighten.py", "tighten_stages.py", "schedule.py",
            "ranges.py", "certify.py"]
    pattern = re.compile(r"(var|v|x\[0\])\.name\b|local_name|parent_component|str\(v\)|\"[xyz]\[|cm\.index")
    for name in mine:
        text = (ROOT / "bundleopt" / "optimize" / name).read_text()
        assert not pattern.search(text), (name, pattern.search(text).group())
    seam = (ROOT / "bundleopt" / "optimize" / "columns.py").read_text()
    rest = seam[:seam.index("def column_layout(")] + seam[seam.index("def _info("):]
    assert not pattern.search(rest)


def test_workarounds_name_a_version_and_an_existing_test() -> None:
    text = (ROOT / "bundleopt" / "optimize" / "highs_backend.py").read_text()
    block = text[text.index("# ---------------------------------------------------------------- HiGHS workarounds"):
                 text.index("# HiGHS options (not workarounds)")]
    items = re.split(r"\n# (?=\d\. )", block)[1:]
    assert len(items) >= 8
    for item in items:
        assert re.search(r"1\.1[56]\.\d", item), item[:60]  # the HiGHS version it concerns
        tests = re.findall(r"tests/(test_\w+\.py)(?:::(\w+))?", item.replace("\n# ", ""))
        assert tests, item[:60]
        for path, func in tests:
            source = (ROOT / "tests" / path).read_text()
            if func:
                names = {n.name for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef)}
                assert func in names, (path, func)


def test_dual_fixing_probing_is_off_where_highs_has_it() -> None:
    h = hb.new_highs(1)
    _, mask = h.getOptionValue("presolve_rule_off")
    has_rule = (h.versionMajor(), h.versionMinor()) >= (1, 16)
    assert bool(mask & hb.DUAL_FIXING_PROBING) == has_rule


def test_solves_use_the_workaround_tolerances() -> None:
    sc = random_instance(4, 2, 2, max_offers=2, seed=1)
    res = hb.solve_compiled(hb.compile_model(build_model(sc)), threads=1)
    assert res.status == "optimal" and hb.FEASIBILITY_TOL == 1e-7
    with pytest.raises(ValueError, match="rejected option"):
        hb.solve_compiled(hb.compile_model(build_model(sc)), threads=1, options={"no_such": 1})


def test_set_deadline_counts_the_instances_earlier_runs() -> None:
    sc = random_instance(20, 4, 3, max_offers=4, seed=1)
    cm = hb.compile_model(build_model(sc, relaxed=True))
    h = hb.new_highs(1)
    h.passModel(cm.lp)
    h.run()
    ran = h.getRunTime()
    assert ran > 0
    left = hb.set_deadline(h, time.perf_counter() + 5.0)
    _, limit = h.getOptionValue("time_limit")
    assert 4.0 < left <= 5.0 and limit == pytest.approx(ran + left, abs=0.05)
    assert hb.set_deadline(h, time.perf_counter() - 1.0) < 0  # passed: nothing set
    assert h.getOptionValue("time_limit")[1] == limit
    assert hb.set_deadline(h, None) is None


def test_untrustworthy_answers_are_caught() -> None:
    def result(objective, bound, has=True):
        return hb.HighsResult("optimal", has, objective, bound, 0.0, np.zeros(0), 0.0, 0.0, 0)

    assert not hb.untrustworthy(result(10.0, 10.0), 10.0)
    assert hb.untrustworthy(result(9.0, 10.0), 10.0)  # less than the warm start
    assert hb.untrustworthy(result(10.0, float("inf")), 10.0)  # no valid bound
    assert hb.untrustworthy(result(10.0, 9.0), 10.0)  # bound below its own answer
    assert hb.untrustworthy(result(10.0, 10.0, has=False), 10.0)
