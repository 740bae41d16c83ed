"""StyleGAN2's training step at 32×32 against DCGAN's and ResNet's (SNGAN) at matched width, as
ratios from one run.

Matched width: the same channels at each resolution.
- vs DCGAN (``ch = c``: 4c / 2c / c feature maps at 4² / 8² / 16², D mirrored): StyleGAN2 with
  ``channel_base = 32c, channel_max = 4c`` has 4c / 4c / 2c / c at 4² / 8² / 16² / 32² (channels =
  min(base // res, max)); it also convolves at 32², twice per resolution, with modulation,
  demodulation, noise, the FIR up/down-sampling filters, a skip G and a residual D.
- vs ResNet (``ch = w``: w channels at every resolution, G and D): StyleGAN2 with
  ``channel_base = 32w, channel_max = w`` (w at every resolution).
All train with the same objective (non-saturating loss with R1 γ = 1 on every step, so the ratio
is the networks'; StyleGAN2's lazy R1 and path length are off), Adam, batch 32 of random images in
[-1, 1], one thread. One step = one D update (with R1) and one G update, from the objective the
trainer uses; StyleGAN2 has style mixing on (0.9) and a 2-layer mapping network (the ``cifar``
config). The networks take turns step by step in rotating order, each after untimed warm-up
steps, so a change of load on the shared machine hits all of them; each ratio is the median of the
per-round ratios.

Run: pytest tests/bench/test_bench_stylegan2.py --benchmark-enable --benchmark-only -s
"""

from __future__ import annotations

import statistics

import torch

from ganbench.config import DataConfig, ModelConfig, ObjectiveConfig, RunConfig
from ganbench.registries import load_all
from tests.helpers.gan_steps import make_step, timed

load_all()

C = 16  # DCGAN's ch
W = 32  # ResNet's ch
BATCH = 32
ROUNDS = 8


def _sg2(base: int, top: int) -> ModelConfig:
    return ModelConfig(
        name="stylegan2",
        z_dim=128,
        g={"w_dim": 128, "mapping_layers": 2, "channel_base": base, "channel_max": top, "conv_clamp": 256},
        d={"channel_base": base, "channel_max": top, "conv_clamp": 256},
    )


def configs() -> dict[str, RunConfig]:
    objective = ObjectiveConfig(loss="nonsaturating", lipschitz="r1", lipschitz_params={"gamma": 1.0})
    data = DataConfig(name="fashion-mnist", resolution=32)
    models = {
        "stylegan2_vs_dcgan": _sg2(32 * C, 4 * C),
        "dcgan": ModelConfig(name="dcgan", z_dim=128, g={"ch": C}, d={"ch": C}),
        "stylegan2_vs_resnet": _sg2(32 * W, W),
        "resnet": ModelConfig(name="resnet", z_dim=128, g={"ch": W}, d={"ch": W}),
    }
    return {
        n: RunConfig(data=data, model=m, objective=objective).validate("bench") for n, m in models.items()
    }


def test_stylegan2_step_vs_dcgan_and_resnet_matched_width(benchmark) -> None:
    torch.set_num_threads(1)
    steps = {name: make_step(cfg, 2e-4, BATCH) for name, cfg in configs().items()}
    for step in steps.values():
        for i in range(2):
            step(i)
    names = list(steps)

    def rounds() -> dict[str, float]:
        times: dict[str, list[float]] = {n: [] for n in names}
        vs_dcgan, vs_resnet = [], []
        for i in range(ROUNDS):
            order = names[i % len(names) :] + names[: i % len(names)]
            got = {n: timed(steps[n], i) for n in order}
            for n, t in got.items():
                times[n].append(t)
            vs_dcgan.append(got["stylegan2_vs_dcgan"] / got["dcgan"])
            vs_resnet.append(got["stylegan2_vs_resnet"] / got["resnet"])
        out = {f"{n}_s": statistics.median(t) for n, t in times.items()}
        out["ratio_vs_dcgan"] = statistics.median(vs_dcgan)
        out["ratio_vs_resnet"] = statistics.median(vs_resnet)
        return out

    out = benchmark.pedantic(rounds, rounds=1, iterations=1)
    benchmark.extra_info.update(out)
    print(
        f"\nStyleGAN2 {out['stylegan2_vs_dcgan_s']:.3f} s vs DCGAN {out['dcgan_s']:.3f} s per step (ch {C}): "
        f"ratio {out['ratio_vs_dcgan']:.2f}; StyleGAN2 {out['stylegan2_vs_resnet_s']:.3f} s vs ResNet "
        f"{out['resnet_s']:.3f} s (ch {W}): ratio {out['ratio_vs_resnet']:.2f} "
        f"(batch {BATCH}, 32×32, NS + R1, 1 thread)"
    )
    # no speed target: the ratios are the numbers (docs/models.md); they must be real measurements
    assert out["ratio_vs_dcgan"] > 0 and out["ratio_vs_resnet"] > 0
