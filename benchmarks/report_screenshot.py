"""Screenshot a plan's report.html in headless Chromium, to check how it reads at any size.

    python benchmarks/report_screenshot.py results/plan --out /tmp/report.png --height 3000

Needs a ``chromium`` (or ``chromium-browser``, ``google-chrome``) on PATH (Debian:
``apt-get install -y chromium``); exit code 3 when there is none. Look at the PNG: the
summary (how far to trust the plan, what to change, the gain in parts, the interval),
the assumptions box and the top changes should come first, whatever the number of
offers. It also prints the page's width as the browser lays it out
(:func:`page_width`): wider than the window means something (a table, a long line)
makes the reader scroll sideways; exit code 4 then.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def find_browser() -> str | None:
    """The first headless-capable Chromium on PATH, or None."""
    return next((b for b in BROWSERS if shutil.which(b)), None)


def _run(browser: str, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args]
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=timeout)


def screenshot(page: Path, out: Path, width: int = 1280, height: int = 2000, browser: str | None = None) -> Path:
    """Render ``page`` in a ``width`` x ``height`` window and save the PNG to ``out``."""
    browser = browser or find_browser()
    if browser is None:
        raise FileNotFoundError("no Chromium on PATH (apt-get install -y chromium)")
    _run(browser, [f"--screenshot={out.resolve()}", f"--window-size={width},{height}", page.resolve().as_uri()])
    return out


def page_width(page: Path, width: int = 1280, browser: str | None = None) -> int:
    """The laid-out width of ``page`` in a ``width``-pixel window (``scrollWidth``, CSS px).

    A copy of the page with a one-line script (writing the width into the DOM) is
    opened next to it, so relative links and images resolve; the copy is removed after.
    """
    browser = browser or find_browser()
    if browser is None:
        raise FileNotFoundError("no Chromium on PATH (apt-get install -y chromium)")
    probe = ('<script>document.body.setAttribute("data-scroll-width",'
             "document.documentElement.scrollWidth)</script>")
    text = page.read_text(encoding="utf-8")
    text = text.replace("</body>", probe + "</body>") if "</body>" in text else text + probe
    with tempfile.NamedTemporaryFile("w", suffix=".html", dir=page.parent, delete=False,
                                     encoding="utf-8") as fh:
        fh.write(text)
        copy = Path(fh.name)
    try:
        dom = _run(browser, [f"--window-size={width},1000", "--dump-dom", copy.as_uri()]).stdout
    finally:
        copy.unlink()
    found = re.search(r'data-scroll-width="(\d+)"', dom)
    if found is None:
        raise RuntimeError("the browser did not report the page width")
    return int(found.group(1))


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
    browser = find_browser()
    if browser is None:
        print("no Chromium on PATH (apt-get install -y chromium)", file=sys.stderr)
        return 3
    screenshot(page, args.out, args.width, args.height, browser)
    print(f"wrote {args.out}")
    laid_out = page_width(page, args.width, browser)
    print(f"page width {laid_out} px in a {args.width} px window")
    return 4 if laid_out > args.width else 0


if __name__ == "__main__":
    sys.exit(main())
