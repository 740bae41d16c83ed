"""Grids: expansion, skip/resume, bad records, the CLI end to end, the leaderboard."""

import json

import pytest
import yaml

from ganbench.cli import main
from ganbench.errors import ConfigError
from ganbench.records import iter_records, read_record
from ganbench.runners.grid import load_grid
from ganbench.runners.local import run_local
from ganbench.runners.run import is_done, run_dir_for


def make_grid(tmp_path, toy_cfg_dict, axes=None, **extra):
    base = dict(toy_cfg_dict)
    spec = {
        "name": "t",
        "base": base,
        "axes": axes or {"objective.loss": ["hinge", "wasserstein"], "seed": [0, 1]},
    }
    spec.update(extra)
    p = tmp_path / "grid.yaml"
    p.write_text(yaml.safe_dump(spec))
    return p


def test_expansion_and_overrides(tmp_path, toy_cfg_dict):
    p = make_grid(
        tmp_path,
        toy_cfg_dict,
        axes={"objective.lipschitz": ["none", "gp"], "seed": [0, 1, 2]},
        overrides=[
            {"when": {"objective.lipschitz": "gp"}, "set": {"objective.lipschitz_params": {"weight": 0.1}}}
        ],
    )
    grid = load_grid(p)
    assert len(grid.runs) == 6 and len({c.run_id for c in grid.runs}) == 6
    gp = [c for c in grid.runs if c.objective.lipschitz == "gp"]
    assert all(c.objective.lipschitz_params == {"weight": 0.1} for c in gp)
    # expansion is stable: same file, same ids
    assert [c.run_id for c in load_grid(p).runs] == [c.run_id for c in grid.runs]


def test_invalid_run_named_with_its_values(tmp_path, toy_cfg_dict):
    p = make_grid(tmp_path, toy_cfg_dict, axes={"objective.loss": ["hinge", "wgan"]})
    with pytest.raises(ConfigError, match=r"grid\.yaml \(run objective\.loss=wgan\).*valid choices"):
        load_grid(p)


def test_skip_resume_and_truncated_record(tmp_path, toy_cfg_dict):
    grid = load_grid(make_grid(tmp_path, toy_cfg_dict))
    results = tmp_path / "results"
    out = run_local(grid.runs[:2], results)
    assert [r["status"] for r in out] == ["finished", "finished"]
    assert all(is_done(c, results) for c in grid.runs[:2])
    # a truncated record is set aside (kept) and the run redone; finished records are untouched
    first = run_dir_for(grid.runs[0], results) / "record.json"
    second = run_dir_for(grid.runs[1], results) / "record.json"
    before = second.stat().st_mtime_ns
    first.write_text(first.read_text()[:100])
    assert not is_done(grid.runs[0], results)
    assert list(first.parent.glob("record.json.corrupt-*"))
    todo = [c for c in grid.runs if not is_done(c, results)]
    assert len(todo) == 3
    # a partial run (checkpoint, no record) resumes
    from ganbench.training.trainer import Trainer

    Trainer(grid.runs[2], run_dir_for(grid.runs[2], results), stop_at=20).run()
    run_local(todo, results)
    assert all(is_done(c, results) for c in grid.runs)
    assert second.stat().st_mtime_ns == before
    log = (run_dir_for(grid.runs[2], results) / "run.log").read_text()
    assert "start" in log and "finished" in log


def test_failed_run_does_not_stop_the_grid(tmp_path, toy_cfg_dict, monkeypatch):
    grid = load_grid(make_grid(tmp_path, toy_cfg_dict))
    from ganbench.training import trainer

    original = trainer.Trainer.setup

    def broken(self):
        if self.cfg.seed == 1:
            raise RuntimeError("simulated bug")
        return original(self)

    monkeypatch.setattr(trainer.Trainer, "setup", broken)
    out = run_local(grid.runs, tmp_path / "r")
    statuses = sorted(r["status"] for r in out)
    assert statuses == ["failed", "failed", "finished", "finished"]
    failed = [r for r in out if r["status"] == "failed"][0]
    assert "simulated bug" in failed["error"]
    rec = read_record(tmp_path / "r" / failed["run_id"])
    assert rec["status"] == "failed" and "Traceback" in rec["provenance"]["traceback"]
    assert not is_done(grid.runs[1], tmp_path / "r")  # failed runs are retried by the next grid call


