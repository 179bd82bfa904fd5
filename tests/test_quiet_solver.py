"""solve(verbose=False) prints nothing at the file-descriptor level, the HiGHS banner
included (issue 13, item 14): HiGHS writes its banner from C on the first
``highspy.Highs()`` of a process, so the check runs in a fresh process."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bundleopt.optimize import solve
from bundleopt.optimize.instances import random_instance

_SOLVE_BOTH = (
    "from bundleopt.optimize import solve\n"
    "from bundleopt.optimize.instances import random_instance\n"
    "a = solve(random_instance(4, 2, 2, max_offers=2, seed=1), threads=1)\n"
    "b = solve(random_instance(4, 2, 2, personalised=True, seed=1), threads=1)\n"
    "import sys; sys.stderr.write(a.method + ' ' + b.method)\n"
)


def test_fresh_process_prints_no_banner() -> None:
    out = subprocess.run([sys.executable, "-c", _SOLVE_BOTH], capture_output=True, text=True,
                         check=True, timeout=300)
    assert out.stderr.split()[-2:] == ["milp", "lp-decomposed"]  # both paths ran
    assert out.stdout == ""


def test_verbose_still_logs() -> None:
    code = _SOLVE_BOTH.replace("threads=1)", "threads=1, verbose=True)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300)
    assert "HiGHS" in out.stdout


@pytest.mark.parametrize("personalised", [False, True])
def test_quiet_solve_in_process(capfd: pytest.CaptureFixture[str], personalised: bool) -> None:
    sol = solve(random_instance(4, 2, 2, max_offers=2, personalised=personalised, seed=2), threads=1)
    assert sol.method == ("lp-decomposed" if personalised else "milp")
    out, err = capfd.readouterr()
    assert out == "" and "HiGHS" not in err
