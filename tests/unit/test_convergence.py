"""When the curves flatten (reporting/convergence.py): the converged step of known curves, the
table over methods and seeds, and the leaderboard section and figures it feeds."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from ganbench.io import write_json_atomic
from ganbench.reporting.convergence import (
    MIN_EVALS,
    TOLERANCE,
    WINDOW,
    convergence_step,
    convergence_table,
    summary,
)
from ganbench.reporting.writers import write_leaderboard

STEPS = np.arange(0, 20001, 1000)


def test_a_step_curve_converges_where_it_steps_and_a_ramp_never_does():
    values = np.where(STEPS >= 6000, 8.0, 2.0)
    step, plateau = convergence_step(STEPS, values)
    assert plateau == 8.0
    # the centred window of 5 evaluations sees the jump 2 evaluations early: smoothed values at
    # 4000 / 5000 are 2 + 6·1/5 and 2 + 6·2/5 (outside the 15 % band of the range 6), at 6000 2 + 6·3/5
    # = 5.6 (outside), at 7000 2 + 6·4/5 = 6.8 (outside: |6.8 - 8| = 1.2 > 0.9), at 8000 8 (inside)
    assert (WINDOW, TOLERANCE) == (5, 0.15)
    assert step == 8000
    ramp = STEPS / 20000.0
    assert convergence_step(STEPS, ramp) == (None, pytest.approx(ramp[STEPS >= 15000].mean()))


def test_noise_around_a_plateau_does_not_hide_convergence():
    rng = np.random.default_rng(0)
    values = 90 * (1 - np.exp(-STEPS / 2000.0)) + rng.normal(0, 2, len(STEPS))
    step, plateau = convergence_step(STEPS, values)
    assert plateau == pytest.approx(90, abs=2)
    assert step is not None and 4000 <= step <= 9000  # 1 - e^-3 = 95 % of the way at 6000


def records(tmp_path, curves):
    """curves[(method, seed)] = values at STEPS; one toy-like record each, modes and HQ evaluated."""
    results = tmp_path / "results"
    for (method, seed), values in curves.items():
        evals = [
            {"step": int(s), "modes": float(v), "hq_percent": float(10 * v)} for s, v in zip(STEPS, values)
        ]
        config = {
            "seed": seed,
            "data": {"name": "ring8"},
            "objective": {"loss": method},
            "eval": {"metrics": ["modes"], "every": 1000},
        }
        rec = {
            "run_id": f"{method}-s{seed}",
            "status": "finished",
            "config": config,
            "metrics": {"modes": float(values[-1]), "hq_percent": float(10 * values[-1])},
            "evals": evals,
        }
        write_json_atomic(results / rec["run_id"] / "record.json", rec)
    return results


def test_table_uses_the_seed_mean_curve(tmp_path):
    early = np.where(STEPS >= 3000, 8.0, 0.0)
    late = np.where(STEPS >= 17000, 8.0, 0.0)
    results = records(
        tmp_path, {("fast", 0): early, ("fast", 1): early, ("slow", 0): late, ("slow", 1): late}
    )
    from ganbench.reporting.table import records_frame

    df = records_frame(results)
    table = convergence_table(df, ["objective.loss"], ["modes", "hq_percent"]).set_index("objective.loss")
    assert table.loc["fast", "modes/converged_step"] == 5000  # the step at 3000, seen through the window
    assert table.loc["fast", "modes/plateau"] == 8.0 and table.loc["fast", "steps"] == 20000
    assert math.isnan(table.loc["slow", "modes/converged_step"])  # flat only in the last quarter
    s = summary(table.reset_index(), ["modes"]).iloc[0]
    assert s["flat"] == "1 of 2" and s["largest"] == 5000


def test_the_leaderboard_writes_the_section_and_one_curves_figure_per_metric(tmp_path):
    rng = np.random.default_rng(1)
    curves = {(m, s): 8 * (1 - np.exp(-STEPS / k)) + rng.normal(0, 0.1, len(STEPS))
              for m, k in (("a", 1000.0), ("b", 3000.0)) for s in (0, 1)}  # fmt: skip
    out = tmp_path / "lb"
    paths = write_leaderboard(records(tmp_path, curves), out)
    text = (out / "leaderboard.md").read_text()
    assert "## When the curves flatten" in text and "2 of 2" in text
    assert paths["curves"].name == "curves.png" and paths["curves hq_percent"].exists()
    data = json.loads((out / "convergence.json").read_text())
    steps = {r["objective.loss"]: r["modes/converged_step"] for r in data["methods"]}
    assert steps["a"] < steps["b"]


def test_runs_with_few_evaluations_get_no_section(tmp_path):
    short = STEPS[: MIN_EVALS - 1]
    results = tmp_path / "results"
    evals = [{"step": int(s), "modes": 8.0} for s in short]
    rec = {"run_id": "r", "status": "finished", "config": {"seed": 0, "data": {"name": "ring8"}},
           "metrics": {"modes": 8.0}, "evals": evals}  # fmt: skip
    write_json_atomic(results / "r" / "record.json", rec)
    write_leaderboard(results, tmp_path / "lb")
    assert "When the curves flatten" not in (tmp_path / "lb" / "leaderboard.md").read_text()
    assert not (tmp_path / "lb" / "convergence.json").exists()
    assert convergence_table(pd.DataFrame({"status": [], "evals": [], "run_id": []}), [], ["modes"]).empty
