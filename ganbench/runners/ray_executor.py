"""The ``ray`` executor: each run is a Ray task, on a local Ray instance or on a cluster.

Ray is an optional extra: this module imports it only when the executor is called, so the registry
knows the name without it. Fault tolerance is layered, and the driver holds no state that matters:

- a run writes its own record, atomically, into the (shared) results folder, so a lost driver
  loses nothing that finished, and re-running the grid command skips what is done;
- a task whose worker process or node dies is retried by Ray (``max_retries``); the retried run
  resumes from ``checkpoints/last.pt``;
- exceptions are never retried (``retry_exceptions=False``): ``run_one`` turns a bug into a failed
  record and a divergence into a diverged one, reported once instead of re-run forever.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ganbench.config import RunConfig, check_processes
from ganbench.errors import ConfigError, GanbenchError
from ganbench.io import read_json, write_json_atomic
from ganbench.records import new_record, write_record
from ganbench.registries import EXECUTORS
from ganbench.runners.run import is_done, run_dir_for, run_one

INSTALL_HINT = "pip install 'ganbench[ray]'"
ATTEMPTS_FILE = "attempts.json"  # beside record.json: one entry per task attempt (pid, node, time)
OBJECT_STORE_BYTES = 256 * 1024**2  # tasks exchange small dicts only; leave /dev/shm to training


def require_ray() -> Any:
    """Import ray, or say how to install it."""
    try:
        import ray
    except ImportError as e:
        raise ConfigError(
            f"--executor ray needs Ray, which is not installed ({e}); install it with: {INSTALL_HINT} "
            "(or use the default --executor local, which needs nothing more)"
        ) from e
    return ray


def run_resources(cfg: RunConfig, cpus: float | None = None, gpus: float | None = None) -> dict[str, float]:
    """Ray resources of one run: the ``--cpus-per-run`` / ``--gpus-per-run`` flags when given, else
    the run's ``runtime.cpus`` (unset: 1) / ``runtime.gpus``."""
    num_cpus = float(cpus if cpus is not None else cfg.runtime.cpus or 1.0)
    num_gpus = float(cfg.runtime.gpus if gpus is None else gpus)
    where = f"run {cfg.run_id}"
    if num_cpus <= 0:
        raise ConfigError(f"{where}: runtime.cpus (--cpus-per-run) must be > 0, got {num_cpus:g}")
    # Ray's own rule: a GPU request is a fraction below 1 (runs sharing a GPU) or a whole number.
    if num_gpus < 0 or (num_gpus > 1 and not num_gpus.is_integer()):
        raise ConfigError(
            f"{where}: runtime.gpus (--gpus-per-run) must be a fraction in [0, 1) or a whole number, "
            f"got {num_gpus:g}"
        )
    # the run's processes (runtime.processes, default one per GPU) must fit the GPUs reserved
    check_processes(dataclasses.replace(cfg, runtime=dataclasses.replace(cfg.runtime, gpus=num_gpus)), where)
    return {"num_cpus": num_cpus, "num_gpus": num_gpus}


# --- in the worker ---------------------------------------------------------------------------------


def read_attempts(run_dir: Path) -> list[dict[str, Any]]:
    """The task attempts noted in ``run_dir/attempts.json`` (empty when there is none yet)."""
    path = Path(run_dir) / ATTEMPTS_FILE
    try:
        data = read_json(path)
    except (OSError, GanbenchError):  # absent, or caught mid-replace on a filesystem without atomic rename
        return []
    return list(data.get("attempts", [])) if isinstance(data, dict) else []


def _note_attempt(run_dir: Path, session: str) -> int:
    """Append this attempt to ``attempts.json``; returns its number within the driver's session.
    A retry after a worker death lands here again, which is how the driver sees retries."""
    attempts = read_attempts(run_dir)
    attempts.append(
        {"session": session, "pid": os.getpid(), "node": socket.gethostname(), "started": time.time()}
    )
    write_json_atomic(run_dir / ATTEMPTS_FILE, {"attempts": attempts})
    return sum(a.get("session") == session for a in attempts)


