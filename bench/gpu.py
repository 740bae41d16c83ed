"""GPU checks in one run, one table: what `bench/gpu.sh` prints on a machine with CUDA.

- step rate of each image family (32×32×3, the cifar10 recipes' networks, hinge loss) through the
  real ``Trainer.train_step``, at fp32, bf16 autocast, channels_last and torch.compile;
- Fréchet distance (2048-d) on the GPU vs numpy on the CPU, same statistics (agreement and time);
- precision/recall/density/coverage (10k × 10k × 2048) on the GPU vs the CPU (agreement and time);
- data-parallel scaling is bench/ddp_scaling.py (torchrun on 1, 2, ... GPUs), which bench/gpu.sh runs after
  this script.

The data is a registered stand-in dataset of random images (the GPU machine has no dataset files);
step rates do not depend on pixel values. ``--quick`` shrinks everything so the script itself can be
checked on a CPU machine (the numbers are then meaningless).
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Iterator

import numpy as np
import torch
from tabulate import tabulate

from ganbench.config import load_config
from ganbench.data.base import Batch, DataSource
from ganbench.evaluation.functional import feature_statistics, frechet_distance, prdc
from ganbench.registries import DATASETS, load_all
from ganbench.training.trainer import Trainer

FAMILIES = ("dcgan", "resnet", "sagan", "biggan")
VARIANTS = {
    "fp32": {},
    "bf16": {"runtime.amp": "bf16"},
    "channels_last": {"runtime.channels_last": True},
    "compile": {"runtime.compile": True},
}


class RandomImages(DataSource):
    """Random 3×32×32 images in [-1, 1] with 10 labels, generated on the fly (deterministic)."""

    kind = "images"
    num_classes = 10
    sample_shape = (3, 32, 32)

    def __init__(self, cfg: object = None) -> None:
        self.name = "gpu-bench-random"

    def stream(self, batch_size: int, seed: int, start: int = 0) -> Iterator[Batch]:
        g = torch.Generator().manual_seed(seed)
        while True:
            yield (
                torch.rand(batch_size, 3, 32, 32, generator=g) * 2 - 1,
                torch.randint(10, (batch_size,), generator=g),
            )


def step_rate(family: str, sets: dict, steps: int, device: str) -> float:
    cfg = load_config(
        f"recipes/cifar10/{family}.yaml",
        [f"data.name={RandomImages().name}", f"runtime.device={device}", "runtime.progress=false"]
        + [f"{k}={v}" for k, v in sets.items()],
    )
    trainer = Trainer(cfg, "/tmp/ganbench-gpu-bench")
    trainer.setup()
    batches = trainer.data.stream(cfg.train.batch_size, 0)
    for s in range(3):  # warm-up: kernels, autotuning, compilation
        trainer.train_step(s, batches)
    if trainer.device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for s in range(steps):
        trainer.train_step(3 + s, batches)
    if trainer.device.type == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - t0)


def frechet_row(n: int, d: int, device: str) -> list:
    rng = np.random.default_rng(0)
    a, b = (
        rng.standard_normal((n, d)).astype(np.float32),
        rng.standard_normal((n, d)).astype(np.float32) * 1.1,
    )
    t0 = time.perf_counter()
    cpu = frechet_distance(*feature_statistics(a), *feature_statistics(b))
    t_cpu = time.perf_counter() - t0
    t0 = time.perf_counter()
    gpu = frechet_distance(
        *feature_statistics(torch.from_numpy(a).to(device)),
        *feature_statistics(torch.from_numpy(b).to(device)),
    )
    t_gpu = time.perf_counter() - t0
    return [
        f"Fréchet distance {n}×{d}",
        f"{t_cpu:.2f} s",
        f"{t_gpu:.2f} s",
        f"rel diff {abs(gpu - cpu) / cpu:.1e}",
    ]


def prdc_row(n: int, d: int, device: str) -> list:
    rng = np.random.default_rng(1)
    real, fake = (
        rng.standard_normal((n, d)).astype(np.float32),
        rng.standard_normal((n, d)).astype(np.float32) + 0.1,
    )
    t0 = time.perf_counter()
    cpu = prdc(real, fake)
    t_cpu = time.perf_counter() - t0
    t0 = time.perf_counter()
    gpu = prdc(torch.from_numpy(real).to(device), torch.from_numpy(fake).to(device))
    t_gpu = time.perf_counter() - t0
    same = all(cpu[k] == gpu[k] for k in ("precision", "recall", "density", "coverage"))
    return [
        f"P/R/D/C {n}×{n}×{d}",
        f"{t_cpu:.2f} s",
        f"{t_gpu:.2f} s",
        "equal" if same else f"DIFFER {cpu} vs {gpu}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check the script on a CPU")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    load_all()
    DATASETS.register(RandomImages().name)(RandomImages)
    steps = 2 if args.quick else 30
    families = FAMILIES[:1] if args.quick else FAMILIES
    rows = []
    for family in families:
        rates = {}
        for variant, sets in VARIANTS.items():
            if args.quick and variant == "compile":
                rates[variant] = "—"
                continue
            try:
                rates[variant] = f"{step_rate(family, copy.deepcopy(sets), steps, device):.1f}"
            except Exception as e:  # noqa: BLE001 - one failing variant must not hide the others
                rates[variant] = f"error: {type(e).__name__}: {str(e)[:60]}"
        rows.append([f"{family} G steps/s (cifar10 recipe)", *(rates[v] for v in VARIANTS)])
    print(tabulate(rows, headers=["training", *VARIANTS], tablefmt="github"))
    n, d = (2000, 64) if args.quick else (50_000, 2048)
    k = (500, 64) if args.quick else (10_000, 2048)
    table = [
        frechet_row(n, d, device),
        prdc_row(*k, device),
    ]
    print()
    print(tabulate(table, headers=["metric", "CPU", device, "agreement"], tablefmt="github"))


if __name__ == "__main__":
    main()
