"""training/distributed.py without a process group: the world from torchrun's env, the batch split,
the sliced per-sample draws, batch-norm conversion, and a missing rank's error (a subprocess)."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
import torch
from torch import nn

from ganbench.errors import ConfigError
from ganbench.objectives import draws
from ganbench.training import distributed as D
from ganbench.training.distributed import DistributedError, World


def test_env_world():
    assert D.env_world({}) == D.SINGLE
    assert D.env_world({"WORLD_SIZE": "4", "RANK": "2", "LOCAL_RANK": "0"}) == World(2, 4, 0)
    with pytest.raises(DistributedError, match=r"RANK=4 is not in \[0, WORLD_SIZE=4\)"):
        D.env_world({"WORLD_SIZE": "4", "RANK": "4"})
    with pytest.raises(DistributedError, match="must be integers"):
        D.env_world({"WORLD_SIZE": "two"})


def test_global_batch_must_divide():
    assert D.check_batch(64, 4) == 16
    with pytest.raises(ConfigError, match=r"train.batch_size=10 is the global batch .* world size 4.*e.g. 8"):
        D.check_batch(10, 4)


def test_shards_make_the_global_batch():
    x = torch.arange(12.0).view(6, 2)
    parts = [D.shard(x, World(r, 3)) for r in range(3)]
    assert torch.equal(torch.cat(parts), x)
    assert D.shard(x, D.SINGLE) is x


def test_per_sample_draws_are_slices_of_the_global_draw():
    torch.manual_seed(5)
    full = torch.rand(8, 1, 1, 1)
    other = torch.rand(3)  # a draw of another shape, after
    parts = []
    for r in range(2):
        torch.manual_seed(5)
        with D.per_sample_draws(World(r, 2), 4):
            parts.append(torch.rand((4, 1, 1, 1)))
            assert torch.equal(torch.rand(3), other)  # left alone, same RNG position on every rank
    assert torch.equal(torch.cat(parts), full)
    assert torch.rand is not None and torch.rand.__module__ != D.__name__  # restored


def test_nested_draws_the_innermost_block_decides():
    """Path length's lazy batch (2 per rank of 4) inside the step's block (4 per rank of 8): the inner
    draw is the single process's 4 rows sliced, not widened twice by the enclosing block."""
    torch.manual_seed(3)
    full = torch.randn(4, 5)
    parts = []
    for r in range(2):
        torch.manual_seed(3)
        with D.per_sample_draws(World(r, 2), 4), draws.global_draws(r, 2, 2):
            parts.append(torch.randn(2, 5))
        assert torch.randn is draws._TORCH["randn"]  # both blocks restored
    assert torch.equal(torch.cat(parts), full)


def test_convert_batchnorm_keeps_parameters_and_statistics():
    net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.Sequential(nn.BatchNorm1d(4)))
    with torch.no_grad():
        net[1].weight.fill_(2.0)
        net[1].running_mean.fill_(0.5)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    net = D.convert_batchnorm(net)
    assert isinstance(net[1], D.GlobalBatchNorm) and isinstance(net[2][0], D.GlobalBatchNorm)
    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())
    x = torch.randn(5, 3, 6, 6)
    ref = nn.BatchNorm2d(3)
    ref.load_state_dict(net[1].state_dict())
    assert torch.allclose(net[1](x), ref(x))  # one process: plain batch norm


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_missing_rank_gives_a_clear_error():
    code = "from ganbench.training import distributed as D; D.init('cpu', timeout_s=2)"
    env = {"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1"}
    env["MASTER_PORT"] = str(_free_port())
    import os

    proc = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0
    assert "rank 0 of 2: the process group at 127.0.0.1" in proc.stderr
    assert "did not form within 2 s (runtime.dist_timeout_s): a rank is missing" in proc.stderr