def test_cli_grid_to_leaderboard(tmp_path, toy_cfg_dict, capsys):
    p = make_grid(
        tmp_path,
        toy_cfg_dict,
        axes={"data.name": ["ring8", "grid25"], "objective.loss": ["hinge", "lsgan"], "seed": [0, 1]},
    )
    results = tmp_path / "res"
    assert main(["grid", str(p), "--results", str(results), "--workers", "2", "--leaderboard"]) == 0
    out = capsys.readouterr().out
    assert "8 finished, 0 skipped, 0 diverged, 0 failed" in out
    # idempotent: a second call runs nothing
    assert main(["grid", str(p), "--results", str(results)]) == 0
    assert "8 already done, 0 to run" in capsys.readouterr().out
    md = (results / "leaderboard" / "leaderboard.md").read_text()
    assert "| objective.loss" in md and "ring8 modes" in md and "grid25 KL" in md and "(n=2)" in md
    assert (results / "leaderboard" / "samples.png").exists()
    table = json.loads((results / "leaderboard" / "leaderboard.json").read_text())
    assert table["row_keys"] == ["objective.loss"] and len(table["rows"]) == 2
    # the cell is the mean of the two seeds' records
    recs = [read_record(d) for d in results.iterdir() if (d / "record.json").exists()]
    hinge_ring = [
        r["metrics"]["modes"]
        for r in recs
        if r["config"]["objective"]["loss"] == "hinge" and r["config"]["data"]["name"] == "ring8"
    ]
    row = next(r for r in table["rows"] if r["objective.loss"] == "hinge")
    assert row["ring8/modes/mean"] == pytest.approx(sum(hinge_ring) / 2)
    assert row["ring8/modes/n"] == 2


def test_cli_errors_are_clear(tmp_path, capsys):
    bad = tmp_path / "g.yaml"
    bad.write_text("axes: {objective.loss: [hinge]}\nbase: {train: {steps: -1}}\n")
    assert main(["grid", str(bad)]) == 2
    assert "train.steps must be > 0" in capsys.readouterr().err
    assert main(["leaderboard", str(tmp_path / "empty")]) == 2
    assert "no run records" in capsys.readouterr().err


def test_killed_driver_leaves_no_workers_and_rerun_completes(tmp_path, toy_cfg_dict):
    import os
    import signal
    import subprocess
    import sys
    import time

    # long enough that no run can finish between the first checkpoint and the workers' exit (<= 2 s)
    base = {**toy_cfg_dict, "train": {**toy_cfg_dict["train"], "steps": 4000, "checkpoint_every": 50}}
    p = make_grid(tmp_path, base, axes={"seed": [0, 1]})
    results = tmp_path / "r"
    cmd = [sys.executable, "-m", "ganbench.cli", "grid", str(p), "--workers", "2", "--results", str(results)]
    driver = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.time() + 120
    while not list(results.glob("*/checkpoints/last.pt")) and time.time() < deadline:
        time.sleep(0.5)
    workers = subprocess.run(["pgrep", "-P", str(driver.pid)], capture_output=True, text=True).stdout.split()
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    time.sleep(5)  # the workers' watchdog polls every 2 s
    alive = [
        w
        for w in workers
        if os.path.exists(f"/proc/{w}") and b"spawn_main" in open(f"/proc/{w}/cmdline", "rb").read()
    ]
    assert alive == []
    assert not list(results.glob("*/record.json"))
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    records = [read_record(d) for d in results.iterdir()]
    assert sorted(r["status"] for r in records) == ["finished", "finished"]
    # the runs resumed from their checkpoints: two starts in each log, one finish
    logs = [(d / "run.log").read_text() for d in results.iterdir()]
    assert any(log.count("start") == 2 for log in logs)
    assert all(log.count("finished") == 1 for log in logs)


