"""The leaderboard's figures, drawn from ``records_frame`` runs: the sample figure (each
configuration's samples, first seed) and the curves figure (the selection metric vs training step).

Both have a column (samples) or a row (curves) of panels per column group of the table: a dataset,
or a dataset under one set of evaluation settings when its records differ in them. A run whose
saved samples cannot be read is named in a warning and its panel left blank; the table never
depends on a figure.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: workers and CI have no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import EngFormatter, FormatStrFormatter, LogLocator, NullFormatter  # noqa: E402

from ganbench.errors import ConfigError  # noqa: E402
from ganbench.evaluation.metric import is_lower_better  # noqa: E402
from ganbench.evaluation.prd import PRECISION_KEY, RECALL_KEY  # noqa: E402
from ganbench.reporting.table import (  # noqa: E402
    CURVES_COL,
    DATASET_KEY,
    GROUP_COL,
    SEED_KEY,
    TIED_MARK,
    Leaderboard,
    key_columns,
)
from ganbench.training.samples import SAMPLES_NPY, SAMPLES_PNG, scatter_axes  # noqa: E402


def _group_column(df: pd.DataFrame) -> pd.Series:
    """Each run's column group (the table's), or its dataset for a frame the table has not seen."""
    return df[GROUP_COL] if GROUP_COL in df else df["cfg:" + DATASET_KEY]


def _mixture_centres(dataset: str) -> np.ndarray | None:
    """The mode centres of a point dataset (None for other data): the dataset owns them."""
    import ganbench.data  # noqa: F401  (registers the datasets; imports torch, so only for point data)
    from ganbench.registries import DATASETS

    try:
        cls = DATASETS.get(dataset)
    except ConfigError:  # a record of a dataset this installation does not have: no centres to draw
        return None
    return getattr(cls(None), "centres", None) if getattr(cls, "kind", None) == "points" else None


def _read_points(path: Path) -> np.ndarray | None:
    """A run's saved N×2 points, or None (with a warning naming the file) when unreadable: an
    object array (refused: loading it would unpickle), a truncated file, the wrong shape."""
    try:
        pts = np.load(path)  # allow_pickle=False
    except (ValueError, OSError, EOFError) as e:
        print(
            f"warning: {path}: cannot read the samples ({e}); its figure panel is left blank", file=sys.stderr
        )
        return None
    if not isinstance(pts, np.ndarray) or pts.ndim != 2 or pts.shape[1] < 2 or pts.dtype.kind not in "fiu":
        what = (
            f"{pts.dtype} array of shape {pts.shape}" if isinstance(pts, np.ndarray) else type(pts).__name__
        )
        print(f"warning: {path}: not an N×2 array of points ({what}); its figure panel is left blank",
              file=sys.stderr)  # fmt: skip
        return None
    return pts


def _read_image(path: Path) -> np.ndarray | None:
    try:
        return plt.imread(path)
    except (OSError, ValueError, SyntaxError) as e:  # PIL raises SyntaxError on some broken PNGs
        print(
            f"warning: {path}: cannot read the image ({e}); its figure panel is left blank", file=sys.stderr
        )
        return None


def sample_figure(df: pd.DataFrame, row_keys: list[str], path: Path) -> Path | None:
    """A grid of samples (first seed of each configuration). Point data is drawn as scatters with
    the mode centres, images as the run's saved sample grid. With two or more row keys (e.g. loss ×
    Lipschitz method) the figure is a matrix: the last key across within each column group, the
    combinations of the others down; with one key, one row per configuration and one column per
    column group (a dataset, unless its evaluation settings differ)."""
    df = df[df["status"].isin(["finished", "diverged"])]
    has_points = [Path(d, SAMPLES_NPY).exists() for d in df["dir"]]
    has_images = [Path(d, SAMPLES_PNG).exists() for d in df["dir"]]
    df = df[[p or i for p, i in zip(has_points, has_images)]]
    if df.empty:
        return None
    df = df.sort_values(f"cfg:{SEED_KEY}")
    group = _group_column(df)
    datasets = sorted(group.unique())
    keys = key_columns(df, row_keys)
    key_cols = list(keys.columns)
    if len(key_cols) >= 2:
        down = sorted(set(keys[key_cols[:-1]].itertuples(index=False, name=None)))
        across = sorted(keys[key_cols[-1]].unique())
        cells = [[(ds, (*d, a)) for ds in datasets for a in across] for d in down]
    else:
        configs = sorted(set(keys.itertuples(index=False, name=None)))
        cells = [[(ds, key) for ds in datasets] for key in configs]
    # (column group, config key) -> the run with the lowest seed (df is sorted by seed)
    keyed: dict[tuple[Any, tuple[str, ...]], pd.Series] = {}
    for (_, r), g, key in zip(df.iterrows(), group, keys.itertuples(index=False, name=None)):
        keyed.setdefault((g, key), r)
    n_rows, n_cols = len(cells), len(cells[0])
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.9 * n_cols, 1.9 * n_rows), dpi=100, squeeze=False)
    matrix = len(key_cols) >= 2
    across_name = key_cols[-1].removeprefix("cfg:").rsplit(".", 1)[-1]
    centres: dict[str, np.ndarray | None] = {}
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
            run_dir = Path(run["dir"]) if run is not None else None
            if run_dir is not None and (run_dir / SAMPLES_NPY).exists():
                pts = _read_points(run_dir / SAMPLES_NPY)
                if pts is not None:
                    dataset = run["cfg:" + DATASET_KEY]
                    if dataset not in centres:
                        centres[dataset] = _mixture_centres(dataset)
                    scatter_axes(ax, pts, centres[dataset], title=title)
                    continue
            elif run_dir is not None:
                image = _read_image(run_dir / SAMPLES_PNG)
                if image is not None:
                    ax.imshow(image)
            ax.set_title(title, fontsize=7)
            ax.axis("off")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


MAX_LINES_PER_PANEL = 8  # beyond this a single panel's lines and legend stop being readable
LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)))


def curves_figure(
    runs: pd.DataFrame, row_keys: list[str], path: Path, metric: str | None = None
) -> Path | None:
    """Metric vs training step from each run's periodic evaluations (``records_frame``'s ``evals``),
    mean over seeds: ``metric``, else each run's selection metric. One row of panels per column
    group (a dataset, unless its evaluation settings differ). When a dataset has more
    configurations than fit in one panel and there are two or more row keys, the first key (e.g.
    the architecture) gets a panel per value; within a panel the next key sets the colour and the
    rest the line style, and the legends sit outside the axes so they never cover a curve.

    Progressive growing (ProGAN, StyleGAN): when every plotted evaluation records ``images_seen``
    (real images shown to D) the x axis is that, not the step, so runs whose phases take different
    numbers of steps line up; a thin vertical line labelled "16×16" marks the first evaluation at
    each new ``resolution``."""
    runs = runs[runs["status"].isin(["finished", "diverged"])]
    keys = key_columns(runs, row_keys)
    group = _group_column(runs)
    key_names = [c.removeprefix("cfg:") if c.startswith("cfg:") else "run" for c in keys.columns]
    rows = []
    for (index, run), g, key in zip(runs.iterrows(), group, keys.itertuples(index=False, name=None)):
        if not run["evals"]:
            continue
        selection = run.get("cfg:eval.selection_metric")
        listed = run.get("cfg:eval.metrics")
        # what the run selected by: its selection metric, else (as the trainer does) its first metric
        plotted = (
            metric
            if metric is not None
            else selection
            if isinstance(selection, str)
            else listed[0]
            if isinstance(listed, tuple) and listed
            else None
        )
        if plotted is None:
            continue
        for e in run["evals"]:
            if isinstance(e.get(plotted), (int, float)):
                rows.append(
                    {"dataset": g, "key": key, "metric": plotted, "step": e["step"],
                     "value": e[plotted], "run": index,
                     "images_seen": _count(e.get("images_seen")), "resolution": _count(e.get("resolution"))}
                )  # fmt: skip
    if not rows:
        return None
    df = pd.DataFrame(rows)
    by_images = bool(df["images_seen"].notna().all())
    df["x"] = df["images_seen"] if by_images else df["step"]
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
                mean = grp.groupby("x")["value"].mean()
                ax.plot(mean.index, mean.values, linewidth=1.2, **line_format(key[1:] if split else key))
            _growth_marks(ax, in_panel)
            title = ds if panel is None else f"{ds} · {panel}"
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("real images shown to D" if by_images else "generator step")
            if by_images:
                ax.xaxis.set_major_formatter(EngFormatter(sep=""))  # 20k, 1.2M: millions overlap
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


def _count(value: Any) -> int | None:
    """An evaluation's integer field (``images_seen``, ``resolution``), or None when absent."""
    return int(value) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else None


