"""One run on several processes: the executors launch it with torchrun.

A run whose ``runtime.world_size`` (``runtime.processes``, or one per whole GPU reserved) is above 1
is trained by ``python -m torch.distributed.run --standalone --nproc_per_node N -m
ganbench.runners.rank CONFIG RESULTS`` (torchrun as a module of this interpreter), started by
:func:`launch` from :func:`ganbench.runners.run.run_one`: the local and the Ray executor run it the
same way. The ranks inherit the environment, so on Ray they see the GPUs the task reserved
(``CUDA_VISIBLE_DEVICES``) and rank r trains on the r-th of them. The executor's process keeps the
run lock; the ranks take none. The outcome is read back from the record rank 0 wrote; a launch that
exits non-zero without one gives a ``failed`` record naming the run and the exit code. The
checkpoint stays, so the next attempt (a Ray retry, the next grid command) resumes from it.
"""

from __future__ import annotations

import ctypes
import dataclasses
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

from ganbench.config import RunConfig
from ganbench.errors import ConfigError
from ganbench.io import write_json_atomic
from ganbench.records import new_record, read_record, write_record
from ganbench.training.trainers import trainer_for

CONFIG_FILE = "launch-config.json"  # the run's config as the ranks load it (beside record.json)
LOG_TAIL = 2000  # characters of the ranks' output quoted in a failed launch's record


def command(cfg: RunConfig, config_file: Path, results_dir: Path) -> list[str]:
    """The torchrun command line of the run (``--standalone``: a rendezvous on a free local port,
    so runs launched side by side on one node do not collide)."""
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={cfg.runtime.world_size}",
        "-m",
        "ganbench.runners.rank",
        str(config_file),
        str(results_dir),
    ]


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when the executor's process dies (a killed Ray worker
    must not leave ranks training while its retry starts new ones). Linux only; a no-op elsewhere."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def launch(cfg: RunConfig, run_dir: Path, log: IO[str]) -> tuple[str, str | None]:
    """Train ``cfg`` on its ``runtime.world_size`` processes, their output appended to ``log``;
    returns (status, error) of the record they leave. The caller holds the run lock."""
    n = cfg.runtime.world_size
    trainer_cls = trainer_for(cfg)
    if not getattr(trainer_cls, "data_parallel", False):
        raise ConfigError(
            f"run {cfg.run_id}: runtime.processes={n}, but model.name={cfg.model.name!r} is trained by "
            f"{trainer_cls.__name__}, which runs in one process only; set runtime.processes: 1"
        )
    if cfg.runtime.cpus is not None:  # the run's CPUs are shared by its ranks (their thread default)
        cfg = dataclasses.replace(
            cfg, runtime=dataclasses.replace(cfg.runtime, cpus=max(1.0, cfg.runtime.cpus / n))
        )
    config_file = run_dir / CONFIG_FILE
    write_json_atomic(config_file, cfg.to_dict())  # a rank never reads half a file
    cmd = command(cfg, config_file, run_dir.parent.resolve())
    log.write(f"launch: {' '.join(cmd)}\n")
    log.flush()
    before = read_record(run_dir)  # a failed record of an earlier attempt is not this launch's
    proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent, check=False)
    record = read_record(run_dir)
    record = None if record == before else record
    if record is not None and record["status"] != "failed":  # finished or diverged: rank 0 wrote it
        return record["status"], record.get("error")
    why = record.get("error") if record is not None else "no record written"
    error = (
        f"run {cfg.run_id}: torchrun with {n} processes exited with code {proc.returncode} ({why}); "
        f"the ranks' output is in {log.name}; the checkpoint stays, the next attempt resumes from it"
    )
    log.flush()
    tail = Path(log.name).read_text(errors="replace")[-LOG_TAIL:]
    write_record(run_dir, new_record(cfg, "failed", error=error, provenance={"log_tail": tail}))
    return "failed", error
