"""The one thread setting: ``runtime.threads``, else sized to the measured work and the run's CPUs."""

import torch
from torch import nn

from ganbench.config import config_from_dict
from ganbench.models.mlp import MLPDiscriminator, MLPGenerator
from ganbench.runners.local import with_cpu_share
from ganbench.training import device
from ganbench.training.device import TINY_BATCH_FLOPS, default_threads, forward_flops, resolve_threads


class ConvG(nn.Module):
    """A small conv generator: few parameters, much work per parameter (weights reused per pixel)."""

    z_dim = 4

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 16 * 8 * 8)
        self.conv = nn.Sequential(
            nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16), nn.Conv2d(16, 1, 3, padding=1)
        )

    def forward(self, z, y=None):
        return self.conv(self.fc(z).view(-1, 16, 8, 8).repeat_interleave(4, 2).repeat_interleave(4, 3))


class ConvD(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.Flatten(), nn.Linear(32 * 32 * 32, 1))

    def forward(self, x, y=None):
        return self.net(x)


def test_flops_are_counted_without_touching_the_networks():
    g, d = ConvG(), ConvD()
    before = {k: v.clone() for k, v in g.state_dict().items()}
    flops = forward_flops(g, d, 4, labelled=False)
    assert flops is not None and flops > 2 * (16 * 16 * 9 * 32 * 32)  # at least the 16->16 conv
    assert g.training and all(torch.equal(before[k], v) for k, v in g.state_dict().items())  # BN stats kept


def test_toy_mlp_gets_one_thread_and_real_work_gets_the_runs_cpus():
    toy = config_from_dict({"runtime": {"cpus": 8}})
    g, d = MLPGenerator(2, 2, 128, 3), MLPDiscriminator(2, 128, 3)
    assert forward_flops(g, d, 2, False) * 256 < TINY_BATCH_FLOPS  # the toy recipe's batch
    assert resolve_threads(toy.runtime, g, d, 256, False) == 1
    assert resolve_threads(toy.runtime, ConvG(), ConvD(), 64, False) == 8
    # an explicit setting always wins
    assert resolve_threads(config_from_dict({"runtime": {"threads": 3}}).runtime, g, d, 256, False) == 3
    assert default_threads(None, 2.5) == 2  # unmeasurable work: the whole share
    assert default_threads(1e12, None) == device.machine_cpus()


def test_local_workers_split_the_cores(monkeypatch):
    monkeypatch.setattr(device, "machine_cpus", lambda: 16)
    monkeypatch.setattr("ganbench.runners.local.machine_cpus", lambda: 16)
    cfg = config_from_dict({})
    assert with_cpu_share(cfg, 4).runtime.cpus == 4.0 and with_cpu_share(cfg, 32).runtime.cpus == 1.0
    pinned = config_from_dict({"runtime": {"cpus": 2}})
    assert with_cpu_share(pinned, 4).runtime.cpus == 2.0  # the recipe's own setting is kept
    assert with_cpu_share(cfg, 4).run_id == cfg.run_id  # runtime is not part of the run id


def test_trainer_records_the_resolved_threads(tmp_path, toy_cfg_dict):
    from ganbench.training.trainer import Trainer

    d = {
        **toy_cfg_dict,
        "train": {**toy_cfg_dict["train"], "steps": 5},
        "runtime": {"device": "cpu", "cpus": 2},
    }
    torch.set_num_threads(2)
    try:
        rec = Trainer(config_from_dict(d), tmp_path / "a", progress=False).run()
        assert rec["compute"]["threads"] == 1  # tiny work: one thread although the run may use 2
        d["runtime"]["threads"] = 2
        rec = Trainer(config_from_dict(d), tmp_path / "b", progress=False).run()
        assert rec["compute"]["threads"] == 2
    finally:
        torch.set_num_threads(1)  # conftest's setting for the other tests