def growth_changes(evals: pd.DataFrame) -> list[tuple[float, int]]:
    """(x, new resolution) at each run's first evaluation at a resolution it had not been at just
    before, over the runs of ``evals`` (columns run, x, resolution), distinct and sorted."""
    marks = set()
    for _, run in evals.dropna(subset=["resolution"]).groupby("run"):
        res = run.sort_values("x")[["x", "resolution"]].to_numpy()
        marks |= {(float(x), int(r)) for (x, r), (_, before) in zip(res[1:], res[:-1]) if r != before}
    return sorted(marks)


def _growth_marks(ax: Any, evals: pd.DataFrame) -> None:
    """A thin vertical line and an "R×R" label where the resolution being trained changes."""
    for x, res in growth_changes(evals):
        ax.axvline(x, color="0.55", linewidth=0.6, zorder=1)
        ax.text(x, 0.98, f" {res}×{res}", transform=ax.get_xaxis_transform(), rotation=90, fontsize=6,
                va="top", ha="right", color="0.35",
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.7, "pad": 0.5})  # fmt: skip


def _is_true(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_)) and bool(value)


def seeds_figure(runs: pd.DataFrame, lb: Leaderboard, path: Path) -> Path | None:
    """The ranking metric of every training seed (a strip plot: dots, with a bar at the mean), one
    row per configuration in table order, one panel per column group where some configuration has
    >= 2 seeds (``lb.tested_groups``); None when none has. Rows tied with the best are labelled
    with the table's mark."""
    if not lb.tested_groups:
        return None
    metric = lb.metrics[0]
    runs = runs[runs["status"].isin(["finished", "diverged"])]
    if lb.row_keys == ["run"] and "cfg:run" not in runs:  # compared by no key: one row of all runs
        keys = pd.DataFrame({"run": ["all"] * len(runs)}, index=runs.index)
    else:
        keys = key_columns(runs, lb.row_keys)
    run_keys = list(keys.itertuples(index=False, name=None))
    row_keys = list(lb.numeric[lb.row_keys].itertuples(index=False, name=None))
    group = _group_column(runs)
    values = runs[f"m:{metric}"].astype(float) if f"m:{metric}" in runs else pd.Series(np.nan, runs.index)
    n = len(lb.tested_groups)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 0.9 + 0.32 * len(row_keys)), dpi=100, squeeze=False,
                             sharey=True)  # fmt: skip
    for j, label in enumerate(lb.tested_groups):
        ax = axes[0][j]
        tied = lb.numeric.get(f"{label}/tied_with_best")
        for i, key in enumerate(row_keys):
            mask = [(g == label and k == key) for g, k in zip(group, run_keys)]
            v = values[mask]
            v = v[np.isfinite(v)]
            colour = "C0" if tied is not None and _is_true(tied.iloc[i]) else "0.45"
            ax.scatter(v, np.full(len(v), i), s=14, color=colour, alpha=0.8, zorder=3)
            if len(v):
                ax.plot([v.mean()] * 2, [i - 0.3, i + 0.3], color=colour, linewidth=1.5, zorder=2)
        ax.set_title(f"{label}\nblue: {TIED_MARK} tied with the best; grey: not, or untested", fontsize=8)
        ax.set_xlabel(f"{metric} ({'lower' if is_lower_better(metric) else 'higher'} is better)", fontsize=8)
        ax.grid(alpha=0.3, linewidth=0.5, axis="x")
        ax.tick_params(labelsize=7)
    names = [" / ".join(map(str, key)) for key in row_keys]
    axes[0][0].set_yticks(range(len(row_keys)), names)
    axes[0][0].invert_yaxis()  # the best row on top, as in the table
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


