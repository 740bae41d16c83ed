"""``ganbench rankings``: the same methods ranked under several comparison protocols.

A protocol is a results folder: ``shared`` (one setting for every method), ``paper`` (each method at
its paper's settings), ``search`` (best of N equal-budget trials, re-run over seeds). Each is
aggregated by the leaderboard (``ganbench.reporting.table``) with the same row keys and one metric;
a search folder contributes its re-runs of the best trials only, the numbers it reports. Per
dataset, the rows every protocol has are ranked again among themselves (so a rank means the same
set of competitors in every protocol), and each protocol's ranking is compared with the first's by
Kendall's τ-b over the row means (ties allowed: a mode count ties often). The figure is a bump chart:
one line per method across protocols, per dataset and for the mean rank over datasets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: workers and CI have no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats as sps  # noqa: E402
from tabulate import tabulate  # noqa: E402

from ganbench.errors import ConfigError  # noqa: E402
from ganbench.evaluation.metric import is_lower_better  # noqa: E402
from ganbench.io import write_json_atomic, write_text_atomic  # noqa: E402
from ganbench.reporting.search import search_frame  # noqa: E402
from ganbench.reporting.table import Leaderboard, leaderboard, metric_header, records_frame  # noqa: E402

MEAN_RANK = "mean over datasets"


def protocol_frame(results_dir: str | Path) -> pd.DataFrame:
    """The runs a protocol reports: a search folder's re-runs of its best trials, else every record."""
    search = search_frame(results_dir)
    if not search.empty:
        best = search[search["role"] == "best"]
        if best.empty:
            raise ValueError(
                f"{results_dir}: a search grid whose best trials are not re-run yet (no "
                "search:best:<t> records): finish it with `ganbench grid` first"
            )
        return best.drop(columns=["role", "trial"])
    df = records_frame(results_dir)
    if df.empty:
        raise FileNotFoundError(f"{results_dir}: no run records (record.json) under it")
    return df


@dataclass
class Rankings:
    """``tables[dataset]``: one row per method (row keys), per protocol its mean, std, n and rank;
    ``tau[dataset][protocol]``: Kendall's τ-b and p against the first protocol."""

    protocols: list[str]
    row_keys: list[str]
    metric: str
    tables: dict[str, pd.DataFrame]
    tau: dict[str, dict[str, dict[str, float]]]


def _dataset_columns(lb: Leaderboard, name: str) -> dict[str, str]:
    """dataset → the column-group label of ``lb``; one group per dataset, else the protocols'
    numbers are not one measurement."""
    out: dict[str, str] = {}
    for g in lb.groups:
        if g.dataset in out:
            raise ConfigError(
                f"protocol {name!r}: dataset {g.dataset} was evaluated with more than one setting "
                f"({out[g.dataset]!r}, {g.label!r}); rank each setting's records separately"
            )
        out[g.dataset] = g.label
    return out


def _rank(values: pd.Series, lower_better: bool) -> pd.Series:
    filled = values.fillna(math.inf if lower_better else -math.inf)  # no usable value ranks last
    return filled.rank(ascending=lower_better, method="min")


def _tau(a: pd.Series, b: pd.Series) -> dict[str, float]:
    ok = a.notna() & b.notna()
    if ok.sum() < 3 or a[ok].nunique() < 2 or b[ok].nunique() < 2:
        return {"tau": math.nan, "p": math.nan, "n": int(ok.sum())}
    r = sps.kendalltau(a[ok], b[ok])  # τ-b: corrects for ties
    return {"tau": float(r.statistic), "p": float(r.pvalue), "n": int(ok.sum())}