def test_ctrl_c_stops_the_grid_now_and_leaves_no_workers(tmp_path, toy_cfg_dict):
    """A terminal's Ctrl-C (SIGINT to the driver's process group) ends the grid within seconds:
    the queued runs are cancelled and the running ones ended, not trained to the end first."""
    import os
    import signal
    import subprocess
    import sys
    import time

    # each run trains for over a minute: none can finish between its first checkpoint and Ctrl-C
    base = {**toy_cfg_dict, "train": {**toy_cfg_dict["train"], "steps": 20_000, "checkpoint_every": 50}}
    p = make_grid(tmp_path, base, axes={"seed": [0, 1, 2, 3]})
    results = tmp_path / "r"
    cmd = [sys.executable, "-m", "ganbench.cli", "grid", str(p), "--workers", "2", "--results", str(results)]
    driver = subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        # a shell's background job (CI's, this test's parent) inherits SIGINT ignored; a terminal's has it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.time() + 120
        while not list(results.glob("*/checkpoints/last.pt")) and time.time() < deadline:
            time.sleep(0.5)
        pgrep = subprocess.run(["pgrep", "-P", str(driver.pid)], capture_output=True, text=True)
        workers = pgrep.stdout.split()
        t0 = time.time()
        os.killpg(driver.pid, signal.SIGINT)
        _, err = driver.communicate(timeout=60)
        elapsed = time.time() - t0
    finally:  # a failure must not leave the grid training on
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    assert driver.returncode == 130 and elapsed < 30, err
    assert b"interrupted; finished runs and checkpoints are kept" in err
    alive = [
        w
        for w in workers
        if os.path.exists(f"/proc/{w}") and b"spawn_main" in open(f"/proc/{w}/cmdline", "rb").read()
    ]
    assert alive == []
    assert not list(results.glob("*/record.json"))
    assert len(list(results.glob("*/checkpoints/last.pt"))) <= 2  # the queued runs never started


def test_cli_set_overrides_every_run(tmp_path, toy_cfg_dict, capsys):
    """``--set`` reaches every run of a grid (new run ids: a different config is a different run)
    and the one run of ``train``; a bad key is refused with its name."""
    p = make_grid(tmp_path, toy_cfg_dict)
    results = tmp_path / "r"
    assert main(["grid", str(p), "--results", str(results), "--dry-run"]) == 0
    plain = capsys.readouterr().out
    assert main(["grid", str(p), "--results", str(results), "--dry-run", "--set", "train.steps=7"]) == 0
    changed = capsys.readouterr().out
    ids = lambda out: {line.split()[-1] for line in out.splitlines() if line.startswith("  ")}  # noqa: E731
    assert len(ids(plain)) == len(ids(changed)) == 4 and not ids(plain) & ids(changed)
    assert {c.train.steps for c in load_grid(p, ["train.steps=7"]).runs} == {7}
    recipe = tmp_path / "one.yaml"
    recipe.write_text(yaml.safe_dump(toy_cfg_dict))
    out_dir = tmp_path / "train"
    assert (
        main(["train", str(recipe), "--results", str(out_dir), "--set", "train.steps=3", "--no-progress"])
        == 0
    )
    rec = next(rec for _, rec in iter_records(out_dir))
    assert rec["config"]["train"]["steps"] == 3
    assert main(["grid", str(p), "--dry-run", "--set", "train.stepz=7"]) == 2
    assert "stepz" in capsys.readouterr().err


# --- validated once, before any run starts (issues 9 and 16) ------------------------------------


