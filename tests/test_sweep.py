"""sweep: many scenarios in parallel, identical to serial solves, failures isolated."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import fields

import numpy as np
import pytest

from bundleopt import solve
from bundleopt.optimize.instances import random_instance
from bundleopt.scenario import Scenario
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
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # worker processes start here: no fallback to threads
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


# ------------------------------------------------------------------ dead workers
class _ExitsInWorker(Scenario):
    """A scenario whose worker process ends as soon as it receives it (unpickling it
    calls os._exit(3)), as a crash or os._exit inside a solve would."""

    def __reduce__(self):
        return (os._exit, (3,))


class _KilledInWorker(Scenario):
    """A scenario whose worker process is killed by SIGKILL (as the OOM killer does)."""

    def __reduce__(self):
        return (signal.raise_signal, (signal.SIGKILL,))


def _copy_as(cls, scenario):
    return cls(**{f.name: getattr(scenario, f.name) for f in fields(scenario)})


def test_dead_worker_fails_only_its_scenario():
    """Issue 13, item 8: a worker that died made every scenario BrokenProcessPool."""
    base = random_instance(6, 2, 2, max_offers=3, n_bundles=1, seed=3)
    unpicklable = Scenario.from_arrays(np.ones((1, 2, 1)), [1.0], [[2.0], [3.0]], [1.0, 1.0], [1.0],
                                       offer_ids=[lambda: 0, lambda: 1])
    scenarios = {"good": base, "exit": _copy_as(_ExitsInWorker, base), "unpicklable": unpicklable,
                 "sigkill": _copy_as(_KilledInWorker, base), "good C=1": base.with_constraints(max_offers=1)}
    results = {r.key: r for r in sweep(scenarios, progress=False, workers=2)}
    assert "pickle" in results["unpicklable"].error.lower()  # never sent; its worker lives on
    assert not results["exit"].ok and results["exit"].error.startswith("WorkerDied: ")
    assert "exited with code 3" in results["exit"].error
    assert "killed by SIGKILL (as the out-of-memory killer does)" in results["sigkill"].error
    for key in ("good", "good C=1"):
        assert results[key].ok, results[key].error
        serial = solve(scenarios[key], threads=1)
        assert results[key].solution.profit == pytest.approx(serial.profit, rel=1e-9)


def test_given_process_pool_that_breaks_says_so():
    """With the user's own ProcessPoolExecutor a dead worker still breaks that pool; the
    error says the scenario may not be the culprit and how to find the one that is."""
    base = random_instance(4, 2, 2, seed=0)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = sweep([_copy_as(_ExitsInWorker, base)], executor=pool, progress=False)
    assert results[0].error.startswith("BrokenProcessPool")
    assert "sweep's default executor reports only the scenario that did" in results[0].error


_SCRIPT = """
from bundleopt.optimize.instances import random_instance
from bundleopt import sweep
print("top-level ran")
def main():
    return [r.ok for r in sweep([random_instance(4, 2, 2, seed=0)] * 2, progress=False, workers=2)]
print(main())
"""


def _run_script(args, **kwargs):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, check=True,
                          timeout=300, env=env, **kwargs)


def test_script_from_stdin_falls_back_to_threads():
    """spawn cannot import a main script read from standard input: every scenario came
    back BrokenProcessPool; now the sweep runs on threads with a warning."""
    out = _run_script(["-"], input=_SCRIPT)
    assert out.stdout.splitlines() == ["top-level ran", "[True, True]"]
    assert "RuntimeWarning: sweep: worker processes cannot start here" in out.stderr
    assert "standard input" in out.stderr


def test_unguarded_script_falls_back_to_threads(tmp_path):
    """Without `if __name__ == "__main__":` each spawned worker would run the script
    again (and die): threads, with a warning, and the script's top level runs once."""
    script = tmp_path / "unguarded.py"
    script.write_text(_SCRIPT)
    out = _run_script([str(script)], cwd=tmp_path)
    assert out.stdout.splitlines() == ["top-level ran", "[True, True]"]
    assert 'outside `if __name__ == "__main__":`' in out.stderr


@pytest.mark.parametrize(("kwargs", "match"), [({"workers": 0}, "workers must be at least 1"),
                                                ({"workers": True}, "workers must be a whole number"),
                                                ({"progress": "no"}, "progress must be True or False"),
                                                ({"time_limt": 10}, "sweep: got an unexpected keyword argument 'time_limt'"),
                                                ({"time_limit": "10"}, "time_limit must be a number")])
def test_bad_sweep_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sweep([random_instance(4, 2, 2, seed=0)], **kwargs)
