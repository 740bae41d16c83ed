"""The leaderboard table: run records → one pandas row per run → aggregated, ranked rows.

Rows are the configurations being compared (by default every config key that varies across the
records except the dataset, the seed and the evaluation settings); column groups are datasets, and
within a dataset each distinct set of evaluation settings (``ganbench.reporting.settings``): records
measured differently are never averaged into one cell. Each cell is mean ± std (ddof=1) over
training seeds with the seed count. Rows are ranked by the mean, over column groups, of their rank
on the primary metric: the one every run selected its checkpoint by, else the declared score with
the lowest ``rank_priority`` present. Metric facts (direction, header, role) are asked of
``ganbench.evaluation.metric``; this module keeps no metric names.
"""

from __future__ import annotations

import difflib
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ganbench.errors import ConfigError
from ganbench.evaluation.metric import display_order, is_lower_better, output_info
from ganbench.records import iter_records
from ganbench.reporting.settings import ColumnGroup, column_groups, header_suffix, key_text, record_provenance
from ganbench.reporting.stats import ties_with_best

DATASET_KEY = "data.name"
SEED_KEY = "seed"
GROUP_COL = "column_group"  # each run's column-group label, for the figures
CURVES_COL = "curves"  # each run's list-valued metrics (key -> list of numbers), for the figures
# Config keys that never define a default row: identity, runtime, bookkeeping, evaluation settings
# (those make column groups instead).
_NEVER_ROWS = ("name", "runtime.", "train.checkpoint_every", "train.log_every", "eval.")
# What the benchmark compares: kept as rows over keys that vary along with them.
BENCHMARK_AXES = ("model.name", "model.conditioning", "objective.loss", "objective.lipschitz")


def metric_header(key: str) -> str:
    """The column header of a metric: its declared header, else the key."""
    info = output_info(key)
    return info.header if info is not None else key


def _default_metrics(present: list[str]) -> list[str]:
    """The score columns: declared scores in table order, then undeclared keys alphabetically."""
    declared = [o.key for o in display_order() if o.role == "score" and not o.key.endswith("*")]
    known = {k for k in present if output_info(k) is not None}
    return [m for m in declared if m in present] + sorted(k for k in present if k not in known)


def _primary_order() -> list[str]:
    ranked = [o for o in display_order() if o.rank_priority is not None]
    return [o.key for o in sorted(ranked, key=lambda o: o.rank_priority)]


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, f"{key}."))
        else:
            out[key] = tuple(v) if isinstance(v, list) else v
    return out


def _malformed(rec: dict[str, Any]) -> str | None:
    """What makes a record (valid JSON, with a status) unusable for the table, or None."""
    if not isinstance(rec.get("run_id"), str) or not rec["run_id"]:
        return "no run_id"
    if not isinstance(rec.get("config"), dict):
        return f"config is {type(rec.get('config')).__name__}, not a mapping"
    for section, kind in (("metrics", dict), ("compute", dict), ("provenance", dict), ("evals", list)):
        if rec.get(section) is not None and not isinstance(rec[section], kind):
            return (
                f"{section} is {type(rec[section]).__name__}, not a {'list' if kind is list else 'mapping'}"
            )
    return None


def _is_number_list(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
    )


