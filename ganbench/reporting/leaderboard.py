"""Leaderboards: a pure function of run records → pandas tables → Markdown, CSV and figures.

Rows are the configurations being compared (by default every config key that varies across the
records except the dataset and the seed); column groups are datasets; each cell is mean ± std over
training seeds with the seed count. Rows are ranked by the mean, over datasets, of their rank on
each dataset's primary metric: the one every run selected its checkpoint by, else the first
of PRIMARY_ORDER present.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tabulate import tabulate

from ganbench.evaluation.metric import display_order, is_lower_better, output_info
from ganbench.io import write_json_atomic, write_text_atomic
from ganbench.records import iter_records
from ganbench.reporting.html import leaderboard_html

DATASET_KEY = "data.name"
SEED_KEY = "seed"
# Config keys that never define a row: identity, runtime, bookkeeping.
_NEVER_ROWS = ("name", "runtime.", "train.checkpoint_every", "train.log_every", "eval.")
# What the benchmark compares: kept as rows over keys that vary along with them.
BENCHMARK_AXES = ("model.name", "model.conditioning", "objective.loss", "objective.lipschitz")
# Metric facts (direction, header, whether a key is a score, a detail or a setting, which score ranks
# when runs name no selection metric) are declared by each metric: ganbench.evaluation.metric.


def _header(key: str) -> str:
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


def records_frame(results_dir: str | Path) -> pd.DataFrame:
    """One row per run: flattened config (``cfg:`` columns), metrics, periodic evaluations, status,
    compute, paths."""
    rows = []
    for path, rec in iter_records(results_dir):
        row = {f"cfg:{k}": v for k, v in _flatten(rec["config"]).items()}
        row.update({f"m:{k}": v for k, v in rec.get("metrics", {}).items() if isinstance(v, (int, float))})
        row.update(
            {
                "run_id": rec["run_id"],
                "status": rec["status"],
                "error": rec.get("error"),
                "dir": str(path.parent),
                "wall_time_s": rec.get("compute", {}).get("wall_time_s"),
                "steps_per_s": rec.get("compute", {}).get("steps_per_s"),
                "evals": rec.get("evals") or [],
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
    text = _as_key_text(df[[f"cfg:{k}" for k in candidates]])
    text.columns = candidates
    keys = [k for k in candidates if text[k].nunique() > 1]
    drop_order = [k for k in reversed(keys) if k not in BENCHMARK_AXES] + [
        k for k in reversed(keys) if k in BENCHMARK_AXES
    ]
    for key in drop_order:
        others = [k for k in keys if k != key]
        if others and (text.groupby(others, dropna=False)[key].nunique() <= 1).all():
            keys.remove(key)
    return keys


def _key_text(value: Any) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _as_key_text(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.apply(lambda col: col.map(_key_text))


def _key_columns(df: pd.DataFrame, row_keys: list[str]) -> pd.DataFrame:
    """Each run's row-key values as the table writes them, one column per key, for the figures.
    Runs compared by no config key (build_leaderboard's stand-in "run") are told apart by run id."""
    cols = [f"cfg:{k}" for k in row_keys if f"cfg:{k}" in df.columns] or ["run_id"]
    return _as_key_text(df[cols])


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


def build_leaderboard(
    df: pd.DataFrame, row_keys: list[str] | None = None, metrics: list[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, list[str], list[str]]:
    """Aggregate runs into (display table, numeric table, row keys, metrics).

    The numeric table has, per dataset × metric, the mean, std (ddof=1), n and a per-dataset rank.
    """
    df = df[df["status"].isin(["finished", "diverged"])].copy()
    if df.empty:
        raise ValueError("no finished or diverged run records to aggregate")
    row_keys = default_row_keys(df) if row_keys is None else row_keys
    if DATASET_KEY.join(["cfg:", ""]) not in df.columns:
        df["cfg:" + DATASET_KEY] = "data"
    present = [c[2:] for c in df.columns if c.startswith("m:")]
    if metrics is None:
        # settings, per-class intra-FIDs and the per-input Lipschitz estimates: --metrics shows them
        metrics = _default_metrics(present)
    primary = next((m for m in _selection_metrics(df) + _primary_order() if m in metrics), metrics[0])
    metrics = [primary] + [m for m in metrics if m != primary]  # the ranking metric leads the table
    group_cols = [f"cfg:{k}" for k in row_keys]
    if not group_cols:
        df["cfg:run"] = "all"
        group_cols, row_keys = ["cfg:run"], ["run"]
    for col in group_cols:
        # a key some records lack (NaN) is a value of its own ("—"): with pandas >= 3, astype(str)
        # keeps NaN and groupby would silently drop those runs from the table
        df[col] = df[col].map(_key_text)
    numeric_rows, display_rows = [], []
    datasets = sorted(df["cfg:" + DATASET_KEY].unique())
    for key, grp in df.groupby(group_cols, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        num: dict[str, Any] = dict(zip(row_keys, key))
        disp: dict[str, Any] = dict(zip(row_keys, key))
        for ds in datasets:
            sub = grp[grp["cfg:" + DATASET_KEY] == ds]
            diverged = int((sub["status"] == "diverged").sum())
            for m in metrics:
                col = f"m:{m}"
                # a run without the metric (diverged before evaluation) counts as NaN: n never hides it
                vals = sub[col].astype(float) if col in sub else pd.Series([math.nan] * len(sub))
                finite = vals[np.isfinite(vals.astype(float))]
                num[f"{ds}/{m}/mean"] = finite.mean() if len(finite) else math.nan
                num[f"{ds}/{m}/std"] = finite.std(ddof=1) if len(finite) > 1 else math.nan
                num[f"{ds}/{m}/n"] = len(vals)
                disp[f"{ds} {_header(m)}"] = _cell(vals, diverged if m == metrics[0] else 0)
        numeric_rows.append(num)
        display_rows.append(disp)
    numeric = pd.DataFrame(numeric_rows)
    display = pd.DataFrame(display_rows)
    ranks = []
    for ds in datasets:
        col = f"{ds}/{primary}/mean"
        ascending = is_lower_better(primary)
        # NaN (no usable value) ranks last
        filled = numeric[col].fillna(math.inf if ascending else -math.inf)
        numeric[f"{ds}/rank"] = filled.rank(ascending=ascending, method="min")
        ranks.append(numeric[f"{ds}/rank"])
    numeric["rank"] = pd.concat(ranks, axis=1).mean(axis=1)
    display.insert(0, "rank", numeric["rank"].rank(method="min").astype(int))
    order = numeric["rank"].sort_values(kind="stable").index
    return (
        display.loc[order].reset_index(drop=True),
        numeric.loc[order].reset_index(drop=True),
        row_keys,
        metrics,
    )


def write_leaderboard(
    results_dir: str | Path,
    out_dir: str | Path,
    title: str | None = None,
    row_keys: list[str] | None = None,
    metrics: list[str] | None = None,
    figure: bool = True,
) -> dict[str, Path]:
    """Write leaderboard.md, .csv, .json and .html (self-contained), with the sample figure and,
    when runs evaluated periodically, the metric-vs-step curves."""
    results_dir, out_dir = Path(results_dir), Path(out_dir)
    df = records_frame(results_dir)
    if df.empty:
        raise FileNotFoundError(f"{results_dir}: no run records (record.json) found")
    display, numeric, row_keys, metrics = build_leaderboard(df, row_keys, metrics)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out_dir / "leaderboard.md", "csv": out_dir / "leaderboard.csv"}
    write_text_atomic(paths["csv"], numeric.to_csv(index=False))
    seeds = sorted(df[f"cfg:{SEED_KEY}"].unique()) if f"cfg:{SEED_KEY}" in df else []
    status = df["status"].value_counts().to_dict()
    eval_seeds = sorted(df["cfg:eval.seed"].unique()) if "cfg:eval.seed" in df else []
    n_fake = sorted(df["cfg:eval.n_samples"].unique()) if "cfg:eval.n_samples" in df else []
    title = title or "Leaderboard"
    intro = (
        f"Generated by `ganbench leaderboard {results_dir}` from {len(df)} run records "
        f"({', '.join(f'{v} {k}' for k, v in status.items())}). Each cell: mean ± std over training seeds "
        f"(n = seeds). Training seeds: {', '.join(map(str, seeds))}. Evaluation seed(s): "
        f"{', '.join(map(str, eval_seeds))}; generated samples per evaluation: "
        f"{', '.join(map(str, n_fake))}. "
        f"Rows: {', '.join(row_keys)}; ranked by the mean over datasets of the rank on `{metrics[0]}`"
        f" ({'lower' if is_lower_better(metrics[0]) else 'higher'} is better)."
    )
    lines = [
        f"# {title}",
        "",
        intro,
        "",
        tabulate(display, headers="keys", tablefmt="github", showindex=False),
        "",
    ]
    failed = [(r.run_id, r.error) for r in df[df["status"] == "failed"].itertuples()]
    if failed:
        lines += ["## Failed runs (not in the table)", ""]
        lines += [f"- `{run_id}`: {error}" for run_id, error in failed]
        lines.append("")
    figures: list[tuple[str, Path]] = []
    if figure:
        fig_path = sample_figure(df, row_keys, out_dir / "samples.png")
        if fig_path is not None:
            paths["figure"] = fig_path
            figures.append(("samples of each run (first seed)", fig_path))
            lines += ["![samples of each run (first seed)](samples.png)", ""]
        curve_path = curves_figure(df, row_keys, out_dir / "curves.png")
        if curve_path is not None:
            paths["curves"] = curve_path
            figures.append(
                ("periodic evaluations during training (selection seed; mean over seeds)", curve_path)
            )
            lines += [
                "Periodic evaluations during training (selection seed; mean over seeds):",
                "",
                "![metric vs step](curves.png)",
                "",
            ]
    write_text_atomic(paths["markdown"], "\n".join(lines))
    paths["html"] = out_dir / "leaderboard.html"
    write_text_atomic(paths["html"], leaderboard_html(title, intro, display, failed, figures))
    paths["json"] = out_dir / "leaderboard.json"
    write_json_atomic(
        paths["json"], {"row_keys": row_keys, "metrics": metrics, "rows": numeric.to_dict("records")}
    )
    return paths


def sample_figure(df: pd.DataFrame, row_keys: list[str], path: Path) -> Path | None:
    """A grid of samples (first seed of each configuration). Point data is drawn as scatters with
    the mode centres, images as the run's saved sample grid. With two or more row keys (e.g. loss ×
    Lipschitz method) the figure is a matrix: the last key across within each dataset, the
    combinations of the others down; with one key, one row per configuration and one column per
    dataset."""
    import matplotlib.pyplot as plt

    from ganbench.registries import DATASETS, load_all
    from ganbench.reporting.plots import SAMPLES_NPY, SAMPLES_PNG, scatter_axes

    load_all()
    df = df[df["status"].isin(["finished", "diverged"])]
    has_points = [Path(d, SAMPLES_NPY).exists() for d in df["dir"]]
    has_images = [Path(d, SAMPLES_PNG).exists() for d in df["dir"]]
    df = df[[p or i for p, i in zip(has_points, has_images)]]
    if df.empty:
        return None
    df = df.sort_values(f"cfg:{SEED_KEY}")
    datasets = sorted(df["cfg:" + DATASET_KEY].unique())
    keys = _key_columns(df, row_keys)
    key_cols = list(keys.columns)
    if len(key_cols) >= 2:
        down = sorted(set(keys[key_cols[:-1]].itertuples(index=False, name=None)))
        across = sorted(keys[key_cols[-1]].unique())
        cells = [[(ds, (*d, a)) for ds in datasets for a in across] for d in down]
    else:
        configs = sorted(set(keys.itertuples(index=False, name=None)))
        cells = [[(ds, key) for ds in datasets] for key in configs]
    # (dataset, config key) -> the run with the lowest seed (df is sorted by seed)
    keyed: dict[tuple[Any, tuple[str, ...]], pd.Series] = {}
    for (_, r), key in zip(df.iterrows(), keys.itertuples(index=False, name=None)):
        keyed.setdefault((r["cfg:" + DATASET_KEY], key), r)
    n_rows, n_cols = len(cells), len(cells[0])
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.9 * n_cols, 1.9 * n_rows), dpi=100, squeeze=False)
    matrix = len(key_cols) >= 2
    across_name = key_cols[-1].removeprefix("cfg:").rsplit(".", 1)[-1]
    for i, row in enumerate(cells):
        for j, (ds, key) in enumerate(row):
            ax = axes[i][j]
            # a matrix is labelled at its edges (column heads, row names): per-panel titles of
            # three keys overlap their neighbours
            title = (
                (f"{ds}\n{across_name}: {key[-1]}" if i == 0 else "")
                if matrix
                else f"{ds}: {' / '.join(key)}"
            )
            if matrix and j == 0:
                ax.text(-0.06, 0.5, " / ".join(key[:-1]), rotation=90, transform=ax.transAxes, ha="right",
                        va="center", fontsize=7)  # fmt: skip
            run = keyed.get((ds, key))
            if run is None:
                ax.set_title(title, fontsize=7)
                ax.axis("off")
                continue
            run_dir = Path(run["dir"])
            if (run_dir / SAMPLES_NPY).exists():
                pts = np.load(run_dir / SAMPLES_NPY)
                centres = (
                    getattr(DATASETS.get(ds)(None), "centres", None) if ds in ("ring8", "grid25") else None
                )
                scatter_axes(ax, pts, centres, title=title)
            else:
                ax.imshow(plt.imread(run_dir / SAMPLES_PNG))
                ax.set_title(title, fontsize=7)
                ax.axis("off")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