def test_typo_in_data_params_fails_before_any_run(tmp_path, toy_cfg_dict, capsys):
    base = {**toy_cfg_dict, "data": {"name": "ring8", "params": {"sigmaa": 0.1}}}
    p = make_grid(tmp_path, base, axes={"objective.loss": ["hinge", "lsgan", "minimax"], "seed": [0, 1, 2]})
    results = tmp_path / "r"
    assert main(["grid", str(p), "--results", str(results)]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "data.params" in err and "'sigmaa'" in err and "Traceback" not in err
    assert not results.exists()  # not one run folder: nothing started


def test_override_when_must_name_a_config_key_and_a_value_some_run_has(tmp_path, toy_cfg_dict):
    axes = {"objective.lipschitz": ["none", "gp"]}
    set_ = {"objective.lipschitz_params": {"weight": 0.1}}
    p = make_grid(
        tmp_path, toy_cfg_dict, axes=axes, overrides=[{"when": {"objective.lipschitzz": "gp"}, "set": set_}]
    )
    with pytest.raises(
        ConfigError, match=r"overrides\[0\]\.when: 'objective\.lipschitzz' is not a config key"
    ):
        load_grid(p)
    p = make_grid(
        tmp_path, toy_cfg_dict, axes=axes, overrides=[{"when": {"objective.lipschitz": "gpp"}, "set": set_}]
    )
    with pytest.raises(
        ConfigError,
        match=r"overrides\[0\]\.when .*'gpp'.* matches no run.*objective\.lipschitz: 'gp', 'none'",
    ):
        load_grid(p)
    # a key below a mapping is a key the component checks; a key left to its default matches it
    ok = [
        {"when": {"objective.lipschitz": "gp", "model.conditioning": "none"}, "set": set_},
        {"when": {"objective.lipschitz_params.weight": 0.1}, "set": {"train.n_critic": 2}},
    ]
    runs = load_grid(make_grid(tmp_path, toy_cfg_dict, axes=axes, overrides=ok)).runs
    gp = next(c for c in runs if c.objective.lipschitz == "gp")
    assert gp.objective.lipschitz_params == {"weight": 0.1} and gp.train.n_critic == 2


@pytest.mark.parametrize("name", ["../../escape", "/tmp/abs", "a/b", "..", "a\\b"])
def test_grid_names_are_names_not_paths(tmp_path, toy_cfg_dict, name):
    with pytest.raises(ConfigError, match=r"must be a plain name .* results: key or --results"):
        load_grid(make_grid(tmp_path, toy_cfg_dict, name=name))


def test_executor_options_that_do_not_apply_are_errors(tmp_path, toy_cfg_dict, capsys):
    p = make_grid(tmp_path, toy_cfg_dict)
    results = tmp_path / "r"
    for flags in (
        ["--address", "auto"],
        ["--retries", "3"],
        ["--cpus-per-run", "2"],
        ["--gpus-per-run", "0.5"],
    ):
        assert main(["grid", str(p), "--results", str(results), *flags]) == 2
        err = capsys.readouterr().err
        assert f"{flags[0]} does not apply to --executor local" in err and "--executor ray" in err
    assert not results.exists()
    with pytest.raises(ConfigError, match="--workers 2 does not apply with --address"):
        from ganbench.runners.ray_executor import run_ray

        run_ray(load_grid(p).runs, results, workers=2, address="auto")


def test_results_folder_is_checked_before_any_work(tmp_path, toy_cfg_dict, capsys, monkeypatch):
    p = make_grid(tmp_path, toy_cfg_dict)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert main(["grid", str(p), "--results", str(a_file)]) == 2
    assert f"--results {a_file}: the results folder is a file, not a folder" in capsys.readouterr().err
    assert main(["grid", str(p), "--results", str(a_file / "sub")]) == 2
    assert "above the results folder, is a file" in capsys.readouterr().err
    # /sys refuses new files even to root: a real unwritable folder
    assert main(["grid", str(p), "--results", "/sys/ganbench-results"]) == 2
    err = capsys.readouterr().err
    assert "cannot write in /sys" in err and "choose a writable folder" in err and "Traceback" not in err
    # a read-only file system names the folder and the cause
    import errno
    import tempfile

    def read_only(*a, **k):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    assert main(["grid", str(p), "--results", str(tmp_path / "ro")]) == 2
    assert f"cannot write in {tmp_path} (Read-only file system)" in capsys.readouterr().err
