"""Running one config into its folder: what every executor calls, in whatever process it has."""

from __future__ import annotations

import contextlib
import os
import time
import traceback
from pathlib import Path
from typing import Any

from ganbench.config import RunConfig
from ganbench.records import new_record, read_record, write_record
from ganbench.schema import from_dict

LOG_FILE = "run.log"
DONE_STATUSES = ("finished", "diverged")  # a grid does not redo these; "failed" is retried


def run_dir_for(cfg: RunConfig, results_dir: str | Path) -> Path:
    return Path(results_dir) / cfg.run_id


def is_done(cfg: RunConfig, results_dir: str | Path) -> bool:
    """True when the run has a finished or diverged record (a corrupt record is set aside)."""
    rec = read_record(run_dir_for(cfg, results_dir), quarantine=True)
    return rec is not None and rec.get("status") in DONE_STATUSES


def run_one(
    cfg_dict: dict[str, Any], results_dir: str, progress: bool = False, threads: int | None = None
) -> dict:
    """Train and evaluate one run (resuming from its checkpoint), write its record, return a summary.

    Takes the config as a plain dict so it crosses process boundaries without pickling classes.
    Any exception becomes a ``failed`` record with the traceback: one bad run never stops a grid.
    """
    import torch

    from ganbench.training.trainer import Trainer

    cfg = from_dict(RunConfig, cfg_dict, "run config").validate()
    run_dir = run_dir_for(cfg, results_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if threads:
        torch.set_num_threads(threads)
    t0 = time.perf_counter()
    log_path = run_dir / LOG_FILE
    with (
        open(log_path, "a") as log,
        contextlib.redirect_stderr(log) if not progress else contextlib.nullcontext(),
    ):
        log.write(f"[{time.strftime('%H:%M:%S')}] start {cfg.run_id} pid={os.getpid()}\n")
        log.flush()
        try:
            record = Trainer(cfg, run_dir, progress=progress).run()
            status, error = record["status"], record.get("error")
        except Exception as e:  # noqa: BLE001 - the record says what went wrong
            status, error = "failed", f"{type(e).__name__}: {e}"
            log.write(traceback.format_exc())
            write_record(
                run_dir,
                new_record(cfg, "failed", error=error, provenance={"traceback": traceback.format_exc()}),
            )
        log.write(
            f"[{time.strftime('%H:%M:%S')}] {status} in {time.perf_counter() - t0:.1f}s {error or ''}\n"
        )
    return {"run_id": cfg.run_id, "status": status, "error": error, "wall_s": time.perf_counter() - t0}