def records_frame(results_dir: str | Path) -> pd.DataFrame:
    """One row per run: flattened config (``cfg:`` columns), metrics (``m:``; list-valued ones such
    as PRD's curves in ``curves``), evaluation provenance (``ev:``), periodic evaluations, status,
    compute, paths. A record that is not a usable run
    record is skipped with a warning naming its file, like a truncated one."""
    rows = []
    for path, rec in iter_records(results_dir):
        problem = _malformed(rec)
        if problem is not None:
            print(f"warning: skipping {path}: not a ganbench run record ({problem})", file=sys.stderr)
            continue
        row = {f"cfg:{k}": v for k, v in _flatten(rec["config"]).items()}
        row.update(
            {f"m:{k}": v for k, v in (rec.get("metrics") or {}).items() if isinstance(v, (int, float))}
        )
        row.update(record_provenance(rec))
        compute = rec.get("compute") or {}
        row.update(
            {
                "run_id": rec["run_id"],
                "status": rec["status"],
                "error": rec.get("error"),
                "dir": str(path.parent),
                "wall_time_s": compute.get("wall_time_s"),
                "steps_per_s": compute.get("steps_per_s"),
                "evals": rec.get("evals") or [],
                # list-valued metrics (PRD's curves), for the figures; the table reads numbers only
                CURVES_COL: {k: v for k, v in (rec.get("metrics") or {}).items() if _is_number_list(v)},
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)


def default_row_keys(df: pd.DataFrame) -> list[str]:
    """The config keys that vary across runs, less those the other varying keys determine: a grid's
    overrides (e.g. a width set per architecture) vary with its axes but are not axes themselves.
    Of two keys that determine each other (a D norm set per Lipschitz method) the benchmark's own
    axes (BENCHMARK_AXES) stay, then the earlier key."""
    candidates = [
        col[4:]
        for col in df.columns
        if col.startswith("cfg:")
        and col[4:] not in (DATASET_KEY, SEED_KEY)
        and not any(col[4:] == p or col[4:].startswith(p) for p in _NEVER_ROWS)
    ]
    # the table's text ("—" for a key a run lacks): astype(str) keeps NaN as NaN in pandas 3
    text = as_key_text(df[[f"cfg:{k}" for k in candidates]])
    text.columns = candidates
    keys = [k for k in candidates if text[k].nunique() > 1]
    drop_order = [k for k in reversed(keys) if k not in BENCHMARK_AXES] + [
        k for k in reversed(keys) if k in BENCHMARK_AXES
    ]
    # the dataset is a column, not a row: a key it determines (the model of a task, as in a
    # translation grid's Pix2Pix on paired and CycleGAN on unpaired data) is not a row key either
    dataset_col = "cfg:" + DATASET_KEY
    if dataset_col in df.columns and df[dataset_col].nunique() > 1:
        text[DATASET_KEY] = as_key_text(df[[dataset_col]])[dataset_col].to_numpy()
    by_dataset = [DATASET_KEY] if DATASET_KEY in text.columns else []
    for key in drop_order:
        others = [k for k in keys if k != key] + by_dataset
        if others and (text.groupby(others, dropna=False)[key].nunique() <= 1).all():
            keys.remove(key)
    return keys


def as_key_text(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.apply(lambda col: col.map(key_text))


def key_columns(df: pd.DataFrame, row_keys: list[str]) -> pd.DataFrame:
    """Each run's row-key values as the table writes them, one column per key, for the figures.
    Runs compared by no config key (build_leaderboard's stand-in "run") are told apart by run id."""
    cols = [f"cfg:{k}" for k in row_keys if f"cfg:{k}" in df.columns] or ["run_id"]
    return as_key_text(df[cols])


def _cell(values: pd.Series, diverged: int) -> str:
    finite = values[np.isfinite(values.astype(float))]
    n = len(values)
    if n == 0:
        return "—"
    if len(finite) == 0:
        text = "NaN"
    elif len(finite) == 1:
        text = f"{finite.iloc[0]:.3g}"
    else:
        text = f"{finite.mean():.3g} ± {finite.std(ddof=1):.2g}"
    notes = []
    if len(finite) < n:
        notes.append(f"NaN in {n - len(finite)}")
    if diverged:
        notes.append(f"{diverged} diverged")
    return f"{text} (n={n}{'; ' + ', '.join(notes) if notes else ''})"


def _selection_metrics(df: pd.DataFrame) -> list[str]:
    """The metric every run selected its checkpoint by (e.g. modes on stacked data), if they agree:
    what the runs were tuned for is what the table ranks by."""
    col = "cfg:eval.selection_metric"
    values = set(df[col].dropna()) if col in df else set()
    return list(values) if len(values) == 1 else []


def ranking_metric(df: pd.DataFrame, metrics: list[str]) -> str:
    """The metric the table ranks by: the one the runs selected checkpoints by, else the declared
    score with the lowest rank priority, else the first of ``metrics``."""
    return next((m for m in _selection_metrics(df) + _primary_order() if m in metrics), metrics[0])


def default_metrics(df: pd.DataFrame) -> list[str]:
    """The score columns the table shows by default for the runs of ``df``."""
    return _default_metrics([c[2:] for c in df.columns if c.startswith("m:")])


def unknown_error(
    option: str, what: str, unknown: list[str], valid: list[str], valid_text: str
) -> ConfigError:
    return _unknown(option, what, unknown, valid, valid_text)


def _unknown(option: str, what: str, unknown: list[str], valid: list[str], valid_text: str) -> ConfigError:
    """The error for unknown names given to ``option``, with the closest valid name as a hint."""
    hints = [m for k in unknown for m in difflib.get_close_matches(k, valid, n=1)]
    return ConfigError(
        f"{option}: unknown {what}(s) {', '.join(map(repr, unknown))}"
        + (f" (did you mean {', '.join(map(repr, hints))}?)" if hints else "")
        + f"; {valid_text}: {', '.join(valid) or 'none'}"
    )


def _check_row_keys(df: pd.DataFrame, row_keys: list[str]) -> None:
    """Every row key is a config key of the records (a typo would be a KeyError deep in pandas)."""
    valid = sorted(c[4:] for c in df.columns if c.startswith("cfg:"))
    unknown = [k for k in row_keys if k not in valid]
    if unknown:
        raise _unknown("--rows", "row key", unknown, valid, "valid row keys (config keys of these records)")


def _check_metrics(present: list[str], metrics: list[str]) -> None:
    """Every requested metric is in some record: an unknown name would be a NaN column the table
    is ranked by."""
    unknown = [m for m in metrics if m not in present]
    if unknown:
        raise _unknown("--metrics", "metric", unknown, sorted(present), "the records have")


@dataclass
class Leaderboard:
    """The aggregated table. ``numeric`` has, per column group × metric, the mean, std (ddof=1), n
    and a per-group rank; ``display`` the same as text cells; ``groups`` what each column group is
    (dataset and evaluation settings); ``run_groups`` each run's group label (index of the input)."""

    display: pd.DataFrame
    numeric: pd.DataFrame
    row_keys: list[str]
    metrics: list[str]
    groups: list[ColumnGroup]
    run_groups: pd.Series
    tested_groups: list[str] = field(default_factory=list)  # groups with ties-with-best marks

    @property
    def split_settings(self) -> bool:
        """Whether some dataset has more than one column group (settings that differ)."""
        return len({g.dataset for g in self.groups}) < len(self.groups)


def leaderboard(
    df: pd.DataFrame, row_keys: list[str] | None = None, metrics: list[str] | None = None
) -> Leaderboard:
    """Aggregate the runs of ``records_frame`` (finished and diverged ones) into a Leaderboard."""
    df = df[df["status"].isin(["finished", "diverged"])].copy()
    if df.empty:
        raise ValueError("no finished or diverged run records to aggregate")
    if row_keys is None:
        row_keys = default_row_keys(df)
    else:
        _check_row_keys(df, row_keys)
    if "cfg:" + DATASET_KEY not in df.columns:
        df["cfg:" + DATASET_KEY] = "data"
    present = [c[2:] for c in df.columns if c.startswith("m:")]
    if metrics is None:
        # settings, per-class intra-FIDs and the per-input Lipschitz estimates: --metrics shows them
        metrics = _default_metrics(present)
    else:
        _check_metrics(present, metrics)
    if not metrics:
        raise ValueError("the run records have no metrics to tabulate")
    primary = ranking_metric(df, metrics)
    metrics = [primary] + [m for m in metrics if m != primary]  # the ranking metric leads the table
    run_groups, groups = column_groups(df, "cfg:" + DATASET_KEY, row_keys)
    df[GROUP_COL] = run_groups
    group_cols = [f"cfg:{k}" for k in row_keys]
    if not group_cols:
        df["cfg:run"] = "all"
        group_cols, row_keys = ["cfg:run"], ["run"]
    for col in group_cols:
        # a key some records lack (NaN) is a value of its own ("—"): with pandas >= 3, astype(str)
        # keeps NaN and groupby would silently drop those runs from the table
        df[col] = df[col].map(key_text)
    # a column group shows the metrics some of its runs have (translation: L1/PSNR/SSIM on paired
    # tasks, cycle L1 on unpaired ones), and always the ranking metric
    group_metrics = {
        g.label: [
            m
            for m in metrics
            if m == primary or (f"m:{m}" in df and df.loc[df[GROUP_COL] == g.label, f"m:{m}"].notna().any())
        ]
        for g in groups
    }
    numeric_rows, display_rows = [], []
    seed_values: dict[str, list[np.ndarray]] = {g.label: [] for g in groups}  # primary, finite
    for key, grp in df.groupby(group_cols, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        num: dict[str, Any] = dict(zip(row_keys, key))
        disp: dict[str, Any] = dict(zip(row_keys, key))
        for g in groups:
            sub = grp[grp[GROUP_COL] == g.label]
            diverged = int((sub["status"] == "diverged").sum())
            for m in group_metrics[g.label]:
                col = f"m:{m}"
                # a run without the metric (diverged before evaluation) counts as NaN: n never hides it
                vals = sub[col].astype(float) if col in sub else pd.Series([math.nan] * len(sub))
                finite = vals[np.isfinite(vals.astype(float))]
                if m == metrics[0]:
                    seed_values[g.label].append(finite.to_numpy(dtype=float))
                num[f"{g.label}/{m}/mean"] = finite.mean() if len(finite) else math.nan
                num[f"{g.label}/{m}/std"] = finite.std(ddof=1) if len(finite) > 1 else math.nan
                num[f"{g.label}/{m}/n"] = len(vals)
                header = f"{g.label} {metric_header(m)}{header_suffix(m, g)}"
                disp[header] = _cell(vals, diverged if m == metrics[0] else 0)
        numeric_rows.append(num)
        display_rows.append(disp)
    numeric = pd.DataFrame(numeric_rows)
    display = pd.DataFrame(display_rows)
    ranks = []
    for g in groups:
        col = f"{g.label}/{primary}/mean"
        ascending = is_lower_better(primary)
        # NaN (no usable value) ranks last
        filled = numeric[col].fillna(math.inf if ascending else -math.inf)
        numeric[f"{g.label}/rank"] = filled.rank(ascending=ascending, method="min")
        ranks.append(numeric[f"{g.label}/rank"])
    numeric["rank"] = pd.concat(ranks, axis=1).mean(axis=1)
    tested = _mark_ties(numeric, display, groups, primary, seed_values)
    display.insert(0, "rank", numeric["rank"].rank(method="min").astype(int))
    order = numeric["rank"].sort_values(kind="stable").index
    return Leaderboard(
        display.loc[order].reset_index(drop=True),
        numeric.loc[order].reset_index(drop=True),
        row_keys,
        metrics,
        groups,
        run_groups,
        tested,
    )


TIED_MARK = "≈"  # on the ranking metric's cell: indistinguishable from the group's best row
UNTESTED_MARK = "untested"  # fewer than 2 seeds: cannot be tested


def _mark_ties(
    numeric: pd.DataFrame,
    display: pd.DataFrame,
    groups: list[ColumnGroup],
    primary: str,
    seed_values: dict[str, list[np.ndarray]],
) -> list[str]:
    """Per column group where some row has >= 2 finite seeds: ``<group>/tied_with_best`` (True,
    False, or None when untested), ``<group>/p_welch`` and ``<group>/p_holm`` against the group's
    best row (``ganbench.reporting.stats``), and the mark on the ranking metric's cell. Groups with
    one seed per row get neither columns nor marks (a one-seed table stays as it was)."""
    tested = []
    for g in groups:
        values = seed_values[g.label]
        if not any(len(v) >= 2 for v in values):
            continue
        tested.append(g.label)
        best = int(np.argmin(numeric[f"{g.label}/rank"].to_numpy()))
        ties = ties_with_best(values, best)
        numeric[f"{g.label}/tied_with_best"] = [t.tied for t in ties]
        numeric[f"{g.label}/p_welch"] = [math.nan if t.p_welch is None else t.p_welch for t in ties]
        numeric[f"{g.label}/p_holm"] = [math.nan if t.p_holm is None else t.p_holm for t in ties]
        header = f"{g.label} {metric_header(primary)}{header_suffix(primary, g)}"
        display[header] = [
            f"{cell} {TIED_MARK}"
            if t.tied
            else (f"{cell} {UNTESTED_MARK}" if t.tied is None and cell != "—" else cell)
            for cell, t in zip(display[header], ties)
        ]
    return tested


def build_leaderboard(
    df: pd.DataFrame, row_keys: list[str] | None = None, metrics: list[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, list[str], list[str]]:
    """(display table, numeric table, row keys, metrics) of :func:`leaderboard`."""
    lb = leaderboard(df, row_keys, metrics)
    return lb.display, lb.numeric, lb.row_keys, lb.metrics