PAIRS_PER_ROW = 4


def _as_picture(image: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """A uint8 C×H×W image as imshow takes it (gray: H×W with a gray colour map)."""
    if image.shape[0] == 1:
        return image[0], {"cmap": "gray", "vmin": 0, "vmax": 255}
    return np.transpose(image, (1, 2, 0)), {}


def pairs_figure(fake: Any, train: Any, pairs: list[dict[str, Any]], path: Path) -> Path:
    """The closest generated–training pairs (``memorisation_pairs``, nearest first): each generated
    sample beside its nearest training image, titled with their indices, the feature distance d and
    the ratio ρ = d / (that training image's own nearest-neighbour distance); ρ ≤ 1 is what
    authenticity counts as a likely copy. ``fake`` / ``train``: uint8 k×C×H×W, pair by pair."""
    fake, train = np.asarray(fake), np.asarray(train)
    if len(pairs) == 0 or len(fake) != len(pairs) or len(train) != len(pairs):
        raise ValueError(
            f"pairs_figure: {len(pairs)} pairs, {len(fake)} generated, {len(train)} training images"
        )
    cols = min(PAIRS_PER_ROW, len(pairs))
    rows = -(-len(pairs) // cols)
    fig, axes = plt.subplots(rows, 2 * cols, figsize=(2.2 * cols, 1.45 * rows), dpi=100, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for k, pair in enumerate(pairs):
        r, c = divmod(k, cols)
        copy = pair["ratio"] <= 1  # what authenticity counts as inauthentic
        for ax, image, title in (
            (axes[r][2 * c], fake[k], f"gen #{pair['fake']}\nd={pair['distance']:.3g} ρ={pair['ratio']:.2f}"),
            (axes[r][2 * c + 1], train[k], f"train #{pair['train']}\n{'inauthentic: ρ ≤ 1' if copy else ''}"),
        ):
            picture, style = _as_picture(image)
            ax.imshow(picture, **style)
            ax.set_title(title, fontsize=6.5, color="C3" if copy else "black")
    fig.suptitle("closest generated (left) – training (right) pairs, nearest first", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def prd_lines(runs: pd.DataFrame, row_keys: list[str]) -> dict[str, dict[tuple[str, ...], dict[str, Any]]]:
    """The PRD curve of each configuration per column group: precision and recall averaged over its
    seeds angle by angle (as the reference averages its k-means runs), with the seed count. Runs
    without a curve are left out; so are curves whose angle count differs from the configuration's
    first (a column group shares the PRD settings, so only a malformed record can differ)."""
    runs = runs[runs["status"].isin(["finished", "diverged"])]
    if CURVES_COL not in runs:
        return {}
    keys = key_columns(runs, row_keys)
    group = _group_column(runs)
    found: dict[str, dict[tuple[str, ...], list[tuple[np.ndarray, np.ndarray]]]] = {}
    for curves, g, key in zip(runs[CURVES_COL], group, keys.itertuples(index=False, name=None)):
        if not isinstance(curves, dict) or PRECISION_KEY not in curves or RECALL_KEY not in curves:
            continue
        p, r = np.asarray(curves[PRECISION_KEY], float), np.asarray(curves[RECALL_KEY], float)
        if len(p) != len(r) or len(p) == 0:
            continue
        found.setdefault(g, {}).setdefault(key, []).append((p, r))
    out: dict[str, dict[tuple[str, ...], dict[str, Any]]] = {}
    for g, by_key in found.items():
        for key, curves in by_key.items():
            same = [c for c in curves if len(c[0]) == len(curves[0][0])]
            out.setdefault(g, {})[key] = {
                "precision": np.mean([c[0] for c in same], axis=0),
                "recall": np.mean([c[1] for c in same], axis=0),
                "seeds": len(same),
            }
    return out


def prd_figure(runs: pd.DataFrame, row_keys: list[str], path: Path) -> Path | None:
    """Precision vs recall for distributions (Sajjadi et al. 2018) from the runs' ``prd`` metric: a
    panel per column group, a line per configuration (the mean over its seeds, angle by angle);
    None when no run recorded PRD curves."""
    lines = prd_lines(runs, row_keys)
    if not lines:
        return None
    groups = sorted(lines)
    configs = sorted({key for g in groups for key in lines[g]})
    cmap = plt.get_cmap("tab10" if len(configs) <= 10 else "tab20")
    fmt = {
        key: {"color": cmap(i % cmap.N), "linestyle": LINESTYLES[(i // cmap.N) % len(LINESTYLES)]}
        for i, key in enumerate(configs)
    }
    fig, axes = plt.subplots(1, len(groups), figsize=(3.6 * len(groups), 3.4), dpi=100, squeeze=False)
    for ax, g in zip(axes[0], groups):
        for key, curve in sorted(lines[g].items()):
            ax.plot(curve["recall"], curve["precision"], linewidth=1.2, **fmt[key])
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.05)
        ax.set_aspect("equal")
        ax.set_title(g, fontsize=9)
        ax.set_xlabel("recall β")
        ax.set_ylabel("precision α")
        ax.grid(alpha=0.3, linewidth=0.5)
    fig.tight_layout()
    if len(configs) > 1:
        seeds = {key: max(lines[g][key]["seeds"] for g in groups if key in lines[g]) for key in configs}
        fig.legend(
            [Line2D([], [], **fmt[k]) for k in configs],
            [f"{' / '.join(k)} (n={seeds[k]})" for k in configs],
            loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False,
        )  # fmt: skip
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path
