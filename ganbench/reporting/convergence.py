"""When do a grid's curves flatten? The step from which each method's periodic evaluations stay on
their final plateau, per metric: the evidence a default training budget is chosen from.

Per method (row keys) and column group, a metric's curve is the mean over training seeds of the
periodic evaluations (as the curves figure draws it), smoothed by a centred moving average over
``WINDOW`` evaluations (mode counts and HQ % hop between neighbouring evaluations: a trend decides,
not one evaluation). Its *plateau* is the mean of the raw curve over the last quarter of training;
the *converged step* is the first evaluation step from which the smoothed curve stays within a band
around the plateau to the end: ``TOLERANCE`` × the smoothed curve's range, or the standard deviation
of the raw curve over the last quarter where that is wider (a curve that scatters on its plateau).
A method whose converged step falls in the last quarter has not flattened: its budget was too short
to tell, and the table says so. A pure function of the records; every table states the rule.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ganbench.reporting.table import GROUP_COL, key_columns

WINDOW = 5
TOLERANCE = 0.15
LAST_PART = 0.25  # the plateau: the last quarter of training
MIN_EVALS = 6  # fewer periodic evaluations than this cannot show a plateau


def _smooth(values: np.ndarray, window: int = WINDOW) -> np.ndarray:
    """Centred moving average; the ends average the neighbours they have."""
    half = window // 2
    return np.array([values[max(0, i - half) : i + half + 1].mean() for i in range(len(values))])


def convergence_step(steps: np.ndarray, values: np.ndarray) -> tuple[float | None, float]:
    """(converged step, plateau) of one curve; the step is None for a curve that has not flattened
    (it reaches its plateau band only in the last quarter of training)."""
    steps, values = np.asarray(steps, float), np.asarray(values, float)
    end = steps[-1]
    last = steps >= steps[0] + (1 - LAST_PART) * (end - steps[0])
    plateau = float(values[last].mean())
    smooth = _smooth(values)
    # the band: a share of the curve's rise, but never narrower than the curve's own scatter on
    # its plateau (a collapsed run's mode count hopping 0-3 is flat, not unconverged)
    scatter = float(values[last].std(ddof=1)) if last.sum() > 1 else 0.0
    band = max(TOLERANCE * float(smooth.max() - smooth.min()), scatter)
    outside = np.nonzero(np.abs(smooth - plateau) > band)[0]
    first_inside = 0 if len(outside) == 0 else int(outside[-1]) + 1
    if first_inside >= len(steps) or last[first_inside]:
        return None, plateau
    return float(steps[first_inside]), plateau


def eval_metrics(runs: pd.DataFrame) -> list[str]:
    """Metrics every run with periodic evaluations recorded at each of them, in first-seen order."""
    names: dict[str, None] = {}
    for evals in runs["evals"]:
        for e in evals or []:
            for k, v in e.items():
                if k not in ("step", "images_seen", "resolution") and isinstance(v, (int, float)):
                    names.setdefault(k, None)
    return list(names)


def convergence_table(runs: pd.DataFrame, row_keys: list[str], metrics: list[str]) -> pd.DataFrame:
    """One row per (column group, method): per metric its plateau and converged step (NaN: not
    flat), and the training length. Runs with fewer than ``MIN_EVALS`` evaluations are left out."""
    runs = runs[runs["status"].isin(["finished", "diverged"])]
    if runs.empty:
        return pd.DataFrame()
    keys = key_columns(runs, row_keys)
    key_names = [c.removeprefix("cfg:") for c in keys.columns]
    groups = runs[GROUP_COL] if GROUP_COL in runs else pd.Series("all", index=runs.index)
    points = []
    for (index, run), key in zip(runs.iterrows(), keys.itertuples(index=False, name=None)):
        evals = run["evals"] or []
        if len(evals) < MIN_EVALS:
            continue
        for e in evals:
            for m in metrics:
                v = e.get(m)
                if isinstance(v, (int, float)) and math.isfinite(v):
                    points.append(
                        {"group": groups[index], "key": key, "metric": m, "step": e["step"], "value": v}
                    )
    if not points:
        return pd.DataFrame()
    df = pd.DataFrame(points)
    rows: list[dict[str, Any]] = []
    for (group, key), sub in df.groupby(["group", "key"], sort=True):
        row: dict[str, Any] = {"group": group, **dict(zip(key_names, key))}
        row["steps"] = int(sub["step"].max())
        for m in metrics:
            curve = sub[sub["metric"] == m].groupby("step")["value"].mean()
            if len(curve) < MIN_EVALS:
                row[f"{m}/converged_step"], row[f"{m}/plateau"] = math.nan, math.nan
                continue
            step, plateau = convergence_step(curve.index.to_numpy(), curve.to_numpy())
            row[f"{m}/converged_step"] = math.nan if step is None else step
            row[f"{m}/plateau"] = plateau
        rows.append(row)
    return pd.DataFrame(rows)


def summary(table: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Per column group and metric: how many methods flattened, and the median, 80th percentile and
    largest converged step among them."""
    rows = []
    for group, sub in table.groupby("group", sort=True):
        for m in metrics:
            steps = sub[f"{m}/converged_step"]
            flat = steps.dropna()
            rows.append(
                {
                    "group": group,
                    "metric": m,
                    "flat": f"{len(flat)} of {len(steps)}",
                    "median step": float(flat.median()) if len(flat) else math.nan,
                    "80th percentile": float(flat.quantile(0.8, interpolation="higher"))
                    if len(flat)
                    else math.nan,
                    "largest": float(flat.max()) if len(flat) else math.nan,
                }
            )
    return pd.DataFrame(rows)


RULE_TEXT = (
    f"Converged step: the first periodic evaluation from which the seed-mean curve, smoothed over "
    f"{WINDOW} evaluations, stays near its plateau (the mean over the last {LAST_PART:.0%} of training): "
    f"within {TOLERANCE:.0%} of the curve's range, or within its scatter there (the standard deviation "
    f"over the last {LAST_PART:.0%}) if that is wider. 'not flat': it gets there only in the last "
    f"{LAST_PART:.0%}, so the budget was too short to tell."
)


def display(table: pd.DataFrame, row_keys: list[str], metrics: list[str]) -> pd.DataFrame:
    """The table as text: per metric 'plateau @ step' or 'plateau, not flat'."""
    out = table[["group", *[k for k in row_keys if k in table]]].copy()
    for m in metrics:
        cells = []
        for plateau, step in zip(table[f"{m}/plateau"], table[f"{m}/converged_step"]):
            if not np.isfinite(plateau):
                cells.append("—")
            elif np.isfinite(step):
                cells.append(f"{plateau:.3g} @ {int(step)}")
            else:
                cells.append(f"{plateau:.3g}, not flat")
        out[m] = cells
    return out
