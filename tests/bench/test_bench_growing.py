"""Progressive growing: ProGAN's step time at 32×32 against DCGAN's at matched width (a ratio, both
measured in this run), and the trainer's overhead with a growing schedule against a minimal
hand-written growing loop on the same networks (target ≤ 10 %, ratio ≤ 1.10).

Matched width: the widest layer of both networks has the same number of feature maps (DCGAN ch c:
G 4c-2c-c, D c-2c-4c; ProGAN ch 4c: 4c maps at every resolution). Both step on real Fashion-MNIST
batches with the same objective (non-saturating loss, no Lipschitz method), one thread.

The minimal loop does the growing work a trainer must do (the resolution and α of each step from
the images seen, ``set_growth`` on G and D, real images faded like G's output), nothing else; the
trainer adds its schedule object, logging every 100 steps, checkpoints every 500, Lipschitz
estimates every 500.
"""

from __future__ import annotations

import os
import time

import pytest
import torch
import torch.nn.functional as F

from ganbench.config import config_from_dict
from ganbench.models.growing import to_resolution
from ganbench.registries import DATASETS, MODELS, load_all
from ganbench.training.trainer import Trainer

load_all()

pytestmark = pytest.mark.skipif(
    not DATASETS.get("fashion-mnist").present(), reason="Fashion-MNIST files are not on this machine"
)

BATCH = 32
WIDTH = 16  # DCGAN ch 16 (G 64-32-16), ProGAN ch 64
GROWING_CH = 16  # the overhead benchmark's ProGAN (16 maps at every resolution)
STEPS = 150
FADE = STABILISE = 800  # images: 8×8 for 25 steps, 16×16 for 50, 32×32 from step 75 (faded by 100)


def _cfg(family: str, growing: bool = False, steps: int = STEPS):
    ch = GROWING_CH if growing else WIDTH * (4 if family == "progan" else 1)
    train = {"steps": steps, "batch_size": BATCH, "log_every": 100, "checkpoint_every": 500}
    if growing:
        train["growing"] = {"resolutions": [8, 16, 32], "fade_images": FADE, "stabilise_images": STABILISE}
    return config_from_dict(
        {
            "data": {"name": "fashion-mnist", "split": "test", "resolution": 32},
            "model": {"name": family, "z_dim": 64, "g": {"ch": ch}, "d": {"ch": ch}},
            "objective": {"loss": "nonsaturating", "lipschitz": "none"},
            "train": train,
            "eval": {"metrics": ["fid"], "n_samples": 100, "n_real": 200},
            "runtime": {"device": "cpu", "threads": 1, "progress": False},
        },
        "bench",
    )


def step_time(family: str, tmp_path, n: int = 20) -> float:
    """Seconds per generator step at full resolution (ProGAN fully grown)."""
    trainer = Trainer(_cfg(family), tmp_path / f"{family}{time.perf_counter_ns()}", progress=False)
    trainer.setup()
    batches = trainer.data.stream(BATCH, 0)
    trainer.train_step(0, batches)  # warm-up
    t0 = time.perf_counter()
    for s in range(n):
        trainer.train_step(s, batches)
    return (time.perf_counter() - t0) / n


def test_progan_step_time_vs_dcgan_at_matched_width(benchmark, tmp_path):
    torch.set_num_threads(1)

    def both():
        return [(step_time("dcgan", tmp_path), step_time("progan", tmp_path)) for _ in range(3)]

    pairs = benchmark.pedantic(both, rounds=1, iterations=1)
    dcgan, progan = min(p[0] for p in pairs), min(p[1] for p in pairs)
    ratio = progan / dcgan
    benchmark.extra_info.update(
        {"dcgan_s_per_step": dcgan, "progan_s_per_step": progan, "ratio": ratio,
         "loadavg_1min": os.getloadavg()[0]}
    )  # fmt: skip
    print(f"\nDCGAN {1 / dcgan:.2f} steps/s, ProGAN {1 / progan:.2f} steps/s at 32×32, ratio {ratio:.2f}")
    assert ratio > 0


def minimal_growing_loop() -> float:
    cfg = _cfg("progan", growing=True)
    torch.manual_seed(0)
    data = DATASETS.get("fashion-mnist")(cfg.data)
    G, D = MODELS.get("progan").build(cfg, data)
    opt_g = torch.optim.Adam(G.parameters(), 1e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), 1e-4, betas=(0.5, 0.999))
    stream = data.stream(BATCH, 0)
    t0 = time.perf_counter()
    for step in range(STEPS):
        images = step * BATCH  # 8×8 for STABILISE images, 16×16 for FADE + STABILISE, then 32×32
        level, into = (0, images) if images < STABILISE else (1, images - STABILISE)
        if level == 1 and into >= FADE + STABILISE:
            level, into = 2, into - FADE - STABILISE
        alpha = 1.0 if level == 0 else min(1.0, into / FADE)
        G.set_growth(level + 1, alpha), D.set_growth(level + 1, alpha)  # levels of (4, 8, 16, 32)
        real, _ = next(stream)
        if alpha < 1.0:
            r = 8 * 2**level
            x = to_resolution(real, r)
            real = to_resolution(torch.lerp(to_resolution(to_resolution(x, r // 2), r), x, alpha), 32)
        with torch.no_grad():
            fake = G(torch.randn(BATCH, 64))
        loss_d = F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        D.requires_grad_(False)
        loss_g = F.softplus(-D(G(torch.randn(BATCH, 64)))).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        D.requires_grad_(True)
    return time.perf_counter() - t0


def ganbench_growing_loop(tmp_path) -> float:
    rec = Trainer(
        _cfg("progan", growing=True), tmp_path / f"run{time.perf_counter_ns()}", progress=False
    ).run()
    return STEPS / rec["compute"]["steps_per_s"]  # the training loop only (not the final evaluation)


def test_growing_trainer_overhead_vs_minimal_loop(benchmark, tmp_path):
    torch.set_num_threads(1)

    def both():
        return [(minimal_growing_loop(), ganbench_growing_loop(tmp_path)) for _ in range(3)]

    pairs = benchmark.pedantic(both, rounds=1, iterations=1)
    base, ours = min(p[0] for p in pairs), min(p[1] for p in pairs)
    ratio = ours / base
    benchmark.extra_info.update(
        {"minimal_s": base, "ganbench_s": ours, "ratio": ratio, "loadavg_1min": os.getloadavg()[0]}
    )
    print(
        f"\nminimal growing loop {STEPS / base:.2f} steps/s, ganbench {STEPS / ours:.2f} steps/s, "
        f"ratio {ratio:.3f}"
    )
    assert ratio <= 1.10, f"ganbench trainer overhead with growing {100 * (ratio - 1):.1f}% > 10%"
