"""sweep: many scenarios in parallel, identical to serial solves, failures isolated."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from bundleopt import solve
from bundleopt.optimize.instances import random_instance
from bundleopt.sweep import sweep, sweep_table


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
