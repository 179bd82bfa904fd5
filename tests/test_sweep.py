"""sweep: many scenarios in parallel, identical to serial solves, failures isolated."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from bundleopt import solve
from bundleopt.optimize.instances import random_instance
from bundleopt.sweeping import sweep, sweep_table


def _scenarios():
    base = random_instance(6, 2, 2, max_offers=3, n_bundles=1, seed=3)
    return {
        "C=1": base.with_constraints(max_offers=1),
        "C=3": base,
        "C=3 margin": base.with_constraints(min_margin_rate=0.3),
        # every level is below the 0.99 margin floor: nothing can be offered at all, and
        # a cannibalisation cap demands standalone sales: infeasible
        "broken": base.with_constraints(min_margin=0.99, max_cannibalisation=0.1),
    }


def _check_against_serial(results, scenarios):
    assert [r.key for r in results] == list(scenarios)
    for r in results:
        if r.key == "broken":
            assert not r.ok and "infeasible" in r.error.lower()
            continue
        assert r.ok, r.error
        serial = solve(scenarios[r.key], threads=1)
        assert r.solution.profit == pytest.approx(serial.profit, rel=1e-9)
        np.testing.assert_array_equal(r.solution.decision.levels, serial.decision.levels)


def test_thread_executor_matches_serial_and_isolates_failures():
    scenarios = _scenarios()
    with ThreadPoolExecutor(2) as pool:
        results = sweep(scenarios, executor=pool, progress=False)
    _check_against_serial(results, scenarios)
    table = sweep_table(results)
    assert table["ok"].tolist() == [True, True, True, False]


def test_default_process_pool():
    scenarios = _scenarios()
    results = sweep(list(scenarios.values()), progress=False)
    assert [r.key for r in results] == [0, 1, 2, 3]
    assert [r.ok for r in results] == [True, True, True, False]


def test_dask_cluster():
    distributed = pytest.importorskip("distributed", reason="dask.distributed not installed (extra [distributed])")
    scenarios = _scenarios()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        results = sweep(scenarios, executor=client, progress=False)
    _check_against_serial(results, scenarios)


def test_rejects_non_scenarios():
    with pytest.raises(ValueError, match="not a bundleopt.Scenario"):
        sweep({"a": 1}, progress=False)


def test_larger_threaded_sweep_is_identical_to_serial():
    """24 what-if scenarios (MILP and decomposed LP) on 4 threads: every solution equals its
    serial solve. Threads share Pyomo's standard-form compiler (the race fixed in
    highs_backend), so this would fail on any shared-state bug in the build/hand-off path."""
    scenarios = {}
    for seed in range(4):
        base = random_instance(8, 3, 3, n_bundles=2, seed=seed)
        pers = random_instance(8, 3, 3, n_bundles=2, personalised=True, seed=seed)
        for c in (2, 4):
            scenarios[(seed, "uniform", c)] = base.with_constraints(max_offers=c)
            scenarios[(seed, "margin", c)] = base.with_constraints(max_offers=c, min_margin_rate=0.35)
            scenarios[(seed, "personalised", c)] = pers.with_constraints(max_offers=c)
    with ThreadPoolExecutor(4) as pool:
        results = sweep(scenarios, executor=pool, progress=False)
    assert [r.key for r in results] == list(scenarios)
    methods = set()
    for r in results:
        assert r.ok, (r.key, r.error)
        serial = solve(scenarios[r.key], threads=1)
        np.testing.assert_array_equal(r.solution.decision.levels, serial.decision.levels)
        assert r.solution.profit == pytest.approx(serial.profit, rel=1e-12)
        methods.add(r.solution.method)
    assert {"milp", "lp-decomposed"} <= methods


def test_standard_form_compiler_initialised_at_import():
    """Regression: Pyomo sets these class attributes lazily in the first compiler's
    __init__, which raced across sweep threads; highs_backend sets them at import."""
    import subprocess
    import sys

    code = (
        "import bundleopt.optimize.highs_backend\n"
        "from pyomo.repn.plugins.standard_form import _LinearStandardFormCompiler_impl as i\n"
        "assert None not in (i._csr_matrix, i._csc_matrix, i._to_vector)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
