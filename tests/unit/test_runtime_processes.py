"""runtime.processes: validated up front (a positive integer, within the GPUs reserved, dividing the
global batch), its default (one per whole GPU reserved), and never part of the run id."""

from __future__ import annotations

import copy

import pytest

from ganbench.config import config_from_dict
from ganbench.errors import ConfigError
from ganbench.runners import launch
from ganbench.runners.ray_executor import run_resources, task_config

BASE = {"data": {"name": "ring8"}, "model": {"name": "mlp"}, "train": {"steps": 10, "batch_size": 64}}


def cfg(**runtime):
    d = copy.deepcopy(BASE)
    d["runtime"] = runtime
    return config_from_dict(d)


def test_default_is_one_process_per_whole_gpu():
    assert cfg().runtime.world_size == 1
    assert cfg(gpus=0.25).runtime.world_size == 1
    assert cfg(gpus=1).runtime.world_size == 1
    assert cfg(gpus=4).runtime.world_size == 4
    assert cfg(gpus=4, processes=2).runtime.world_size == 2
    assert cfg(processes=2).runtime.world_size == 2  # on the CPU: gloo ranks


def test_processes_are_not_in_the_run_id():
    assert cfg(processes=2).run_id == cfg().run_id == cfg(gpus=4).run_id


@pytest.mark.parametrize(
    ("runtime", "message"),
    [
        ({"processes": 0}, r"runtime.processes must be a positive integer .* got 0"),
        ({"processes": -2}, r"runtime.processes must be a positive integer"),
        ({"processes": True}, r"runtime.processes"),
        ({"processes": 3, "gpus": 2}, r"runtime.processes=3 exceeds runtime.gpus=2"),
        ({"processes": 2, "gpus": 0.5}, r"runtime.processes=2 with runtime.gpus=0.5: .* cannot share"),
        ({"processes": 3}, r"train.batch_size=64 is the global batch .* world size 3 .* e.g. 63"),
        ({"gpus": 3}, r"train.batch_size=64 is the global batch .* world size 3"),
    ],
)
def test_bad_processes_are_refused_naming_the_key(runtime, message):
    with pytest.raises(ConfigError, match=message):
        cfg(**runtime)


def test_ray_resources_decide_the_default_and_are_checked():
    run = cfg()
    assert task_config(run, run_resources(run, gpus=4)).runtime.world_size == 4  # --gpus-per-run 4
    with pytest.raises(ConfigError, match=r"runtime.processes=2 exceeds runtime.gpus=1"):
        run_resources(cfg(processes=2), gpus=1)


def test_launch_command_is_torchrun_with_one_rank_per_process(tmp_path):
    cmd = launch.command(cfg(processes=2), tmp_path / "c.json", tmp_path)
    assert cmd[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    assert cmd[5:7] == ["-m", "ganbench.runners.rank"]
