"""The default executor: a pool of local processes (no extra dependency)."""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from ganbench.config import RunConfig
from ganbench.registries import EXECUTORS
from ganbench.runners.run import run_one
from ganbench.training.device import machine_cpus


def _exit_with_parent(parent: int) -> None:
    """Pool initializer: end this worker when the driver dies (a killed driver must not leave
    workers training on; its runs resume from their checkpoints on the next grid call). Ctrl-C is
    the driver's alone to handle (``_stop``): the terminal sends it to the workers too."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(2)

    threading.Thread(target=watch, daemon=True, name="ganbench-parent-watch").start()


def with_cpu_share(cfg: RunConfig, workers: int) -> RunConfig:
    """The run with its share of this machine's cores (``runtime.cpus``, unless the recipe sets it):
    ``workers`` runs at a time split the cores, and the run's thread default follows its share."""
    if cfg.runtime.cpus is not None:
        return cfg
    share = float(max(1, machine_cpus() // max(1, workers)))
    return dataclasses.replace(cfg, runtime=dataclasses.replace(cfg.runtime, cpus=share))


@EXECUTORS.register("local")
def run_local(
    runs: list[RunConfig],
    results_dir: str | Path,
    workers: int = 1,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run configs on ``workers`` processes (in this process when workers == 1).

    Its options are its keyword arguments: ``ganbench grid`` refuses the flags of other executors."""
    runs = [with_cpu_share(cfg, workers) for cfg in runs]
    results = []
    if workers <= 1:
        for cfg in runs:
            res = run_one(cfg, results_dir)
            results.append(res)
            if on_result:
                on_result(res)
        return results
    # spawn, not fork: forking a process that already holds torch's thread pools can deadlock.
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=mp.get_context("spawn"),
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
    )
    try:
        futures = {pool.submit(run_one, cfg, str(results_dir)): cfg for cfg in runs}
        for fut in as_completed(futures):
            cfg = futures[fut]
            try:
                res = fut.result()
            except Exception as e:  # the worker process itself died
                res = {"run_id": cfg.run_id, "status": "failed", "error": f"worker died: {e}", "wall_s": 0.0}
            results.append(res)
            if on_result:
                on_result(res)
    except BaseException:  # Ctrl-C (or any error here): stop now, not after every queued run
        _stop(pool)
        raise
    pool.shutdown()
    return results


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel the runs not started and end the running ones. A plain ``shutdown`` (what leaving
    ``with pool`` does) would wait for every queued run of the grid to train. Killing a worker is
    safe: checkpoints and records are written atomically, its run's lock goes stale with its pid,
    and the run resumes from its last checkpoint on the next call."""
    terminate = getattr(pool, "terminate_workers", None)  # Python >= 3.14
    if terminate is not None:
        terminate()
        return
    # before 3.14 the worker processes are reachable only here, and shutdown() forgets them
    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in workers:
        proc.terminate()
    for proc in workers:
        proc.join(timeout=10)
