"""JAX's persistent compilation cache for bundleopt's fits (set when a fit starts, not at import).

The first call of a jitted likelihood compiles it (seconds: 2.4-3.5 s for the MNL and
11.5-13.9 s for latent class were measured); with the cache on disk a second process
loads the compiled code instead. The folder is ``$BUNDLEOPT_JAX_CACHE`` when set (an empty
value or ``0`` turns the cache off), else ``$XDG_CACHE_HOME/bundleopt/jax`` or
``~/.cache/bundleopt/jax``. A user who configured ``jax_compilation_cache_dir`` keeps theirs.
"""

from __future__ import annotations

import os
from pathlib import Path

_done: list[bool] = []


def cache_dir(environ: dict[str, str] | None = None) -> Path | None:
    """The cache folder the settings above give (``None``: off)."""
    env = os.environ if environ is None else environ
    if "BUNDLEOPT_JAX_CACHE" in env:
        value = env["BUNDLEOPT_JAX_CACHE"].strip()
        return None if value in ("", "0") else Path(value).expanduser()
    base = Path(env["XDG_CACHE_HOME"]).expanduser() if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "bundleopt" / "jax"


def enable_compilation_cache(min_compile_secs: float = 0.2) -> Path | None:
    """Point JAX's persistent compilation cache at :func:`cache_dir` (once per process).

    Does nothing when the cache is off, when the user set ``jax_compilation_cache_dir``
    already, or when the folder cannot be created (the fit then just compiles).
    """
    if _done:
        return None
    _done.append(True)
    import jax

    if jax.config.jax_compilation_cache_dir:
        return Path(jax.config.jax_compilation_cache_dir)
    folder = cache_dir()
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", float(min_compile_secs))
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return folder
