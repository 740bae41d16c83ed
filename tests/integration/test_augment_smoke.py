"""Discriminator augmentation in real training on Fashion-MNIST (a tiny DCGAN on the CPU): ADA's p
lands in the run record's history, a resumed run continues with the same p bit for bit, and both
techniques train through ``ganbench train``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from ganbench.cli import main
from ganbench.config import config_from_dict
from ganbench.objectives.augment import Ada
from ganbench.records import read_record
from ganbench.registries import DATASETS, load_all
from ganbench.training.checkpoint import checkpoint_path, load_checkpoint
from ganbench.training.trainer import Trainer

load_all()

pytestmark = pytest.mark.skipif(
    not DATASETS.get("fashion-mnist").present(), reason="Fashion-MNIST files are not on this machine"
)

STEPS = 24


def tiny(**techniques) -> dict:
    """A DCGAN of width 4 on 1 000 test images, FID from 64 samples against 200 real images."""
    return {
        "seed": 0,
        "data": {"name": "fashion-mnist", "split": "train", "params": {"train_first": 1000}},
        "model": {"name": "dcgan", "z_dim": 16, "g": {"ch": 4}, "d": {"ch": 4}},
        "objective": {"loss": "nonsaturating", "lipschitz": "none", "techniques": techniques},
        "train": {"steps": STEPS, "batch_size": 8, "log_every": 4, "checkpoint_every": 12},
        "eval": {"metrics": ["fid"], "n_samples": 64, "n_real": 200, "reference_split": "test"},
        "runtime": {"device": "cpu", "threads": 1},
    }


# speed_kimg 0.1: p moves by 8·4/100 = 0.32 per update, so it visibly rises and falls in 24 steps
ADA = {"ada": {"target": 0.6, "speed_kimg": 0.1, "interval": 4}}


def test_ada_p_is_in_the_history_and_resumes_exactly(tmp_path: Path) -> None:
    cfg = config_from_dict(tiny(**ADA))
    full = Trainer(cfg, tmp_path / "full", progress=False).run()
    ps = [h["ada_p"] for h in full["history"]]
    assert [h["step"] for h in full["history"]] == list(range(4, STEPS + 1, 4))
    assert all(0.0 <= p < 1.0 for p in ps)
    assert ps[0] == pytest.approx(0.32)  # one update of 0.32 up (D is confident on reals early on)
    # each update moves p by the formula's step, or to the clamp just below 1
    for a, b in zip(ps, ps[1:], strict=False):
        assert abs(b - a) == pytest.approx(0.32) or b == Ada.P_MAX
    assert any(b < a for a, b in zip(ps, ps[1:], strict=False))  # and it falls when D is fooled
    # interrupted at the step-12 checkpoint, then resumed by a fresh trainer
    assert Trainer(cfg, tmp_path / "resumed", stop_at=12, progress=False).run() is None
    assert read_record(tmp_path / "resumed") is None
    resumed = Trainer(cfg, tmp_path / "resumed", progress=False).run()
    assert resumed["history"] == full["history"]
    assert resumed["metrics"] == full["metrics"]
    wf, wr = (load_checkpoint(checkpoint_path(tmp_path / r))["G"] for r in ("full", "resumed"))
    assert all(torch.equal(wf[k], wr[k]) for k in wf)


@pytest.mark.parametrize("techniques", [ADA, {"diffaugment": {"policy": "color,translation,cutout"}}])
def test_ganbench_train_with_augmentation(tmp_path: Path, techniques: dict, capsys) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(tiny(**techniques)))
    assert main(["train", str(recipe), "--results", str(tmp_path / "results"), "--no-progress"]) in (0, None)
    records = list((tmp_path / "results").rglob("record.json"))
    assert len(records) == 1
    rec = json.loads(records[0].read_text())
    assert rec["status"] == "finished"
    assert rec["config"]["objective"]["techniques"] == techniques
    assert rec["metrics"]["fid"] > 0
    assert ("ada_p" in rec["history"][-1]) == ("ada" in techniques)


def test_train_first_keeps_the_first_images_of_the_train_split_only() -> None:
    from ganbench.config import DataConfig
    from ganbench.errors import ConfigError

    dataset = DATASETS.get("fashion-mnist")
    full = dataset(DataConfig(name="fashion-mnist", split="train"))
    small = dataset(DataConfig(name="fashion-mnist", split="train", params={"train_first": 1000}))
    assert len(small) == 1000 and len(full) == 60000
    assert torch.equal(small.images, full.images[:1000])
    assert len(small.for_split("test")) == 10000  # the FID reference stays whole
    with pytest.raises(ConfigError, match=r"data\.params\.train_first=0: must be an integer in 1\.\.60000"):
        dataset(DataConfig(name="fashion-mnist", split="train", params={"train_first": 0}))
