"""Data-parallel scaling: images/s of one recipe on 1, 2, ... N GPUs (torchrun per N), and the
scaling efficiency rate(N) / (N · rate(1)). The global batch is the recipe's train.batch_size times
N (weak scaling: each GPU keeps the same per-GPU batch).

usage: python bench/ddp_scaling.py [--recipe R] [--gpus 1,2,4,8] [--steps 200] [--per-gpu-batch 64]
Needs CUDA GPUs; prints one line per N and writes nothing but results/bench-ddp/ (a scratch folder).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(recipe: str, n: int, steps: int, batch: int, results: Path) -> float:
    out = results / f"n{n}"
    shutil.rmtree(out, ignore_errors=True)
    torchrun = Path(sys.executable).with_name("torchrun")
    sets = [
        f"train.steps={steps}",
        f"train.batch_size={batch * n}",
        "train.checkpoint_every=0",
        "eval.every=0",
        "eval.n_samples=1000",
        "runtime.progress=false",
    ]
    cli = Path(sys.executable).with_name("ganbench")  # the console script: a Python file torchrun can run
    cmd = [str(torchrun), "--standalone", f"--nproc_per_node={n}", str(cli), "train", recipe]
    cmd += [a for s in sets for a in ("--set", s)] + ["--results", str(out), "--no-progress"]
    subprocess.run(cmd, check=True, cwd=ROOT)
    record = json.loads(next(out.rglob("record.json")).read_text())
    return float(record["compute"]["samples_per_s"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default="recipes/cifar10/resnet.yaml")
    ap.add_argument("--gpus", default="1,2,4,8", help="world sizes to measure (up to the GPUs present)")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--per-gpu-batch", type=int, default=64)
    args = ap.parse_args()
    import torch

    have = torch.cuda.device_count()
    sizes = [n for n in map(int, args.gpus.split(",")) if n <= have]
    if not sizes:
        sys.exit(f"no CUDA GPUs (found {have}); this benchmark needs at least one")
    results = ROOT / "results" / "bench-ddp"
    base = None
    print(f"{'gpus':>4} {'images/s':>10} {'efficiency':>10}")
    for n in sizes:
        rate = run(args.recipe, n, args.steps, args.per_gpu_batch, results)
        base = base if base is not None else rate / n
        print(f"{n:>4} {rate:>10.1f} {rate / (n * base):>10.2%}", flush=True)


if __name__ == "__main__":
    main()