def ray_task(cfg: RunConfig, results_dir: str, session: str) -> dict:
    """The body of a Ray task: note the attempt, then train or resume the run with ``run_one``."""
    run_dir = run_dir_for(cfg, results_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    attempt = _note_attempt(run_dir, session)
    # the session makes a retried task take over the run lock its dead attempt left (runners/lock.py)
    res = run_one(cfg, results_dir, progress=False, session=session)
    return {**res, "attempt": attempt, "node": socket.gethostname(), "pid": os.getpid()}


def task_config(cfg: RunConfig, resources: dict[str, float]) -> RunConfig:
    """The run as its task trains it: ``runtime.cpus`` / ``runtime.gpus`` = what it reserved (its
    thread default and its number of processes follow them), and pinned to the CPU when it reserved
    no GPU. (runtime is not in the run id.) A run of several processes is launched with torchrun
    by ``run_one`` (runners/launch.py), on the GPUs Ray shows the task."""
    # gpus too: the default of runtime.processes is one per GPU reserved (--gpus-per-run included)
    runtime = dataclasses.replace(cfg.runtime, cpus=resources["num_cpus"], gpus=resources["num_gpus"])
    # Ray hides no GPU from a task that reserved none: "auto" would train on other runs' GPUs.
    if resources["num_gpus"] == 0 and runtime.device == "auto":
        runtime = dataclasses.replace(runtime, device="cpu")
    return dataclasses.replace(cfg, runtime=runtime)


# --- in the driver ---------------------------------------------------------------------------------


def _say(msg: str) -> None:
    from tqdm.auto import tqdm

    tqdm.write(msg, file=sys.stdout)  # prints above a live progress bar instead of through it


def _start_ray(ray: Any, address: str | None, workers: int, cpus_per_run: float) -> bool:
    """Connect to ``address``, or start a local instance sized for ``workers`` runs at a time.
    Returns True when this call started (and so must stop) the instance."""
    if ray.is_initialized():  # e.g. a test or a notebook that called ray.init itself
        return False
    common = {"log_to_driver": False, "logging_level": logging.WARNING}  # each run logs to its run.log
    if address:
        ray.init(address=address, **common)
        return False
    ray.init(
        address="local",  # a fresh instance, never a stray one found on this machine
        num_cpus=max(1.0, workers * cpus_per_run),
        include_dashboard=False,
        object_store_memory=OBJECT_STORE_BYTES,
        **common,
    )
    return True


def _lost(cfg: RunConfig, results_dir: Path, error: str) -> dict[str, Any]:
    """A run whose task could not complete (its worker kept dying): leave a failed record that says
    so, unless the run managed to finish after all; the next grid command retries it."""
    if not is_done(cfg, results_dir):
        try:
            write_record(
                run_dir_for(cfg, results_dir),
                new_record(cfg, "failed", error=error, provenance={"written_by": "ray driver"}),
            )
        except OSError as e:  # the driver may not see the shared folder; the report still has it
            error = f"{error} (and the driver could not write the record: {e})"
    return {"run_id": cfg.run_id, "status": "failed", "error": error, "wall_s": 0.0}


@EXECUTORS.register("ray")
def run_ray(
    runs: list[RunConfig],
    results_dir: str | Path,
    workers: int = 1,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    address: str | None = None,
    retries: int = 2,
    cpus: float | None = None,
    gpus: float | None = None,
    on_progress: Callable[[dict[str, int]], None] | None = None,
    poll_s: float = 1.0,
) -> list[dict[str, Any]]:
    """Run configs as Ray tasks; returns one summary per run, in completion order.

    ``address``: a Ray cluster to join (``auto``, ``HOST:PORT`` or ``ray://HOST:PORT``); None starts
    a local instance with room for ``workers`` runs at a time. ``retries``: how often a run whose
    worker died is re-run (it resumes from its checkpoint). ``cpus`` / ``gpus``: resources of every
    run, overriding ``runtime.cpus`` / ``runtime.gpus``. ``on_progress`` gets
    ``{"running": r, "queued": q, "retried": k}`` about every ``poll_s`` seconds.
    """
    if retries < 0:
        raise ConfigError(f"--retries must be >= 0, got {retries}")
    if address and workers != 1:
        raise ConfigError(
            f"--workers {workers} does not apply with --address: the cluster's resources decide how many "
            "runs go at once (set --cpus-per-run / --gpus-per-run instead)"
        )
    if not runs:
        return []
    resources = {cfg.run_id: run_resources(cfg, cpus, gpus) for cfg in runs}  # errors before Ray starts
    ray = require_ray()
    # Workers may run in another folder (or on another node): hand them an absolute path.
    results_dir = Path(results_dir).resolve()
    owned = _start_ray(ray, address, workers, max(r["num_cpus"] for r in resources.values()))
    session = uuid.uuid4().hex
    task = ray.remote(ray_task)
    pending: dict[Any, RunConfig] = {}
    results: list[dict[str, Any]] = []
    try:
        if not any(r["num_gpus"] for r in resources.values()) and ray.cluster_resources().get("GPU", 0) > 0:
            _say("note: the cluster has GPUs but every run reserves none (--gpus-per-run): runs train on CPU")
        for cfg in runs:
            res = resources[cfg.run_id]
            ref = task.options(
                name=f"ganbench:{cfg.run_id}",
                max_retries=retries,  # reruns after the worker process or its node died
                retry_exceptions=False,  # never after an exception: that is a bug, retrying won't fix it
                **res,
            ).remote(task_config(cfg, res), str(results_dir), session)
            pending[ref] = cfg
        seen_attempts: dict[str, int] = {}
        next_poll = 0.0
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=poll_s)
            for ref in ready:
                res = _collect(ray, ref, pending.pop(ref), results_dir, retries)
                results.append(res)
                if on_result:
                    on_result(res)
            if time.monotonic() >= next_poll:
                next_poll = time.monotonic() + poll_s
                state = _poll(pending.values(), results_dir, session, seen_attempts, retries)
                if on_progress:
                    on_progress(state)
    except BaseException:
        # Ctrl-C or an error in the driver: stop the runs (their checkpoints stay) rather than leave
        # them to a cluster that will drop them anyway once this driver is gone.
        for ref in pending:
            try:
                ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - best effort; the original error is what matters
                pass
        raise
    finally:
        if owned:
            ray.shutdown()
    return results


