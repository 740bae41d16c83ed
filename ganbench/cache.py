"""Where ganbench keeps files it derives or fetches: ``$GANBENCH_CACHE`` or ``~/.cache/ganbench``."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """The ganbench cache folder (not created here: callers create the sub-folder they write)."""
    env = os.environ.get("GANBENCH_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "ganbench"
