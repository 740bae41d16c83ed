"""Trainer overhead: ganbench's loop vs a minimal hand-written PyTorch loop on the same networks,
in the same run. Target: ≤ 10 % overhead (ratio ≤ 1.10).

Both loops do the same work per step: one D step (non-saturating loss) and one G step, Adam,
batch 256 of ring8 points, MLP 128×3. The hand-written loop has no checkpoints, logging, EMA or
Lipschitz estimates; ganbench runs with its defaults (logging every 100 steps, checkpoint every
500, Lipschitz estimate every 500), so the ratio includes those costs.

Second benchmark: the toy recipe's step rate at the thread default vs 1 and 2 threads, alone and
next to a process spinning one core, as ratios from one run (docs/executors.md has the numbers).
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ganbench.config import config_from_dict
from ganbench.data.toy import Ring8 as ring8
from ganbench.models.mlp import MLPDiscriminator, MLPGenerator
from ganbench.training.trainer import Trainer

STEPS = 1500
BATCH = 256


def cfg():
    return config_from_dict(
        {
            "data": {"name": "ring8"},
            "model": {"g": {"width": 128, "depth": 3}, "d": {"width": 128, "depth": 3}},
            "optim": {"lr_g": 1e-3, "lr_d": 1e-3, "betas": [0.5, 0.9]},
            "train": {
                "steps": STEPS,
                "batch_size": BATCH,
                "checkpoint_every": 500,
                "log_every": 100,
                "lipschitz_estimate_every": 500,
            },
            "runtime": {"device": "cpu", "progress": False},
        }
    )


def minimal_loop() -> float:
    torch.manual_seed(0)
    data = ring8()
    G, D = MLPGenerator(2, 2, 128, 3), MLPDiscriminator(2, 128, 3)
    opt_g = torch.optim.Adam(G.parameters(), 1e-3, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), 1e-3, betas=(0.5, 0.9))
    stream = data.stream(BATCH, 0)
    t0 = time.perf_counter()
    for _ in range(STEPS):
        real, _ = next(stream)
        with torch.no_grad():
            fake = G(torch.randn(BATCH, 2))
        loss_d = F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        loss_g = F.softplus(-D(G(torch.randn(BATCH, 2)))).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
    return time.perf_counter() - t0


def ganbench_loop(tmp_path) -> float:
    trainer = Trainer(cfg(), tmp_path / f"run{time.perf_counter_ns()}", progress=False)
    rec = trainer.run()
    return STEPS / rec["compute"]["steps_per_s"]  # training loop time only (excludes final evaluation)


def test_trainer_overhead_vs_minimal_loop(benchmark, tmp_path):
    def both():
        # interleave to share the machine's noise evenly
        return [(minimal_loop(), ganbench_loop(tmp_path)) for _ in range(3)]

    pairs = benchmark.pedantic(both, rounds=1, iterations=1)
    base = min(p[0] for p in pairs)
    ours = min(p[1] for p in pairs)
    ratio = ours / base
    benchmark.extra_info.update(
        {
            "minimal_s": base,
            "ganbench_s": ours,
            "ratio": ratio,
            "minimal_steps_per_s": STEPS / base,
            "ganbench_steps_per_s": STEPS / ours,
        }
    )
    print(
        f"\nminimal loop {STEPS / base:.0f} steps/s, ganbench {STEPS / ours:.0f} steps/s, ratio {ratio:.3f}"
    )
    assert ratio <= 1.10, f"ganbench trainer overhead {100 * (ratio - 1):.1f}% > 10%"


# --- the thread default ------------------------------------------------------------------------------

THREAD_STEPS = 400  # the measurement: ganbench train recipes/toy/grid25.yaml --set train.steps=400


def toy_rate(tmp_path, threads) -> tuple[float, int]:
    """Steps/s of the toy recipe (grid25, MLP 128x3, batch 256) at ``runtime.threads=threads``, and
    the threads the run used."""
    from ganbench.config import load_config

    recipe = Path(__file__).resolve().parents[2] / "recipes" / "toy" / "grid25.yaml"
    sets = [f"train.steps={THREAD_STEPS}", "runtime.progress=false"]
    if threads is not None:
        sets.append(f"runtime.threads={threads}")
    cfg = load_config(recipe, sets)
    rec = Trainer(cfg, tmp_path / f"run{time.perf_counter_ns()}", progress=False).run()
    return rec["compute"]["steps_per_s"], rec["compute"]["threads"]


def test_toy_step_rate_by_thread_setting(benchmark, tmp_path):
    """The default (runtime.threads unset: one thread for the toy's tiny work) vs 1 and 2 threads
    (2 = torch's old default here), alone and next to a process spinning one core."""
    settings = {"default": None, "1 thread": 1, "2 threads": 2}

    used: dict[str, int] = {}

    def measure():
        rates = {}
        for load in ("alone", "busy"):
            spinner = None
            if load == "busy":
                spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
                time.sleep(1.0)
            try:
                for name, threads in settings.items():
                    rates[(load, name)], used[name] = toy_rate(tmp_path, threads)
            finally:
                if spinner is not None:
                    spinner.kill()
                    spinner.wait()
        return rates

    torch_threads = torch.get_num_threads()
    torch.set_num_threads(max(2, os.cpu_count() or 2))  # what a fresh process would start with
    try:
        rates = benchmark.pedantic(measure, rounds=1, iterations=1)
    finally:
        torch.set_num_threads(torch_threads)
    info = {"loadavg_1min": os.getloadavg()[0], "cores": os.cpu_count(), "steps": THREAD_STEPS}
    for (load, name), rate in rates.items():
        info[f"{load} {name} steps/s"] = rate
    for load in ("alone", "busy"):
        info[f"{load} default/1"] = rates[(load, "default")] / rates[(load, "1 thread")]
        info[f"{load} default/2"] = rates[(load, "default")] / rates[(load, "2 threads")]
    benchmark.extra_info.update(info)
    print("\n" + "\n".join(f"{k}: {v:.3g}" if isinstance(v, float) else f"{k}: {v}" for k, v in info.items()))
    # the default is the one-thread setting for this work (the same setting: its rate ratio to 1 thread
    # is noise), and beats torch's default of 2 threads next to a busy core
    assert used == {"default": 1, "1 thread": 1, "2 threads": 2}
    assert info["busy default/2"] > 1.0, "one thread should beat two when a core is busy"
