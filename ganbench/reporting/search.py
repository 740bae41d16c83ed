"""The leaderboard of a ``protocol: search`` grid (Lucic et al. 2018): per method, the best of its N
trials re-run over K seeds (mean ± std, the seed count) beside the distribution of its trials, and a
figure of every trial with the re-runs' mean and spread.

A pure function of the records: trials carry ``config.name = "search:trial:<t>"``, re-runs of the
best trial ``"search:best:<t>"`` (runners/search.py). A method is a data set plus the config keys
that vary among the trials of one draw (trial 0): every method got the same draws, so what varies
there is what the grid's axes vary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: workers and CI have no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from tabulate import tabulate  # noqa: E402

from ganbench.evaluation.metric import is_lower_better, output_info  # noqa: E402
from ganbench.io import write_json_atomic, write_text_atomic  # noqa: E402
from ganbench.reporting.table import as_key_text, default_metrics, default_row_keys, records_frame  # noqa: E402

NAME_COL = "cfg:name"
TRIAL, BEST = "search:trial:", "search:best:"
DATASET = "data.name"


def search_frame(results_dir: str | Path) -> pd.DataFrame:
    """The search records of a results folder, with ``role`` (trial / best) and ``trial`` columns;
    empty when there are none."""
    df = records_frame(results_dir)
    if df.empty or NAME_COL not in df:
        return pd.DataFrame()
    names = df[NAME_COL].fillna("").astype(str)
    df = df[names.str.startswith(TRIAL) | names.str.startswith(BEST)].copy()
    if df.empty:
        return df
    df["role"] = np.where(df[NAME_COL].str.startswith(TRIAL), "trial", "best")
    df["trial"] = df[NAME_COL].str.rsplit(":", n=1).str[-1].astype(int)
    return df


def method_keys(df: pd.DataFrame) -> list[str]:
    """The data set and the keys the methods differ in (those varying among trial 0's runs)."""
    first = df[(df["role"] == "trial") & (df["trial"] == df["trial"].min())]
    keys = [k for k in default_row_keys(first) if k != "name"]
    return [DATASET, *keys]


def _label(df: pd.DataFrame, keys: list[str]) -> pd.Series:
    text = as_key_text(df[[f"cfg:{k}" for k in keys if f"cfg:{k}" in df]])
    return text.apply(lambda row: " · ".join(row.astype(str)), axis=1)


def _mean_std(values: pd.Series) -> str:
    v = values.dropna().astype(float)
    if v.empty:
        return "—"
    return f"{v.mean():.3g} ± {v.std(ddof=1):.2g}" if len(v) > 1 else f"{v.mean():.3g}"


def _spread(values: pd.Series) -> str:
    v = values.dropna().astype(float)
    if v.empty:
        return "—"
    return f"{v.median():.3g} [{v.min():.3g}, {v.max():.3g}]"


def search_table(
    df: pd.DataFrame, metrics: list[str] | None = None
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """One row per method: trials done, the best trial, best-of-N (re-runs: mean ± std, n) and
    the trials' median [min, max] for each metric (both on the reported eval.seed)."""
    keys = method_keys(df)
    metrics = metrics or default_metrics(df)
    df = df.assign(method=_label(df, keys))
    rows, numeric = [], []
    for method, sub in df.groupby("method", sort=False):
        trials = sub[(sub["role"] == "trial") & (sub["status"] == "finished")]
        best = sub[(sub["role"] == "best") & (sub["status"] == "finished")]
        row: dict[str, Any] = {"method": method, "trials": len(trials)}
        row["best trial"] = ", ".join(str(t) for t in sorted(set(best["trial"]))) or "—"
        row["seeds"] = len(best)
        num: dict[str, Any] = {**row}
        for m in metrics:
            col = f"m:{m}"
            header = output_info(m).header if output_info(m) is not None else m
            b = best[col] if col in best else pd.Series(dtype=float)
            t = trials[col] if col in trials else pd.Series(dtype=float)
            row[f"{header} best-of-N"] = _mean_std(b)
            row[f"{header} trials"] = _spread(t)
            num[f"{m}/best_mean"] = float(b.mean()) if b.notna().any() else None
            num[f"{m}/best_std"] = float(b.std(ddof=1)) if b.notna().sum() > 1 else None
            num[f"{m}/trials"] = [float(x) for x in t.dropna()]
        rows.append(row)
        numeric.append(num)
    return pd.DataFrame(rows), numeric


def search_figure(df: pd.DataFrame, metric: str, path: Path) -> Path | None:
    """Per data set: each method's trials (dots) and its best trial's re-runs (mean ± std, black)."""
    col = f"m:{metric}"
    if col not in df:
        return None
    keys = method_keys(df)
    df = df.assign(method=_label(df, [k for k in keys if k != DATASET]))
    datasets = list(dict.fromkeys(df[f"cfg:{DATASET}"]))
    fig, axes = plt.subplots(
        len(datasets),
        1,
        figsize=(max(6, 0.35 * df["method"].nunique() + 2), 3.2 * len(datasets)),
        squeeze=False,
    )
    rng = np.random.default_rng(0)  # horizontal jitter only
    for ax, ds in zip(axes[:, 0], datasets, strict=True):
        sub = df[(df[f"cfg:{DATASET}"] == ds) & (df["status"] == "finished")]
        methods = list(dict.fromkeys(sub["method"]))
        for i, m in enumerate(methods):
            trials = sub[(sub["method"] == m) & (sub["role"] == "trial")][col].dropna()
            ax.scatter(i + rng.uniform(-0.15, 0.15, len(trials)), trials, s=10, alpha=0.5, color="tab:blue")
            best = sub[(sub["method"] == m) & (sub["role"] == "best")][col].dropna()
            if len(best):
                ax.errorbar(
                    i, best.mean(), yerr=best.std(ddof=1) if len(best) > 1 else 0, fmt="D", color="black"
                )
        ax.set_xticks(range(len(methods)), methods, rotation=60, ha="right", fontsize=7)
        header = output_info(metric).header if output_info(metric) is not None else metric
        arrow = "↓" if is_lower_better(metric) else "↑"
        ax.set_ylabel(f"{header} {arrow}")
        ax.set_title(f"{ds}: trials (blue) and best trial re-run over seeds (black, mean ± std)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_search_leaderboard(
    results_dir: str | Path, out_dir: str | Path, metrics: list[str] | None = None
) -> dict[str, Path]:
    """search.md / search.json / search.png in ``out_dir`` for the search records under
    ``results_dir``. Raises FileNotFoundError when there are none."""
    results_dir, out_dir = Path(results_dir), Path(out_dir)
    df = search_frame(results_dir)
    if df.empty:
        raise FileNotFoundError(f"{results_dir}: no search records (config.name search:trial:<t>)")
    table, numeric = search_table(df, metrics)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out_dir / "search.md", "json": out_dir / "search.json"}
    shown = metrics or default_metrics(df)
    lines = [
        "# Search leaderboard (best of N trials, re-run over seeds)",
        "",
        "Each method's trials are equal-budget random draws of its hyperparameters (the same draws for "
        "every method); the best trial by the selection metric on the selection seed is re-run at other "
        "training seeds. *best-of-N*: those re-runs, mean ± std over seeds (`seeds` of them); *trials*: "
        "median [min, max] over the trials. Both on the reported evaluation seed. "
        f"Regenerate: `ganbench leaderboard {results_dir}`.",
        "",
        tabulate(table, headers="keys", tablefmt="github", showindex=False),
        "",
    ]
    figure = search_figure(df, shown[0], out_dir / "search.png") if shown else None
    if figure is not None:
        paths["figure"] = figure
        lines += [f"![trials and best-of-N]({figure.name})", ""]
    write_text_atomic(paths["markdown"], "\n".join(lines))
    write_json_atomic(paths["json"], {"method_keys": method_keys(df), "metrics": shown, "rows": numeric})
    return paths
