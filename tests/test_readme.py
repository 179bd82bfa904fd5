"""The README's Python example runs and gives the brute-force optimum."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs_and_is_optimal():
    block = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)[0]
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    bo, scenario, solution = namespace["bo"], namespace["scenario"], namespace["solution"]
    _, best = bo.brute_force(scenario)
    assert abs(solution.profit - best.profit) <= 1e-6 * abs(best.profit)
    assert solution.method == "lp-decomposed"
