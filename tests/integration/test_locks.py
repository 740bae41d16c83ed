"""Two grid drivers on one results folder (issue 16): the per-run lock makes each run train once."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import yaml

from ganbench.records import read_record
from ganbench.runners.grid import load_grid
from ganbench.runners.local import run_local
from ganbench.runners.lock import LOCK_FILE, RunLock
from ganbench.runners.run import run_dir_for, run_one


def make_grid(tmp_path, toy_cfg_dict, steps: int, seeds: int):
    base = {**toy_cfg_dict, "train": {**toy_cfg_dict["train"], "steps": steps, "checkpoint_every": 100}}
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump({"name": "two", "base": base, "axes": {"seed": list(range(seeds))}}))
    return path


def trainings(run_dir) -> int:
    """Training sessions of a run: its run.log has one ' start ' line per session."""
    return (run_dir / "run.log").read_text().count("] start ")


def test_a_held_run_is_left_alone_and_a_done_one_is_not_redone(tmp_path, toy_cfg_dict):
    grid = load_grid(make_grid(tmp_path, toy_cfg_dict, steps=60, seeds=2))
    results = tmp_path / "r"
    a, b = (run_dir_for(cfg, results) for cfg in grid.runs)
    with RunLock(a) as other:  # another driver (here: this process, another session) trains run a
        out = run_local(grid.runs, results)
    assert [r["status"] for r in out] == ["held", "finished"]
    assert out[0]["holder"] == other.holder
    assert "held by pid" in (a / "run.log").read_text() and not (a / "record.json").exists()
    # run b finished after this driver's look at the grid: taking its lock, run_one sees it is done
    assert run_one(grid.runs[1], results)["status"] == "skipped"
    assert trainings(b) == 1
    assert not (b / LOCK_FILE).exists()


def test_a_stale_lock_of_a_killed_driver_is_taken_over(tmp_path, toy_cfg_dict):
    grid = load_grid(make_grid(tmp_path, toy_cfg_dict, steps=60, seeds=1))
    run_dir = run_dir_for(grid.runs[0], tmp_path / "r")
    run_dir.mkdir(parents=True)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    holder = {"pid": gone.pid, "host": socket.gethostname(), "session": "s", "started": time.time()}
    (run_dir / LOCK_FILE).write_text(json.dumps(holder))
    assert run_local(grid.runs, tmp_path / "r")[0]["status"] == "finished"


def test_two_concurrent_grid_drivers_train_each_run_once(tmp_path, toy_cfg_dict):
    path = make_grid(tmp_path, toy_cfg_dict, steps=400, seeds=4)
    results = tmp_path / "r"
    cmd = [
        sys.executable,
        "-m",
        "ganbench.cli",
        "grid",
        str(path),
        "--workers",
        "1",
        "--results",
        str(results),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    drivers = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)]
    drivers.append(
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    )
    outs = [d.communicate(timeout=240)[0] for d in drivers]
    assert [d.returncode for d in drivers] == [0, 0], outs
    run_dirs = sorted(p for p in results.iterdir() if p.is_dir())
    assert len(run_dirs) == 4
    assert [read_record(d)["status"] for d in run_dirs] == ["finished"] * 4
    assert [trainings(d) for d in run_dirs] == [1] * 4, outs  # each run trained once, by one driver
    assert not list(results.glob(f"*/{LOCK_FILE}"))
    both = "\n".join(outs)
    # the drivers met: one found a run the other held, and said so
    assert "held by another driver" in both or "done by another driver" in both, outs
    finished = sum(int(o.split(" finished,")[0].rsplit(" ", 1)[-1]) for o in outs if " finished," in o)
    assert finished == 4, outs  # the work was shared: 4 trainings in all
