"""Screenshot a plan's report.html in headless Chromium, to check how it reads at any size.

    python benchmarks/report_screenshot.py results/plan --out /tmp/report.png --height 3000

Needs a ``chromium`` (or ``chromium-browser``, ``google-chrome``) on PATH (Debian:
``apt-get install -y chromium``); exit code 3 when there is none. Look at the PNG: the
summary (gain in parts, interval, top changes) and the assumptions box should be on
the first screen, whatever the number of offers.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a report folder written by bundleopt plan")
    parser.add_argument("--out", type=Path, default=Path("report.png"))
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=2000)
    args = parser.parse_args(argv)
    page = args.folder / "report.html"
    if not page.is_file():
        print(f"no report.html in {args.folder}", file=sys.stderr)
        return 2
    browser = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
    if browser is None:
        print("no Chromium on PATH (apt-get install -y chromium)", file=sys.stderr)
        return 3
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={args.out.resolve()}",
           f"--window-size={args.width},{args.height}", page.resolve().as_uri()]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
