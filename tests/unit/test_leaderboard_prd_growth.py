"""Leaderboard figures for issue 13's second wave: the PRD figure (precision vs recall per
configuration, the mean over seeds angle by angle), written and linked exactly when records hold
PRD curves; and the metric-vs-step curves of progressively grown runs (images shown to D on the x
axis when every evaluation has it, a labelled line where the resolution changes)."""

from __future__ import annotations

import base64
import re

import numpy as np
import pandas as pd
import pytest

import ganbench.reporting.figures as F
from ganbench.evaluation.prd import max_f_beta, prd_curve
from ganbench.io import write_json_atomic
from ganbench.reporting.figures import curves_figure, growth_changes, prd_lines
from ganbench.reporting.table import records_frame
from ganbench.reporting.writers import write_leaderboard


def _hist(rng: np.random.Generator, k: int = 20) -> np.ndarray:
    h = rng.random(k)
    return h / h.sum()


def prd_records(tmp_path, with_prd=("hinge", "wasserstein"), without=("minimax",), seeds=(0, 1)):
    """Run records; those of the losses in ``with_prd`` carry the prd metric's keys."""
    results = tmp_path / "results"
    curves = {}
    for loss in (*with_prd, *without):
        for seed in seeds:
            run_id = f"{loss}-s{seed}"
            metrics = {"fid": 10.0 + seed + len(loss)}
            if loss in with_prd:
                rng = np.random.default_rng([seed, len(loss)])
                p, r = prd_curve(_hist(rng), _hist(rng), num_angles=101)
                curves[run_id] = (p, r)
                metrics.update(
                    prd_precision=p.tolist(),
                    prd_recall=r.tolist(),
                    prd_f8=max_f_beta(p, r, 8),
                    prd_f1_8=max_f_beta(p, r, 1 / 8),
                )
            config = {
                "seed": seed,
                "data": {"name": "fashion-mnist"},
                "objective": {"loss": loss},
                "eval": {},
            }
            rec = {"run_id": run_id, "status": "finished", "config": config, "metrics": metrics}
            write_json_atomic(results / run_id / "record.json", rec)
    return results, curves


def test_prd_lines_average_seeds_angle_by_angle(tmp_path):
    results, curves = prd_records(tmp_path)
    runs = records_frame(results)
    assert "m:prd_precision" not in runs  # lists never become table columns
    lines = prd_lines(runs, ["objective.loss"])
    assert set(lines) == {"fashion-mnist"}
    by_loss = lines["fashion-mnist"]
    assert set(by_loss) == {("hinge",), ("wasserstein",)}  # minimax has no curve
    for loss in ("hinge", "wasserstein"):
        (p0, r0), (p1, r1) = curves[f"{loss}-s0"], curves[f"{loss}-s1"]
        np.testing.assert_array_equal(by_loss[(loss,)]["precision"], (p0 + p1) / 2)
        np.testing.assert_array_equal(by_loss[(loss,)]["recall"], (r0 + r1) / 2)
        assert by_loss[(loss,)]["seeds"] == 2


def test_prd_figure_appears_exactly_when_records_hold_prd_curves(tmp_path):
    results, _ = prd_records(tmp_path / "a")
    out = tmp_path / "with"
    paths = write_leaderboard(results, out)
    assert paths["prd"] == out / "prd.png" and (out / "prd.png").exists()
    md = paths["markdown"].read_text()
    assert md.count("![PRD curves](prd.png)") == 1
    page = paths["html"].read_text()
    uris = [base64.b64decode(u) for u in re.findall(r'src="data:image/png;base64,([^"]+)"', page)]
    assert (out / "prd.png").read_bytes() in uris
    # no run with the prd metric: no figure, no link
    results, _ = prd_records(tmp_path / "b", with_prd=())
    out = tmp_path / "without"
    paths = write_leaderboard(results, out)
    assert "prd" not in paths and not (out / "prd.png").exists()
    assert "prd.png" not in paths["markdown"].read_text() and "PRD" not in paths["html"].read_text()


def _capture(monkeypatch) -> list:
    """The figures the next drawing closes (plt.close keeps them for inspection)."""
    figs: list = []
    monkeypatch.setattr(F.plt, "close", lambda fig=None: figs.append(fig))
    return figs


