"""A run of ``runtime.processes: 2`` through the local and the Ray executor: launched with torchrun
(2 gloo ranks on the CPU, runners/launch.py), the same run as one process.

Tolerance: as tests/integration/test_distributed.py argues, the ranks' gradient mean sums the same
per-sample terms in another order, so the runs differ by float32 rounding, amplified by Adam over
the steps; the toy MLP has no batch norm and no zero-gradient parameter, so its weights agree to
1e-4 after 200 steps (measured: 1.2e-7) and its losses to 1e-4 relative."""

from __future__ import annotations

import copy
import sys

import pytest
import torch

from ganbench.config import config_from_dict
from ganbench.records import read_record
from ganbench.runners import launch
from ganbench.runners.local import run_local
from ganbench.runners.run import run_dir_for, run_one
from ganbench.training.checkpoint import checkpoint_path
from tests.helpers.ray_local import init_local_ray

TOY = {  # tests/conftest.py's toy_cfg_dict (a function-scoped fixture; the one-process run is shared)
    "seed": 0,
    "data": {"name": "ring8"},
    "model": {"name": "mlp", "z_dim": 2, "g": {"width": 32, "depth": 2}, "d": {"width": 32, "depth": 2}},
    "objective": {"loss": "nonsaturating", "lipschitz": "none"},
    "optim": {"lr_g": 1e-3, "lr_d": 1e-3, "betas": [0.5, 0.9]},
    "train": {"batch_size": 64},
    "eval": {"n_samples": 500, "metrics": ["modes"]},
    "runtime": {"device": "cpu", "progress": False},
}


def _toy(processes: int | None, steps: int = 200) -> dict:
    d = copy.deepcopy(TOY)
    d["train"].update(steps=steps, checkpoint_every=100, log_every=50, lipschitz_estimate_every=0)
    d["runtime"].update(threads=1, processes=processes)
    return d


def _weights(run_dir):
    return torch.load(checkpoint_path(run_dir), map_location="cpu", weights_only=True)["G"]


def _assert_same_run(one_dir, two_dir) -> None:
    a, b = read_record(one_dir), read_record(two_dir)
    assert a["status"] == b["status"] == "finished", b.get("error")
    assert a["compute"]["world_size"] == 1 and b["compute"]["world_size"] == 2
    for ha, hb in zip(a["history"], b["history"], strict=True):
        assert hb["d_loss"] == pytest.approx(ha["d_loss"], rel=1e-4) and hb["step"] == ha["step"]
    wa, wb = _weights(one_dir), _weights(two_dir)
    diff = max((wa[k] - wb[k]).abs().max().item() for k in wa)
    print(f"max |weight diff| 2 ranks vs 1 process: {diff:.3g}")
    assert diff <= 1e-4, diff
    for key, value in a["metrics"].items():
        if isinstance(value, float):
            assert b["metrics"][key] == pytest.approx(value, rel=1e-3, abs=1e-3, nan_ok=True), key


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    cfg = config_from_dict(_toy(None))
    results = tmp_path_factory.mktemp("one")
    assert run_one(cfg, results)["status"] == "finished"
    return run_dir_for(cfg, results)


@pytest.mark.slow  # torchrun start-up and 2 ranks: ~20 s on the shared 2-core machine
def test_local_executor_launches_two_ranks(one_process, tmp_path):
    cfg = config_from_dict(_toy(2))
    assert cfg.run_id == run_dir_for(config_from_dict(_toy(None)), "").name  # not in the id
    (res,) = run_local([cfg], tmp_path)
    assert res["status"] == "finished", res
    _assert_same_run(one_process, run_dir_for(cfg, tmp_path))
    assert "--nproc_per_node=2" in (run_dir_for(cfg, tmp_path) / "run.log").read_text()


@pytest.mark.slow  # a Ray instance, torchrun and 2 ranks: ~30 s
@pytest.mark.ray
def test_ray_executor_launches_two_ranks(one_process, tmp_path):
    ray = pytest.importorskip("ray")
    from ganbench.runners.ray_executor import run_ray

    cfg = config_from_dict(_toy(2))
    init_local_ray(ray)
    try:
        (res,) = run_ray([cfg], tmp_path, poll_s=0.2)
    finally:
        ray.shutdown()
    assert res["status"] == "finished", res
    _assert_same_run(one_process, run_dir_for(cfg, tmp_path))


def test_failed_launch_names_the_run_and_the_exit_code(tmp_path, monkeypatch):
    """A launch that exits non-zero without a record leaves a failed one (the next attempt retries:
    a failed record is not done), naming the run, the processes and the exit code."""
    cfg = config_from_dict(_toy(2))
    monkeypatch.setattr(launch, "command", lambda *a: [sys.executable, "-c", "import sys; sys.exit(3)"])
    res = run_one(cfg, tmp_path)
    assert res["status"] == "failed"
    assert f"run {cfg.run_id}: torchrun with 2 processes exited with code 3" in res["error"]
    rec = read_record(run_dir_for(cfg, tmp_path))
    assert rec["status"] == "failed" and rec["error"] == res["error"]
