"""StyleGAN's training step at 32×32 against DCGAN's at matched width, as a ratio from one run.

Matched width: the same channels at each resolution. DCGAN with ``ch = c`` has 4c / 2c / c feature
maps at 4² / 8² / 16² (G; D mirrors it); StyleGAN with ``fmap_base = 8c, fmap_max = 4c`` has
4c / 2c / c / c/2 at 4² / 8² / 16² / 32² (it also convolves at 32², twice per resolution, and runs the
8-layer mapping network, AdaIN, noise and the blur). Both train with the same objective, the
StyleGAN recipes' non-saturating loss with R1 (γ = 1; the DCGAN family then uses layer norm in D),
Adam, batch 32 of random images in [-1, 1], one thread. One step = one D update (with R1) and one G
update, built from the objective the trainer uses. StyleGAN runs fully grown (32², α = 1) with style
mixing on (probability 0.9). The two alternate step by step (ABBA), each after untimed warm-up
steps, so a change of load on the shared machine hits both; the ratio is the median of the per-pair
ratios.

Run: pytest tests/bench/test_bench_stylegan.py --benchmark-enable --benchmark-only -s
"""

from __future__ import annotations

import statistics

import torch

from ganbench.config import DataConfig, ModelConfig, ObjectiveConfig, RunConfig
from ganbench.registries import load_all
from tests.helpers.gan_steps import make_step, timed

load_all()

C = 16  # DCGAN's ch; StyleGAN fmap_base 8C, fmap_max 4C
BATCH = 32
PAIRS = 10


def configs() -> dict[str, RunConfig]:
    objective = ObjectiveConfig(loss="nonsaturating", lipschitz="r1", lipschitz_params={"gamma": 1.0})
    data = DataConfig(name="fashion-mnist", resolution=32)
    return {
        "stylegan": RunConfig(
            data=data,
            model=ModelConfig(
                name="stylegan",
                z_dim=128,
                g={"w_dim": 128, "fmap_base": 8 * C, "fmap_max": 4 * C},
                d={"fmap_base": 8 * C, "fmap_max": 4 * C},
            ),
            objective=objective,
        ).validate("bench"),
        "dcgan": RunConfig(
            data=data,
            model=ModelConfig(name="dcgan", z_dim=128, g={"ch": C}, d={"ch": C}),
            objective=objective,
        ).validate("bench"),
    }


def test_stylegan_step_vs_dcgan_matched_width(benchmark) -> None:
    torch.set_num_threads(1)
    steps = {name: make_step(cfg, 1e-3, BATCH) for name, cfg in configs().items()}
    for step in steps.values():
        for i in range(2):
            step(i)

    def pairs() -> dict[str, float]:
        ratios, times = [], {"stylegan": [], "dcgan": []}
        for i in range(PAIRS):
            order = ("stylegan", "dcgan") if i % 2 == 0 else ("dcgan", "stylegan")
            got = {name: timed(steps[name], i) for name in order}
            for name, t in got.items():
                times[name].append(t)
            ratios.append(got["stylegan"] / got["dcgan"])
        return {
            "ratio": statistics.median(ratios),
            "stylegan_s": statistics.median(times["stylegan"]),
            "dcgan_s": statistics.median(times["dcgan"]),
        }

    out = benchmark.pedantic(pairs, rounds=1, iterations=1)
    benchmark.extra_info.update(out)
    print(
        f"\nStyleGAN step {out['stylegan_s']:.3f} s, DCGAN step {out['dcgan_s']:.3f} s at matched width "
        f"(ch {C}, batch {BATCH}, 32×32, NS + R1, 1 thread): ratio {out['ratio']:.2f}"
    )
    # no speed target: the ratio is the number (docs/models.md); it must at least be a real measurement
    assert out["ratio"] > 0 and out["stylegan_s"] > 0