def growth_records(tmp_path, seeds=(0, 1), drop_images_seen=False, with_resolution=True):
    """ProGAN-like runs: 8×8 then 16×16 then 32×32; images per step doubles at each phase (the
    batch grows), so images_seen is not proportional to the step."""
    results = tmp_path / "results"
    schedule = [(0, 8, 0), (100, 8, 6400), (200, 16, 19200), (300, 16, 32000), (400, 32, 57600)]
    for loss in ("hinge", "wasserstein"):
        for seed in seeds:
            run_id = f"{loss}-s{seed}"
            evals = []
            for i, (step, res, seen) in enumerate(schedule):
                e = {"step": step, "fid": 100.0 / (1 + i) + seed + (loss == "hinge")}
                if with_resolution:
                    e["resolution"] = res
                if not (drop_images_seen and loss == "hinge" and i == 2):
                    e["images_seen"] = seen
                evals.append(e)
            config = {
                "seed": seed,
                "data": {"name": "fashion-mnist"},
                "objective": {"loss": loss},
                "eval": {"metrics": ["fid"], "selection_metric": "fid"},
            }
            rec = {"run_id": run_id, "status": "finished", "config": config, "evals": evals}
            write_json_atomic(results / run_id / "record.json", rec)
    return results


def _curves(ax) -> list:
    return [line for line in ax.lines if line.get_linewidth() == pytest.approx(1.2)]


def _marks(ax) -> list:
    return [line for line in ax.lines if line.get_linewidth() == pytest.approx(0.6)]


def test_growth_curves_use_images_seen_and_mark_resolution_changes(tmp_path, monkeypatch):
    figs = _capture(monkeypatch)
    runs = records_frame(growth_records(tmp_path))
    assert curves_figure(runs, ["objective.loss"], tmp_path / "c.png") is not None
    (ax,) = figs[0].axes
    assert ax.get_xlabel() == "real images shown to D"
    curves = _curves(ax)
    assert len(curves) == 2
    for line in curves:
        np.testing.assert_array_equal(line.get_xdata(), [0, 6400, 19200, 32000, 57600])
    # hinge: fid 100/(1+i) + seed + 1, mean over seeds 0, 1 -> 100/(1+i) + 1.5
    ys = sorted(tuple(line.get_ydata()) for line in curves)
    np.testing.assert_allclose(ys[1], [100 / (1 + i) + 1.5 for i in range(5)])
    assert sorted(float(line.get_xdata()[0]) for line in _marks(ax)) == [19200, 57600]
    labels = sorted(t.get_text().strip() for t in ax.texts)
    assert labels == ["16×16", "32×32"]


def test_growth_curves_fall_back_to_steps_when_an_eval_lacks_images_seen(tmp_path, monkeypatch):
    figs = _capture(monkeypatch)
    runs = records_frame(growth_records(tmp_path, drop_images_seen=True))
    curves_figure(runs, ["objective.loss"], tmp_path / "c.png")
    (ax,) = figs[0].axes
    assert ax.get_xlabel() == "generator step"
    for line in _curves(ax):
        np.testing.assert_array_equal(line.get_xdata(), [0, 100, 200, 300, 400])
    assert sorted(float(line.get_xdata()[0]) for line in _marks(ax)) == [200, 400]


def test_curves_without_growth_have_no_marks(tmp_path, monkeypatch):
    figs = _capture(monkeypatch)
    runs = records_frame(growth_records(tmp_path, with_resolution=False))
    curves_figure(runs, ["objective.loss"], tmp_path / "c.png")
    (ax,) = figs[0].axes
    assert ax.get_xlabel() == "real images shown to D" and not _marks(ax) and not ax.texts


def test_growth_changes_per_run():
    evals = pd.DataFrame(
        {
            "run": [0, 0, 0, 1, 1, 1, 2],
            "x": [0, 10, 20, 0, 15, 30, 5],
            "resolution": [8, 16, 16, 8, 8, 16, np.nan],
        }
    )
    # run 0 reaches 16 at x=10, run 1 at x=30; run 2 has no resolution
    assert growth_changes(evals) == [(10.0, 16), (30.0, 16)]
    unordered = evals.iloc[[2, 0, 1]]
    assert growth_changes(unordered) == [(10.0, 16)]  # sorted by x within the run first
