"""The ray executor on a real local Ray instance (num_cpus=2): the same records as the local
executor, a worker killed by PID mid-run is retried and resumes from its checkpoint, a
deterministic failure is not retried, and a killed driver is completed by re-running the grid."""

import copy
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
import yaml

pytestmark = pytest.mark.ray
ray = pytest.importorskip("ray")

from ganbench.records import read_record  # noqa: E402
from ganbench.runners.grid import load_grid  # noqa: E402
from ganbench.runners.local import run_local  # noqa: E402
from ganbench.runners.ray_executor import ATTEMPTS_FILE, read_attempts, run_ray  # noqa: E402
from ganbench.runners.run import LOG_FILE, run_dir_for, run_one  # noqa: E402
from ganbench.training.checkpoint import checkpoint_path  # noqa: E402
from tests.helpers.ray_local import init_local_ray  # noqa: E402


def toy(toy_cfg_dict, steps, checkpoint_every=50, log_every=50):
    d = copy.deepcopy(toy_cfg_dict)
    d["train"].update(
        steps=steps, checkpoint_every=checkpoint_every, log_every=log_every, lipschitz_estimate_every=0
    )
    return d


def write_grid(path: Path, base: dict, seeds: list[int]) -> Path:
    path.write_text(yaml.safe_dump({"name": "raytest", "base": base, "axes": {"seed": seeds}}))
    return path


def same(a, b) -> bool:
    """Equal, NaN included (a metric may be NaN by protocol, and NaN != NaN)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def weights(run_dir: Path) -> dict:
    return torch.load(checkpoint_path(run_dir), map_location="cpu", weights_only=True)


def starts(run_dir: Path) -> list[int]:
    """The worker PIDs of the run's sessions, from the start lines of its run.log."""
    log = (run_dir / LOG_FILE).read_text()
    return [int(line.split("pid=")[1]) for line in log.splitlines() if " start " in line]


@pytest.mark.slow  # two Ray instances started from scratch: ~40 s on an idle 2-core machine
def test_killed_driver_is_completed_by_rerunning_the_grid(tmp_path, toy_cfg_dict):
    # First in the file: it starts its own Ray instances (in subprocesses), before the shared one.
    grid = write_grid(tmp_path / "grid.yaml", toy(toy_cfg_dict, 300), [0, 1, 2])
    results = tmp_path / "res"
    cmd = [
        sys.executable,
        "-m",
        "ganbench.cli",
        "grid",
        str(grid),
        "--executor",
        "ray",
        "--workers",
        "1",
        "--results",
        str(results),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # A session of its own, so that every Ray process it starts can be found (and cleaned up) by group.
    out = open(tmp_path / "driver.out", "w")
    driver = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while not list(results.glob("*/record.json")):
            assert driver.poll() is None, (tmp_path / "driver.out").read_text()
            assert time.monotonic() < deadline, "no record appeared"
            time.sleep(0.05)
        driver.kill()  # SIGKILL: no cleanup code of ours runs
        driver.wait()
        done_first = {p.parent.name: p.stat().st_mtime_ns for p in results.glob("*/record.json")}
        assert 1 <= len(done_first) < 3
        # Ray tears down the dead driver's local instance; wait for its workers to stop writing.
        deadline = time.monotonic() + 30
        while _group_has(driver.pid, "ray::") and time.monotonic() < deadline:
            time.sleep(0.5)
        done_first = {p.parent.name: p.stat().st_mtime_ns for p in results.glob("*/record.json")}
    finally:
        out.close()
        _kill_group(driver.pid)  # leftovers of that instance (Ray's agents outlive a SIGKILLed driver)
    rerun = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, start_new_session=True)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"3 runs, {len(done_first)} already done, {3 - len(done_first)} to run" in rerun.stdout
    records = {p.parent.name: p for p in results.glob("*/record.json")}
    assert len(records) == 3
    assert all(read_record(p.parent)["status"] == "finished" for p in records.values())
    # what had finished before the kill was not touched again
    assert {k: records[k].stat().st_mtime_ns for k in done_first} == done_first
    # no record was ever set aside or duplicated
    assert not list(results.glob("*/record.json.*"))


def _group_has(pgid: int, prefix: str) -> bool:
    out = subprocess.run(["ps", "-o", "args=", "-g", str(pgid)], capture_output=True, text=True).stdout
    return any(line.startswith(prefix) for line in out.splitlines())


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def ray_instance():
    init_local_ray(ray)
    yield
    ray.shutdown()