MAX_LINES_PER_PANEL = 8  # beyond this a single panel's lines and legend stop being readable
LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)))


def curves_figure(runs: pd.DataFrame, row_keys: list[str], path: Path) -> Path | None:
    """Metric vs training step from each run's periodic evaluations (``records_frame``'s ``evals``),
    mean over seeds. One row of panels per dataset. When a dataset has more configurations than fit
    in one panel and there are two or more row keys, the first key (e.g. the architecture) gets a
    panel per value; within a panel the next key sets the colour and the rest the line style, and the
    legends sit outside the axes so they never cover a curve."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

    runs = runs[runs["status"].isin(["finished", "diverged"])]
    keys = _key_columns(runs, row_keys)
    key_names = [c.removeprefix("cfg:") if c.startswith("cfg:") else "run" for c in keys.columns]
    rows = []
    for (_, run), key in zip(runs.iterrows(), keys.itertuples(index=False, name=None)):
        if not run["evals"]:
            continue
        selection = run.get("cfg:eval.selection_metric")
        metric = selection if isinstance(selection, str) else run["cfg:eval.metrics"][0]
        for e in run["evals"]:
            if isinstance(e.get(metric), (int, float)):
                rows.append(
                    {"dataset": run["cfg:" + DATASET_KEY], "key": key, "metric": metric, "step": e["step"],
                     "value": e[metric]}
                )  # fmt: skip
    if not rows:
        return None
    df = pd.DataFrame(rows)
    n_keys = len(key_names)
    datasets = sorted(df["dataset"].unique())
    split = n_keys >= 2 and df.groupby("dataset")["key"].nunique().max() > MAX_LINES_PER_PANEL
    panels = sorted({k[0] for k in df["key"]}) if split else [None]
    line_keys = sorted({k[1:] if split else k for k in df["key"]})
    colour_of = {v: i for i, v in enumerate(sorted({k[0] for k in line_keys}))}
    style_of = {v: i for i, v in enumerate(sorted({k[1:] for k in line_keys}))}
    cmap = plt.get_cmap("tab10" if len(colour_of) <= 10 else "tab20")

    def line_format(line_key: tuple[str, ...]) -> dict[str, Any]:
        return {
            "color": cmap(colour_of[line_key[0]] % cmap.N),
            "linestyle": LINESTYLES[style_of[line_key[1:]] % len(LINESTYLES)],
        }

    fig, axes = plt.subplots(
        len(datasets), len(panels), figsize=(4 * len(panels), 3.2 * len(datasets)), dpi=100,
        squeeze=False, sharey="row",
    )  # fmt: skip
    for i, ds in enumerate(datasets):
        sub = df[df["dataset"] == ds]
        for j, panel in enumerate(panels):
            ax = axes[i][j]
            in_panel = sub if panel is None else sub[sub["key"].map(lambda k, p=panel: k[0] == p)]
            for key, grp in in_panel.groupby("key"):
                mean = grp.groupby("step")["value"].mean()
                ax.plot(mean.index, mean.values, linewidth=1.2, **line_format(key[1:] if split else key))
            title = ds if panel is None else f"{ds} · {panel}"
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("generator step")
            if j == 0:
                ax.set_ylabel(", ".join(sorted(sub["metric"].unique())))
            if is_lower_better(sub["metric"].iloc[0]):
                ax.set_yscale("log")  # FID-like metrics fall over decades; plain numbers on the ticks
                ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
                ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
                ax.yaxis.set_minor_formatter(NullFormatter())
            ax.grid(alpha=0.3, linewidth=0.5)
    # Legends outside the axes: one for colour (and one for line style when a key sets it).
    line_names = key_names[1:] if split else key_names
    legends = []
    if len(style_of) > 1:
        colour_handles = [Line2D([], [], color=cmap(i % cmap.N)) for i in colour_of.values()]
        style_handles = [
            Line2D([], [], color="0.3", linestyle=LINESTYLES[i % len(LINESTYLES)]) for i in style_of.values()
        ]
        legends.append((colour_handles, [str(v) for v in colour_of], line_names[0] if line_names else ""))
        legends.append((style_handles, [" / ".join(v) for v in style_of], " / ".join(line_names[1:])))
    else:
        handles = [Line2D([], [], **line_format(k)) for k in line_keys]
        legends.append((handles, [" / ".join(k) for k in line_keys], " / ".join(line_names)))
    if len(df["key"].unique()) == 1:
        legends = []  # one configuration: the panel title and the table say which
    fig.tight_layout()
    for (handles, labels, title), (loc, y) in zip(legends, [("upper left", 1.0), ("lower left", 0.0)]):
        fig.legend(
            handles, labels, title=title or None, loc=loc, bbox_to_anchor=(1.0, y), fontsize=8,
            title_fontsize=8, frameon=False,
        )  # fmt: skip
    fig.savefig(path, bbox_inches="tight")  # "tight" grows the canvas to hold the outside legends
    plt.close(fig)
    return path