def _collect(ray: Any, ref: Any, cfg: RunConfig, results_dir: Path, retries: int) -> dict[str, Any]:
    """The summary of a finished task, also when it ended in an error."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as e:  # an exception outside run_one's own guard
        return {"run_id": cfg.run_id, "status": "failed", "error": str(e.cause or e), "wall_s": 0.0}
    except ray.exceptions.RayError as e:  # the worker (or its node) died more than `retries` times
        return _lost(
            cfg, results_dir, f"worker died {retries + 1} time(s), gave up ({type(e).__name__}: {e})"
        )


def _poll(
    pending: Any, results_dir: Path, session: str, seen: dict[str, int], retries: int
) -> dict[str, int]:
    """Running / queued counts from the runs' ``attempts.json`` (a started task notes itself
    there), and a line for each retry seen since the last poll."""
    running = retried = 0
    pending = list(pending)
    for cfg in pending:
        attempts = [a for a in read_attempts(run_dir_for(cfg, results_dir)) if a.get("session") == session]
        if not attempts:
            continue
        running += 1
        if len(attempts) > 1:
            retried += 1
        if len(attempts) > seen.get(cfg.run_id, 1):
            _say(
                f"  retry: {cfg.run_id}: worker died, attempt {len(attempts)} of {retries + 1} "
                f"(pid {attempts[-1].get('pid')} on {attempts[-1].get('node')}) resumes from its checkpoint"
            )
        seen[cfg.run_id] = len(attempts)
    return {"running": running, "queued": len(pending) - running, "retried": retried}