def test_same_records_as_the_local_executor(ray_instance, tmp_path, toy_cfg_dict):
    runs = load_grid(write_grid(tmp_path / "grid.yaml", toy(toy_cfg_dict, 200), [0, 1])).runs
    seen = []
    out = run_ray(runs, tmp_path / "ray", on_result=seen.append, poll_s=0.2)
    assert sorted(r["status"] for r in out) == ["finished", "finished"] and seen == out
    # the local executor with one thread per worker, as each Ray task gets (1 CPU)
    local = run_local(runs, tmp_path / "local", workers=2)
    assert sorted(r["status"] for r in local) == ["finished", "finished"]
    for cfg in runs:
        a = read_record(run_dir_for(cfg, tmp_path / "ray"))
        b = read_record(run_dir_for(cfg, tmp_path / "local"))
        assert a["run_id"] == b["run_id"] == cfg.run_id
        assert same(a["metrics"], b["metrics"]) and "modes" in a["metrics"]
        assert same(a["history"], b["history"]) and len(a["history"]) == 4
        wa, wb = weights(run_dir_for(cfg, tmp_path / "ray")), weights(run_dir_for(cfg, tmp_path / "local"))
        assert all(torch.equal(wa["G"][k], wb["G"][k]) for k in wa["G"])
    # the two seeds are different runs
    h = [read_record(run_dir_for(c, tmp_path / "ray"))["history"] for c in runs]
    assert not same(h[0], h[1])


def test_killed_worker_is_retried_and_resumes_from_its_checkpoint(ray_instance, tmp_path, toy_cfg_dict):
    steps = 800
    cfg = load_grid(write_grid(tmp_path / "grid.yaml", toy(toy_cfg_dict, steps), [3])).runs[0]
    results = tmp_path / "res"
    run_dir = run_dir_for(cfg, results)
    killed: dict = {}

    def killer() -> None:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if checkpoint_path(run_dir).exists() and (run_dir / LOG_FILE).exists():
                pids = starts(run_dir)
                if pids:
                    killed["had_record"] = (run_dir / "record.json").exists()
                    os.kill(pids[0], signal.SIGKILL)
                    killed["pid"] = pids[0]
                    return
            time.sleep(0.01)

    thread = threading.Thread(target=killer)
    thread.start()
    out = run_ray([cfg], results, retries=2, poll_s=0.2)
    thread.join()
    assert killed.get("pid") and not killed["had_record"], "the worker was not killed mid-run"
    # one record, finished, on the second attempt, by a new worker
    assert len(out) == 1 and out[0]["status"] == "finished" and out[0]["attempt"] == 2
    assert list(results.glob("*/record.json")) == [run_dir / "record.json"]
    pids = starts(run_dir)
    assert len(pids) == 2 and pids[0] == killed["pid"] and pids[1] != pids[0]
    assert [a["pid"] for a in read_attempts(run_dir)] == pids
    log = (run_dir / LOG_FILE).read_text()
    assert log.count(" finished in ") == 1
    # it resumed (the second session started past step 0) and its history is continuous
    rec = read_record(run_dir)
    assert [h["step"] for h in rec["history"]] == list(range(50, steps + 1, 50))
    assert rec["compute"]["steps_per_s"] > 0
    # ... and it ends exactly where an uninterrupted run ends: same losses, weights, metrics
    ref = run_one(cfg, tmp_path / "ref")  # the toy's thread default: one, as in the Ray task
    assert ref["status"] == "finished"
    ref_rec = read_record(run_dir_for(cfg, tmp_path / "ref"))
    assert same(rec["history"], ref_rec["history"]) and same(rec["metrics"], ref_rec["metrics"])
    w, w_ref = weights(run_dir), weights(run_dir_for(cfg, tmp_path / "ref"))
    assert w["step"] == w_ref["step"] == steps
    assert all(torch.equal(w["G"][k], w_ref["G"][k]) for k in w_ref["G"])
    assert all(torch.equal(w["D"][k], w_ref["D"][k]) for k in w_ref["D"])


def test_deterministic_failure_is_reported_not_retried(ray_instance, tmp_path, toy_cfg_dict):
    good = toy(toy_cfg_dict, 50)
    bad = copy.deepcopy(good)
    bad["data"] = {"name": "imagefolder", "root": str(tmp_path / "no-such-folder")}
    # an image run that validates (the folder is only looked at when the run opens it)
    images = {"model": {"name": "dcgan", "z_dim": 8, "g": {"ch": 4}, "d": {"ch": 4}}, "eval.metrics": ["fid"]}
    grid = tmp_path / "grid.yaml"
    spec = {
        "base": good,
        "axes": {"data": [good["data"], bad["data"]]},
        "overrides": [{"when": {"data.name": "imagefolder"}, "set": images}],
    }
    grid.write_text(yaml.safe_dump(spec))
    runs = load_grid(grid).runs
    out = {r["run_id"]: r for r in run_ray(runs, tmp_path / "res", retries=3, poll_s=0.2)}
    failed = out[runs[1].run_id]
    assert out[runs[0].run_id]["status"] == "finished"
    assert failed["status"] == "failed" and "no such folder" in failed["error"] and failed["attempt"] == 1
    run_dir = run_dir_for(runs[1], tmp_path / "res")
    assert len(read_attempts(run_dir)) == 1 and len(starts(run_dir)) == 1  # ran once, not 4 times
    assert read_record(run_dir)["status"] == "failed"
    assert (run_dir / ATTEMPTS_FILE).exists()
