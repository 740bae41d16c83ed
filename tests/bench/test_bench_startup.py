"""CLI start-up: ``ganbench --help`` and every ``ganbench X --help`` against ``python -c pass`` in
the same environment, in the same session. Target: each under 0.3 s on this project's 2-core machine,
where ``python -c pass`` (this venv, its .pth files) takes ~0.06 s: a ratio of at most 5.

Before the commands imported torch inside their ``run()`` only, ``ganbench --help`` took 3.7 s
(tests/unit/test_startup.py checks the help path imports no heavy module). Run:
    pytest tests/bench/test_bench_startup.py --benchmark-enable --benchmark-only -p no:cacheprovider -s
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

import pytest

from tests.unit.test_startup import help_argvs

MAX_RATIO = 5.0  # 0.3 s / 0.06 s (python -c pass here)
REPEATS = 7
# exactly what the ``ganbench`` console script runs
CLI = [sys.executable, "-c", "import sys; from ganbench.cli import main; sys.exit(main())"]


def wall_s(cmd: list[str]) -> float:
    """Median wall time of ``cmd`` over REPEATS runs (the machine is shared: the median, not the mean)."""
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def test_bench_help_startup(benchmark):
    baseline = wall_s([sys.executable, "-c", "pass"])

    def measure() -> dict[str, float]:
        return {" ".join(argv): wall_s(CLI + argv) for argv in help_argvs()}

    times = benchmark.pedantic(measure, rounds=1, iterations=1)
    ratios = {k: t / baseline for k, t in times.items()}
    info = {
        "python_c_pass_s": round(baseline, 4),
        **{f"{k}_s": round(t, 4) for k, t in times.items()},
        "max_ratio": round(max(ratios.values()), 2),
        "loadavg_1min": os.getloadavg()[0],  # read the ratios with the load
    }
    benchmark.extra_info.update(info)
    print(f"\npython -c pass: {baseline:.3f} s")
    for k, t in times.items():
        print(f"  ganbench {k}: {t:.3f} s ({ratios[k]:.1f}x)")
    worst = max(ratios, key=ratios.get)
    assert ratios[worst] <= MAX_RATIO, (
        f"ganbench {worst}: {ratios[worst]:.1f}x python -c pass (target {MAX_RATIO})"
    )


if __name__ == "__main__":
    sys.exit(
        pytest.main(
            [__file__, "-q", "-s", "-p", "no:cacheprovider", "--benchmark-enable", "--benchmark-only"]
        )
    )