def rankings(
    frames: dict[str, pd.DataFrame], row_keys: list[str] | None = None, metric: str | None = None
) -> Rankings:
    """Rank the methods of each protocol's runs (``records_frame`` rows) on one metric (default: the
    first protocol's ranking metric) with one set of row keys (default: the first protocol's)."""
    if len(frames) < 2:
        raise ConfigError(f"rankings: give at least two protocols (results folders), got {len(frames)}")
    names = list(frames)
    first = leaderboard(frames[names[0]], row_keys, [metric] if metric else None)
    row_keys, metric = first.row_keys, first.metrics[0]
    boards = {names[0]: first}
    for name in names[1:]:
        try:
            boards[name] = leaderboard(frames[name], row_keys, [metric])
        except ConfigError as e:
            raise ConfigError(f"protocol {name!r}: {e}") from e
    columns = {name: _dataset_columns(lb, name) for name, lb in boards.items()}
    datasets = [d for d in columns[names[0]] if all(d in c for c in columns.values())]
    if not datasets:
        raise ConfigError(
            "rankings: the protocols share no dataset: "
            + "; ".join(f"{n}: {', '.join(c)}" for n, c in columns.items())
        )
    lower = is_lower_better(metric)
    tables, tau = {}, {}
    for dataset in datasets:
        merged: pd.DataFrame | None = None
        for name, lb in boards.items():
            label = columns[name][dataset]
            part = lb.numeric[[*row_keys]].copy()
            for stat in ("mean", "std", "n"):
                part[f"{name}/{stat}"] = lb.numeric[f"{label}/{metric}/{stat}"]
            merged = part if merged is None else merged.merge(part, on=row_keys, how="inner")
        assert merged is not None
        # a method with no run of this dataset in some protocol (n = 0) is not compared; one whose
        # runs diverged (n > 0, no value) is, and ranks last
        present = np.logical_and.reduce([merged[f"{name}/n"].fillna(0).to_numpy() > 0 for name in names])
        merged = merged[present].reset_index(drop=True)
        if merged.empty:
            raise ConfigError(f"rankings: no method of {dataset} is in every protocol (row keys {row_keys})")
        for name in names:
            merged[f"{name}/rank"] = _rank(merged[f"{name}/mean"], lower)
        tables[dataset] = merged.sort_values([f"{names[0]}/rank", *row_keys], kind="stable").reset_index(
            drop=True
        )
        tau[dataset] = {n: _tau(merged[f"{names[0]}/mean"], merged[f"{n}/mean"]) for n in names[1:]}
    if len(datasets) > 1:  # the leaderboard's own order: the mean of the per-dataset ranks
        overall = tables[datasets[0]][row_keys].copy()
        for name in names:
            per = [t.set_index(row_keys)[f"{name}/rank"] for t in tables.values()]
            mean = pd.concat(per, axis=1, join="inner").mean(axis=1)
            overall = overall.merge(mean.rename(f"{name}/mean").reset_index(), on=row_keys)
        for name in names:
            overall[f"{name}/rank"] = _rank(overall[f"{name}/mean"], True)
        tables[MEAN_RANK] = overall.sort_values([f"{names[0]}/rank", *row_keys], kind="stable").reset_index(
            drop=True
        )
        tau[MEAN_RANK] = {n: _tau(overall[f"{names[0]}/mean"], overall[f"{n}/mean"]) for n in names[1:]}
    return Rankings(names, row_keys, metric, tables, tau)


def _cell(row: pd.Series, name: str, dataset: str) -> str:
    mean = row[f"{name}/mean"]
    if dataset == MEAN_RANK:
        return f"{mean:.1f}"
    if not np.isfinite(mean):
        return "—"
    std = row.get(f"{name}/std", math.nan)
    spread = f" ± {std:.3g}" if np.isfinite(std) else ""
    return f"{mean:.3g}{spread} (n={int(row[f'{name}/n'])})"


def _label(table: pd.DataFrame, row_keys: list[str]) -> pd.Series:
    return table[row_keys].astype(str).agg(" · ".join, axis=1)


def rankings_table(r: Rankings, dataset: str) -> pd.DataFrame:
    """The display table of one dataset: the method, then per protocol its value and rank, then the
    rank change of each later protocol against the first."""
    t = r.tables[dataset]
    out = pd.DataFrame({"method": _label(t, r.row_keys)})
    value = "mean rank" if dataset == MEAN_RANK else metric_header(r.metric)
    for name in r.protocols:
        out[f"{name} {value}"] = [_cell(row, name, dataset) for _, row in t.iterrows()]
        out[f"{name} rank"] = t[f"{name}/rank"].astype(int)
    for name in r.protocols[1:]:
        delta = (t[f"{r.protocols[0]}/rank"] - t[f"{name}/rank"]).astype(int)
        out[f"Δ rank {name}"] = [f"{d:+d}" if d else "0" for d in delta]
    return out


