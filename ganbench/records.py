"""Run records: one JSON file per run, written atomically. The leaderboard reads only these.

A record holds: config (and run id / config hash), status (finished | diverged | failed), metrics,
history (per logged step), compute (wall time, steps/s, device), provenance (versions, seeds,
evaluation seed and sample count, dataset, extractor), and the error when there is one.
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path
from typing import Any

from ganbench import __version__
from ganbench.errors import GanbenchError
from ganbench.io import read_json, write_json_atomic

RECORD_FILE = "record.json"
SCHEMA_VERSION = 1
STATUSES = ("finished", "diverged", "failed")


def versions() -> dict[str, str]:
    # imported on use: records are read on the CLI's light paths (leaderboard), which need no torch
    import numpy
    import torch

    out = {
        "ganbench": __version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
    }
    try:
        import torchvision

        out["torchvision"] = torchvision.__version__
    except ImportError:
        pass
    return out


def new_record(cfg: Any, status: str, **sections: Any) -> dict[str, Any]:
    if status not in STATUSES:
        raise ValueError(f"status {status!r}; valid: {STATUSES}")
    record = {
        "schema_version": SCHEMA_VERSION,
        "run_id": cfg.run_id,
        "config_hash": cfg.config_hash,
        "status": status,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": cfg.to_dict(),
        "metrics": {},
        "history": [],
        "compute": {},
        "provenance": {"versions": versions(), "seed": cfg.seed},
        "error": None,
    }
    for key, value in sections.items():
        if key == "provenance":
            record["provenance"].update(value)
        else:
            record[key] = value
    return record


def write_record(run_dir: str | Path, record: dict[str, Any]) -> Path:
    path = Path(run_dir) / RECORD_FILE
    write_json_atomic(path, record)
    return path


def read_record(run_dir: str | Path, quarantine: bool = False) -> dict[str, Any] | None:
    """The run's record, or None when there is none.

    A truncated/corrupt record raises, or with ``quarantine=True`` is renamed aside
    (``record.json.corrupt-<time>``, kept for inspection) and None is returned so the run redoes it.
    """
    path = Path(run_dir) / RECORD_FILE
    if not path.exists():
        return None
    try:
        record = read_json(path)
        if not isinstance(record, dict) or record.get("status") not in STATUSES or "config" not in record:
            raise GanbenchError(f"{path}: not a ganbench run record (no status/config)")
        return record
    except GanbenchError:
        if not quarantine:
            raise
        set_aside(path)
        return None


def set_aside(path: str | Path) -> Path:
    """Rename a truncated/corrupt file to ``<name>.corrupt-<time>`` beside it (kept for inspection,
    never deleted) and return the new path; records and checkpoints are set aside alike."""
    path = Path(path)
    aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
    n = 1
    while aside.exists():  # twice in one second: keep both
        aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
        n += 1
    path.rename(aside)
    return aside


def iter_records(results_dir: str | Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every readable record under ``results_dir`` (recursively), with its path; corrupt ones are
    reported on stderr and skipped, never deleted."""
    found = []
    for path in sorted(Path(results_dir).rglob(RECORD_FILE)):
        try:
            rec = read_record(path.parent)
        except GanbenchError as e:
            print(f"warning: skipping {e}", file=sys.stderr)
            continue
        if rec is not None:
            found.append((path, rec))
    return found
