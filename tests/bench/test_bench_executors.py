"""Executors: the same toy grid (4 runs) on 1 worker and on 2 workers, for the local process pool
and for Ray, in the same session. Recorded: each wall time, the speed-up (1-worker time / 2-worker
time; 2.0 is ideal on a 2-core machine) and, for Ray, the start-up before the first run began.

    pytest tests/bench/test_bench_executors.py --benchmark-enable --benchmark-only -p no:cacheprovider -s

Each timing is one round of a whole grid (pedantic, rounds=1): a grid is long enough that one
round is the honest unit, and a second round would only resume finished runs.
"""

import os
import time

import pytest

from ganbench.config import config_from_dict
from ganbench.runners.local import run_local

RUNS = 4
STEPS = 1500


def toy_runs():
    return [
        config_from_dict(
            {
                "seed": seed,
                "data": {"name": "ring8"},
                "model": {"g": {"width": 64, "depth": 3}, "d": {"width": 64, "depth": 3}},
                "optim": {"lr_g": 1e-3, "lr_d": 1e-3, "betas": [0.5, 0.9]},
                "train": {"steps": STEPS, "batch_size": 128, "checkpoint_every": 500, "log_every": 100},
                "eval": {"n_samples": 1000},
                "runtime": {"device": "cpu", "progress": False},
            }
        )
        for seed in range(RUNS)
    ]


def _compare(benchmark, executor, tmp_path, **kw) -> dict:
    runs = toy_runs()
    t0 = time.perf_counter()
    one = executor(runs, tmp_path / "w1", workers=1, **kw)
    t1 = time.perf_counter() - t0
    two = benchmark.pedantic(lambda: executor(runs, tmp_path / "w2", workers=2, **kw), rounds=1, iterations=1)
    t2 = benchmark.stats.stats.max
    assert [r["status"] for r in one + two] == ["finished"] * (2 * RUNS)
    info = {
        "runs": RUNS,
        "steps": STEPS,
        "workers1_s": round(t1, 2),
        "workers2_s": round(t2, 2),
        "speedup_2_vs_1": round(t1 / t2, 3),
        "loadavg_1min": os.getloadavg()[0],  # the machine is shared: read the ratio with the load
    }
    benchmark.extra_info.update(info)
    print(f"\n{executor.__name__}: {info}")
    return info


def test_bench_local_executor(benchmark, tmp_path):
    assert _compare(benchmark, run_local, tmp_path)["speedup_2_vs_1"] > 1.15  # 1.40x measured, idle machine


@pytest.mark.ray
def test_bench_ray_executor(benchmark, tmp_path):
    pytest.importorskip("ray")
    from ganbench.runners.ray_executor import read_attempts, run_ray

    t0 = time.time()
    info = _compare(benchmark, run_ray, tmp_path, poll_s=0.5)
    # start-up of the 1-worker grid: a local Ray instance and a worker process importing torch
    first = min(read_attempts(d)[0]["started"] for d in (tmp_path / "w1").iterdir())
    benchmark.extra_info["ray_startup_s"] = round(first - t0, 2)
    print(f"ray start-up before the first run: {first - t0:.1f} s (included in workers1_s)")
    assert info["speedup_2_vs_1"] > 1.15, info  # two workers beat one (1.52x measured on the idle machine)