def rankings_figure(r: Rankings, path: Path) -> Path:
    """Bump chart per dataset (and the mean rank): a method's rank under each protocol, joined."""
    panels = list(r.tables)
    height = max(4.0, 0.28 * max(len(t) for t in r.tables.values()))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), height), squeeze=False)
    x = np.arange(len(r.protocols))
    cmap = plt.get_cmap("tab20")
    for ax, dataset in zip(axes[0], panels):  # noqa: PLR1702 - one panel per dataset
        t = r.tables[dataset]
        labels = _label(t, r.row_keys)
        # positions, not tied ranks, so that no two labels sit on each other: ties keep the table's
        # order (the first protocol's rank, then the row keys)
        position = {n: t[f"{n}/rank"].rank(method="first") for n in r.protocols}
        for i in range(len(t)):
            ranks = [position[n][i] for n in r.protocols]
            ax.plot(x, ranks, marker="o", ms=3, lw=1.2, color=cmap(i % 20), alpha=0.85)
            ax.annotate(labels[i], (x[0], ranks[0]), xytext=(-4, 0), textcoords="offset points",
                        ha="right", va="center", fontsize=6)  # fmt: skip
            ax.annotate(labels[i], (x[-1], ranks[-1]), xytext=(4, 0), textcoords="offset points",
                        ha="left", va="center", fontsize=6)  # fmt: skip
        ax.set_xticks(x, r.protocols)
        ax.set_xlim(-0.9, len(r.protocols) - 0.1)
        ax.invert_yaxis()
        ax.set_ylabel("position (1 = best; ties in table order)")
        taus = ", ".join(f"τ({n}) = {v['tau']:.2f}" for n, v in r.tau[dataset].items())
        what = "mean rank" if dataset == MEAN_RANK else metric_header(r.metric)
        ax.set_title(f"{dataset}: {what}\n{taus}", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def _json(r: Rankings, folders: dict[str, str]) -> dict[str, Any]:
    def clean(v: Any) -> Any:
        return None if isinstance(v, float) and not math.isfinite(v) else v

    return {
        "protocols": folders,
        "row_keys": r.row_keys,
        "metric": r.metric,
        "datasets": {
            d: {
                "rows": [{k: clean(v) for k, v in row.items()} for row in t.to_dict("records")],
                "kendall_tau_vs_first": {n: {k: clean(v) for k, v in s.items()} for n, s in r.tau[d].items()},
            }
            for d, t in r.tables.items()
        },
    }


def write_rankings(
    folders: dict[str, str | Path],
    out_dir: str | Path,
    row_keys: list[str] | None = None,
    metric: str | None = None,
    figure: bool = True,
) -> dict[str, Path]:
    """rankings.md / rankings.json (/ rankings.png) in ``out_dir`` for protocol name → results folder."""
    frames = {name: protocol_frame(path) for name, path in folders.items()}
    r = rankings(frames, row_keys, metric)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out_dir / "rankings.md", "json": out_dir / "rankings.json"}
    first = r.protocols[0]
    args = " ".join(f"{n}={p}" for n, p in folders.items())
    lines = [
        f"# Rankings under {len(r.protocols)} comparison protocols: {', '.join(r.protocols)}",
        "",
        f"Generated by `ganbench rankings {args} --metric {r.metric}`. Rows: "
        f"{', '.join(r.row_keys)}; each protocol's leaderboard value (mean ± std over training seeds, "
        f"n = seeds) of `{r.metric}` ({'lower' if is_lower_better(r.metric) else 'higher'} is better) and "
        "its rank among the methods every protocol has (ties share the best rank). A search folder "
        "counts its re-runs of each method's best trial. τ: Kendall's τ-b of each protocol's values "
        f"against `{first}`'s (1: the same order, 0: unrelated), with its p-value.",
        "",
    ]
    for dataset in r.tables:
        lines += [f"## {dataset}", ""]
        for name, s in r.tau[dataset].items():
            p = "" if not np.isfinite(s["p"]) else f", p = {s['p']:.2g}"
            lines.append(f"- {name} against {first}: τ = {s['tau']:.2f}{p} over {s['n']} methods")
        lines += [
            "",
            tabulate(rankings_table(r, dataset), headers="keys", tablefmt="github", showindex=False),
            "",
        ]
    if figure:
        paths["figure"] = rankings_figure(r, out_dir / "rankings.png")
        lines += [f"![rank of every method under each protocol]({paths['figure'].name})", ""]
    write_text_atomic(paths["markdown"], "\n".join(lines))
    write_json_atomic(paths["json"], _json(r, {n: str(p) for n, p in folders.items()}))
    return paths
