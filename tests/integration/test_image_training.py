"""A few real trainer steps for every image family × loss × Lipschitz method, on Fashion-MNIST
(28×28, one channel) with narrow nets: the losses stay finite and the weights move."""

from __future__ import annotations

import math

import pytest
import torch

from ganbench.config import DataConfig, ModelConfig, ObjectiveConfig, RunConfig, TrainConfig
from ganbench.registries import DATASETS, load_all
from ganbench.training.trainer import Trainer

load_all()

pytestmark = pytest.mark.skipif(
    not DATASETS.get("fashion-mnist").present(), reason="Fashion-MNIST files are not on this machine"
)

NARROW = {
    "dcgan": ({"ch": 4}, {"ch": 4}),
    "resnet": ({"ch": 8}, {"ch": 8}),
    "sagan": ({"ch": 8}, {"ch": 8}),
    "biggan": ({"ch": 2, "shared_dim": 8}, {"ch": 2}),
}
STEPS = 3


def make_cfg(family: str, loss: str, lipschitz: str, conditioning: str = "none", **objective) -> RunConfig:
    g, d = NARROW[family]
    return RunConfig(
        seed=0,
        data=DataConfig(name="fashion-mnist", split="test"),
        model=ModelConfig(name=family, z_dim=16, conditioning=conditioning, g=dict(g), d=dict(d)),
        objective=ObjectiveConfig(loss=loss, lipschitz=lipschitz, **objective),
        train=TrainConfig(steps=STEPS, batch_size=8, log_every=1, checkpoint_every=0),
    ).validate("test")


def train_steps(cfg: RunConfig, tmp_path) -> list[dict[str, float]]:
    trainer = Trainer(cfg, tmp_path, progress=False)
    trainer.setup()
    before = [p.detach().clone() for p in trainer.G.parameters()]
    batches = trainer.data.stream(cfg.train.batch_size, cfg.seed)
    logs = [{k: float(v) for k, v in trainer.train_step(step, batches).items()} for step in range(STEPS)]
    moved = any(not torch.equal(a, b.detach()) for a, b in zip(before, trainer.G.parameters(), strict=True))
    assert moved, "G's weights did not change"
    return logs


CASES = [
    (f, loss, lip)
    for f in NARROW
    for loss in ("nonsaturating", "hinge", "wasserstein")
    for lip in ("none", "gp", "sn")
]


@pytest.mark.parametrize("family,loss,lipschitz", CASES, ids=["-".join(c) for c in CASES])
def test_few_steps_finite(family: str, loss: str, lipschitz: str, tmp_path) -> None:
    logs = train_steps(make_cfg(family, loss, lipschitz), tmp_path)
    for entry in logs:
        assert {"d_loss", "g_loss"} <= set(entry)
        bad = {k: v for k, v in entry.items() if not math.isfinite(v)}
        assert not bad, bad
    if lipschitz == "gp":
        assert all("d_penalty" in e for e in logs)


COND_CASES = [
    ("dcgan", "concat"),
    ("dcgan", "acgan"),
    ("resnet", "projection"),
    ("sagan", "acgan"),
    ("biggan", "projection"),
]


@pytest.mark.parametrize("family,conditioning", COND_CASES, ids=["-".join(c) for c in COND_CASES])
def test_conditional_steps_finite(family: str, conditioning: str, tmp_path) -> None:
    logs = train_steps(make_cfg(family, "hinge", "none", conditioning), tmp_path)
    assert all(math.isfinite(v) for e in logs for v in e.values())
    if conditioning == "acgan":
        assert all("d_acgan" in e and "g_acgan" in e for e in logs)


def test_techniques_steps_finite(tmp_path) -> None:
    techniques = {
        "feature_matching": {"replace_g_loss": False},
        "label_smoothing": {},
        "historical_averaging": {"weight": 0.01},
        "ortho_reg": {},
    }
    cfg = make_cfg("biggan", "nonsaturating", "none", "acgan", techniques=techniques)
    cfg.model.d["minibatch_std"] = True
    cfg.model.d["minibatch_disc"] = True
    logs = train_steps(cfg, tmp_path)
    for key in (
        "g_feature_matching",
        "d_label_smoothing",
        "d_historical_averaging",
        "g_ortho_reg",
        "g_acgan",
    ):
        assert all(key in e and math.isfinite(e[key]) for e in logs), key
    assert logs[-1]["d_historical_averaging"] > 0  # a history exists after the first step
