"""The grid driver's loop: hand the runs to the executor, then come back to those another driver
held (runners/lock.py) until each is done here or there. Two drivers on one results folder thus
share the work: each run is trained once, and both end when every run has its record."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ganbench.config import RunConfig
from ganbench.runners.lock import LOCK_FILE, is_stale, read_holder
from ganbench.runners.run import is_done, run_dir_for

POLL_S = 2.0


def lock_free(cfg: RunConfig, results_dir: Path) -> bool:
    """Whether the run's lock is gone or stale (its holder is gone): worth submitting again."""
    path = run_dir_for(cfg, results_dir) / LOCK_FILE
    holder = read_holder(path)
    if holder is None:
        return True
    try:
        return is_stale(holder, path.stat().st_mtime)
    except FileNotFoundError:
        return True


def run_grid(
    executor: Callable[..., Any],
    runs: list[RunConfig],
    results_dir: str | Path,
    on_result: Callable[[dict[str, Any]], None],
    on_wait: Callable[[list[RunConfig]], None] | None = None,
    poll_s: float = POLL_S,
    **options: Any,
) -> None:
    """Run ``runs`` with ``executor``; a run another driver holds (status ``held``) is waited for and
    submitted again once its lock is free, unless it is done by then (then it is reported with status
    ``skipped``). ``on_wait`` gets the runs waited for, each time the executor comes back with some."""
    results_dir = Path(results_dir)
    todo, waiting = list(runs), []
    while todo or waiting:
        if todo:
            held = _submit(executor, todo, results_dir, on_result, options)
            if held and on_wait:
                on_wait(held)
            todo, waiting = [], waiting + held
        for cfg in list(waiting):
            if is_done(cfg, results_dir):  # the other driver finished it
                waiting.remove(cfg)
                on_result({"run_id": cfg.run_id, "status": "skipped", "error": None, "wall_s": 0.0})
            elif lock_free(cfg, results_dir):  # released unfinished, or its holder died: ours now
                waiting.remove(cfg)
                todo.append(cfg)
        if waiting and not todo:
            time.sleep(poll_s)


def _submit(
    executor: Callable[..., Any],
    runs: list[RunConfig],
    results_dir: Path,
    on_result: Callable[[dict[str, Any]], None],
    options: dict[str, Any],
) -> list[RunConfig]:
    """One executor call over ``runs``; returns the runs another driver held."""
    by_id = {cfg.run_id: cfg for cfg in runs}
    held: list[RunConfig] = []

    def collect(res: dict[str, Any]) -> None:
        if res["status"] == "held":
            held.append(by_id[res["run_id"]])
        on_result(res)

    executor(runs, results_dir, on_result=collect, **options)
    return held
