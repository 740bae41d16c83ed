"""Issue 16: ``--force`` retrains from step 0 and replaces the record only when the new one is
written; a truncated ``last.pt`` says what to do, and ``--force`` / ``grid --restart-corrupt``
start over with the bad file kept as ``last.pt.corrupt-<time>``."""

from __future__ import annotations

import pytest
import yaml

from ganbench.cli import main
from ganbench.config import config_from_dict
from ganbench.records import read_record
from ganbench.runners.run import run_dir_for
from ganbench.training import trainer as trainer_mod
from ganbench.training.checkpoint import checkpoint_path, load_checkpoint
from ganbench.training.trainer import Trainer


@pytest.fixture
def recipe(tmp_path, toy_cfg_dict):
    path = tmp_path / "R.yaml"
    path.write_text(yaml.safe_dump(toy_cfg_dict))
    return path, tmp_path / "results", run_dir_for(config_from_dict(toy_cfg_dict), tmp_path / "results")


def train(recipe_path, results, *flags):
    return main(["train", str(recipe_path), "--results", str(results), "--no-progress", *flags])


def count_steps(monkeypatch):
    steps: list[int] = []
    original = trainer_mod.Trainer.train_step

    def counted(self, step, batches):
        steps.append(step)
        return original(self, step, batches)

    monkeypatch.setattr(trainer_mod.Trainer, "train_step", counted)
    return steps


def test_force_trains_from_step_0(recipe, monkeypatch, capsys):
    path, results, run_dir = recipe
    assert train(path, results) == 0
    old = read_record(run_dir)
    steps = count_steps(monkeypatch)
    assert train(path, results, "--force") == 0
    assert "from step 0" in capsys.readouterr().out
    assert steps == list(range(60))  # every step trained again, not a resume at the final step
    new = read_record(run_dir)
    assert new["compute"]["steps_per_s"] > 0
    assert new["history"] == old["history"] and new["metrics"] == old["metrics"]  # deterministic
    assert load_checkpoint(checkpoint_path(run_dir))["step"] == 60


def test_interrupted_force_keeps_the_old_record(recipe, monkeypatch, capsys):
    path, results, run_dir = recipe
    assert train(path, results) == 0
    before = (run_dir / "record.json").read_bytes()
    original = trainer_mod.Trainer.train_step

    def interrupted(self, step, batches):
        if step == 30:
            raise KeyboardInterrupt
        return original(self, step, batches)

    monkeypatch.setattr(trainer_mod.Trainer, "train_step", interrupted)
    assert train(path, results, "--force") == 130
    assert (run_dir / "record.json").read_bytes() == before
    assert not (run_dir / "run.lock").exists()  # the lock goes with the process that held it
    capsys.readouterr()


def test_truncated_checkpoint_says_what_to_do_and_force_starts_over(recipe, capsys):
    path, results, run_dir = recipe
    cfg = config_from_dict(yaml.safe_load(path.read_text()))
    assert Trainer(cfg, run_dir, stop_at=20).run() is None  # an interrupted run
    last = checkpoint_path(run_dir)
    bad = last.read_bytes()[:1000]
    last.write_bytes(bad)
    for _ in range(2):  # the same answer every time, nothing moved
        assert train(path, results) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and err.count("\n") == 1, err
        assert str(last) in err and "--force" in err and "last.pt.corrupt-<time>" in err
    assert last.read_bytes() == bad
    assert train(path, results, "--force") == 0
    assert "unreadable checkpoint kept as" in capsys.readouterr().out
    (aside,) = last.parent.glob("last.pt.corrupt-*")
    assert aside.read_bytes() == bad
    assert read_record(run_dir)["status"] == "finished"
    assert load_checkpoint(last)["step"] == 60


def test_grid_restart_corrupt(tmp_path, toy_cfg_dict, capsys):
    grid = tmp_path / "g.yaml"
    grid.write_text(yaml.safe_dump({"name": "g", "base": toy_cfg_dict, "axes": {"seed": [0]}}))
    results = tmp_path / "r"
    run_dir = run_dir_for(config_from_dict(toy_cfg_dict), results)
    Trainer(config_from_dict(toy_cfg_dict), run_dir, stop_at=20).run()
    last = checkpoint_path(run_dir)
    last.write_bytes(last.read_bytes()[:1000])
    argv = ["grid", str(grid), "--results", str(results)]
    assert main(argv) == 1
    rec = read_record(run_dir)
    assert rec["status"] == "failed" and "--restart-corrupt" in rec["error"] and str(last) in rec["error"]
    capsys.readouterr()
    assert main([*argv, "--restart-corrupt"]) == 0
    out = capsys.readouterr().out
    assert "unreadable last.pt kept as last.pt.corrupt-" in out and "1 finished" in out
    assert list(last.parent.glob("last.pt.corrupt-*"))
    assert read_record(run_dir)["status"] == "finished"
