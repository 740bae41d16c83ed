"""Running one config into its folder: what every executor calls, in whatever process it has."""

from __future__ import annotations

import contextlib
import os
import socket
import time
import traceback
from pathlib import Path

from ganbench.config import RunConfig
from ganbench.errors import ConfigError
from ganbench.io import folder_write_problem
from ganbench.records import new_record, read_record, write_record
from ganbench.runners.launch import launch
from ganbench.runners.lock import RunLock, RunLockedError, describe
from ganbench.training.trainers import trainer_for

LOG_FILE = "run.log"
DONE_STATUSES = ("finished", "diverged")  # a grid does not redo these; "failed" is retried


def run_dir_for(cfg: RunConfig, results_dir: str | Path) -> Path:
    return Path(results_dir) / cfg.run_id


def is_done(cfg: RunConfig, results_dir: str | Path) -> bool:
    """True when the run has a finished or diverged record (a corrupt record is set aside)."""
    rec = read_record(run_dir_for(cfg, results_dir), quarantine=True)
    return rec is not None and rec.get("status") in DONE_STATUSES


def check_results_dir(results_dir: str | Path, flag: str = "--results") -> Path:
    """Refuse, before any work, a results folder that is a file or cannot be written (the folder
    itself, or the nearest existing folder above it when it does not exist yet)."""
    path = Path(results_dir)
    existing, problem = folder_write_problem(path)
    if problem == "file":
        what = "the results folder" if existing == path else f"{existing}, above the results folder,"
        raise ConfigError(f"{flag} {path}: {what} is a file, not a folder; choose a folder")
    if problem is not None:  # read-only file system, permissions: the real cause, in one line
        raise ConfigError(f"{flag} {path}: cannot write in {existing} ({problem}); choose a writable folder")
    return path


def run_one(
    cfg: RunConfig, results_dir: str | Path, progress: bool = False, session: str | None = None
) -> dict:
    """Train and evaluate one (validated) run, resuming from its checkpoint; write its record and
    return a summary. Any exception becomes a ``failed`` record with the traceback: one bad run
    never stops a grid.

    The run's lock is held throughout (``session``: the driver's, see runners/lock.py). A run whose
    lock another live driver holds is not touched: the summary's status is ``held`` (with the
    ``holder``), and the driver comes back to it. A run found done once the lock is ours (another
    driver finished it meanwhile) is not trained again: status ``skipped``."""
    run_dir = run_dir_for(cfg, results_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    log_path = run_dir / LOG_FILE
    lock = RunLock(run_dir, session)
    try:
        lock.acquire()
    except RunLockedError as e:
        with open(log_path, "a") as log:
            log.write(
                f"[{time.strftime('%H:%M:%S')}] held by {describe(e.holder)}: "
                f"pid {os.getpid()} on {socket.gethostname()} leaves it to that driver\n"
            )
        return _summary(cfg, "held", None, t0, holder=e.holder)
    try:
        if is_done(cfg, results_dir):
            return _summary(cfg, "skipped", None, t0)
        return _train(cfg, run_dir, log_path, progress, t0)
    finally:
        lock.release()


def _summary(cfg: RunConfig, status: str, error: str | None, t0: float, **extra: object) -> dict:
    wall = time.perf_counter() - t0
    return {"run_id": cfg.run_id, "status": status, "error": error, "wall_s": wall, **extra}


def _train(cfg: RunConfig, run_dir: Path, log_path: Path, progress: bool, t0: float) -> dict:
    with (
        open(log_path, "a") as log,
        contextlib.redirect_stderr(log) if not progress else contextlib.nullcontext(),
    ):
        log.write(f"[{time.strftime('%H:%M:%S')}] start {cfg.run_id} pid={os.getpid()}\n")
        log.flush()
        try:
            if cfg.runtime.world_size > 1:  # several processes: torchrun, its ranks write the record
                status, error = launch(cfg, run_dir, log)
            else:
                record = trainer_for(cfg)(cfg, run_dir, progress=progress).run()
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
    return _summary(cfg, status, error, t0)
