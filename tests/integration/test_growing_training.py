"""Progressive growing through the trainer, on real Fashion-MNIST (32×32) with a tiny ProGAN: the
resume test of test_training.py extended to a run interrupted in the middle of a fade-in (after the
batch size changed), the growth the networks are set to at each step, and the labels of the
history and of the periodic evaluations."""

from __future__ import annotations

import pytest
import torch

from ganbench.config import config_from_dict
from ganbench.records import read_record
from ganbench.registries import DATASETS, load_all
from ganbench.training.checkpoint import checkpoint_path, load_checkpoint
from ganbench.training.trainer import Trainer

load_all()

pytestmark = pytest.mark.skipif(
    not DATASETS.get("fashion-mnist").present(), reason="Fashion-MNIST files are not on this machine"
)


def _cfg(**eval_sets):
    return config_from_dict(
        {
            "seed": 0,
            "data": {"name": "fashion-mnist", "split": "test", "resolution": 32},
            "model": {"name": "progan", "z_dim": 8, "g": {"ch": 4}, "d": {"ch": 4}},
            "objective": {"loss": "wasserstein", "lipschitz": "gp", "techniques": {"drift": {}}},
            "optim": {"lr_g": 1e-3, "lr_d": 1e-3, "betas": [0.0, 0.99]},
            "train": {
                "steps": 40,
                "n_critic": 2,
                "batch_size": 8,
                "ema_decay": 0.9,
                "checkpoint_every": 10,
                "log_every": 5,
                "lipschitz_estimate_every": 20,
                # 4×4: 3 steps of 16 images; 8×8: 6; 16×16 (batch 4): 12; 32×32 from step 21,
                # faded in over 48 images = 6 steps (α = 1 from step 27)
                "growing": {
                    "resolutions": [4, 8, 16, 32],
                    "fade_images": 48,
                    "stabilise_images": 48,
                    "batch_sizes": [8, 8, 4, 4],
                },
            },
            "eval": {"metrics": ["fid"], "n_samples": 64, "n_real": 128, **eval_sets},
            "runtime": {"device": "cpu", "progress": False},
        },
        "test",
    )


def test_resume_in_the_middle_of_a_fade_in_equals_an_uninterrupted_run(tmp_path):
    cfg = _cfg()
    full = Trainer(cfg, tmp_path / "full").run()
    # interrupted after 24 steps: 32×32 a third faded in (the last step, 23, trained at α = 2/6),
    # after the batch size changed at step 9
    interrupted = Trainer(cfg, tmp_path / "resumed", stop_at=24)
    assert interrupted.run() is None and read_record(tmp_path / "resumed") is None
    assert (interrupted.G.level, interrupted.G.alpha) == (3, pytest.approx(2 / 6))
    resumed = Trainer(cfg, tmp_path / "resumed").run()
    assert resumed["history"] == full["history"]
    assert resumed["metrics"] == full["metrics"]
    a, b = (load_checkpoint(checkpoint_path(tmp_path / r)) for r in ("full", "resumed"))
    for key in ("G", "D", "G_ema"):
        assert all(torch.equal(a[key][k], b[key][k]) for k in a[key]), key
    # the history: images shown to D and the resolution trained, batch 8 then 4, two D steps each
    by_step = {h["step"]: h for h in full["history"]}
    assert (by_step[5]["images_seen"], by_step[5]["resolution"]) == (80, 8)
    assert (by_step[10]["images_seen"], by_step[10]["resolution"]) == (9 * 16 + 8, 16)
    assert (by_step[40]["images_seen"], by_step[40]["resolution"]) == (144 + 31 * 8, 32)
    assert full["compute"]["images_seen"] == 144 + 31 * 8


def test_periodic_evaluations_are_labelled_and_the_best_is_fully_grown(tmp_path):
    cfg = _cfg(every=10, select_best=True, selection_metric="fid")
    trainer = Trainer(cfg, tmp_path)
    rec = trainer.run()
    labels = [(e["step"], e["resolution"], e["images_seen"]) for e in rec["evals"]]
    assert labels == [(0, 4, 0), (10, 16, 152), (20, 16, 232), (30, 32, 312), (40, 32, 392)]
    # only the generators at 32×32 with the fade-in done may be selected
    assert rec["provenance"]["best"]["step"] in (30, 40)
    best = min((e for e in rec["evals"] if e["step"] >= 30), key=lambda e: e["fid"])
    assert rec["provenance"]["best"]["value"] == best["fid"]
    # every network (and the EMA copy the evaluation uses) ended fully grown
    for net in (trainer.G, trainer.D, trainer.ema.module):
        assert (net.level, net.alpha) == (3, 1.0)


COMBINATIONS = [
    (loss, lip, "none")
    for loss in ("nonsaturating", "hinge", "wasserstein", "lsgan")
    for lip in ("none", "gp", "sn", "r1")
] + [("hinge", "none", "acgan"), ("hinge", "sn", "projection")]


@pytest.mark.parametrize("loss,lipschitz,conditioning", COMBINATIONS, ids=["-".join(c) for c in COMBINATIONS])
def test_progan_trains_with_every_loss_and_lipschitz_method(tmp_path, loss, lipschitz, conditioning):
    """Two real steps of a fade-in (8×8, α = 0.5 then 1) per combination: finite losses, G moves."""
    cfg = config_from_dict(
        {
            "data": {"name": "fashion-mnist", "split": "test", "resolution": 32},
            "model": {"name": "progan", "z_dim": 8, "conditioning": conditioning,
                      "g": {"ch": 4}, "d": {"ch": 4}},
            "objective": {"loss": loss, "lipschitz": lipschitz},
            "train": {"steps": 10, "batch_size": 8, "growing": {"resolutions": [4, 8, 16, 32],
                      "fade_images": 16, "stabilise_images": 8}},
            "eval": {"metrics": ["fid"]},
            "runtime": {"device": "cpu", "progress": False},
        },
        "test",
    )  # fmt: skip
    trainer = Trainer(cfg, tmp_path, progress=False)
    trainer.setup()
    batches = trainer.schedule.stream(trainer.data, 0, 0)
    before = [p.detach().clone() for p in trainer.G.parameters()]
    for step in (2, 3):  # 8×8 from step 1, fading in over 2 steps: α = 0.5 at step 2, 1 at step 3
        trainer.growth.apply(trainer.schedule.at(step))
        logs = trainer.train_step(step, batches)
        assert all(torch.isfinite(v).all() for v in logs.values()), logs
    assert trainer.G.level == 1
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.G.parameters(), strict=True))
