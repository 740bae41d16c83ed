"""The metric sanity suite (``ganbench validate-metrics``): do the metrics move the right way?

Real held-out images (the dataset's test split) stand in for a perfect generator; controlled
corruptions make it worse at increasing strength, and every metric is scored on each corrupted set
against the reference (the first ``n_real`` images of the reference split) by
:func:`ganbench.evaluate`, exactly as ``ganbench eval`` would score those images. For each score
key, the suite reports the value at each strength and whether it moves towards "worse" (the key's
own ``better`` direction, asked of the metric) and monotonically.

Every set has ``n`` images. The clean set A (strength 0) is drawn at random from the held-out split
and each corruption changes A as little as it can, so the strengths of one corruption differ only
by the corruption:

- ``noise``: A plus Gaussian pixel noise of standard deviation σ (in 0..255 units), rounded, clipped;
- ``blur``: A blurred by a Gaussian of σ pixels (torchvision, kernel 2⌈3σ⌉+1, reflect padding);
- ``mode_dropping``: the images of a fraction of the classes in A replaced by unused held-out
  images of the kept classes (classes dropped in a seeded order, nested: on Fashion-MNIST 10, 9, 7,
  5 and 3 classes kept, keeping 7 drops the 9-run's class too);
- ``mode_collapse``: a fraction of A's images outside one class replaced by unused images of that
  class (1: every image of one class);
- ``duplicates``: a fraction of A replaced by copies of A's first 10 images (reduced diversity);
- ``memorisation``: a fraction of A replaced by training images of the reference set itself.

The noise floor of a key is |value(B) − value(A)| for a second clean set B disjoint from A: a change
smaller than that is "flat". Verdicts: ``ok`` (worse at the highest strength by more than the
floor, and no step goes the other way), ``not monotone`` (worse overall, some step better),
``flat``, ``WRONG WAY`` (better by more than the floor). A quality metric *should* fail
``memorisation`` (copies of the training set look perfect to it); that is what memorisation
metrics are for.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchvision.transforms.v2 import functional as TF
from tqdm.auto import tqdm

from ganbench.config import DataConfig
from ganbench.errors import ConfigError, GanbenchError
from ganbench.evaluation.api import evaluate
from ganbench.evaluation.metric import Metric, all_metrics, get_metric
from ganbench.registries import DATASETS, EXTRACTORS, load_all

DEFAULT_N = 1000
DEFAULT_N_REAL = 5000
DEFAULT_SEED = 0
DUPLICATED_IMAGES = 10  # the "few images" the duplicates corruption repeats


@dataclass(frozen=True)
class Pools:
    """The images corruptions draw from (uint8 N×C×H×W, labels int64 or None)."""

    held_out: torch.Tensor
    held_out_labels: torch.Tensor | None
    reference: torch.Tensor  # the reference set's own images (the memorisation corruption copies them)
    base: np.ndarray  # indices into held_out of the clean set A
    spare: np.ndarray  # held-out indices not in A, in random order (B first, then replacements)


@dataclass(frozen=True)
class Corruption:
    """A corruption: ``apply(pools, strength, rng)`` → n uint8 images. ``strengths`` start at the
    clean value; ``aspect`` says what it degrades (fidelity, diversity, novelty)."""

    name: str
    aspect: str
    strength: str  # what the strength is, for the table and figure
    strengths: tuple[float, ...]
    apply: Callable[[Pools, float, np.random.Generator], torch.Tensor]
    needs_labels: bool = False


def _noise(p: Pools, sigma: float, rng: np.random.Generator) -> torch.Tensor:
    x = p.held_out[p.base].numpy().astype(np.float64)
    x += rng.standard_normal(x.shape) * sigma
    return torch.from_numpy(np.clip(np.rint(x), 0, 255).astype(np.uint8))


def _blur(p: Pools, sigma: float, rng: np.random.Generator) -> torch.Tensor:
    x = p.held_out[p.base]
    if sigma == 0:
        return x.clone()
    k = 2 * math.ceil(3 * sigma) + 1
    out = TF.gaussian_blur(x.float(), kernel_size=[k, k], sigma=[sigma, sigma])
    return out.round().clamp(0, 255).to(torch.uint8)


def _class_order(p: Pools, rng: np.random.Generator) -> np.ndarray:
    assert p.held_out_labels is not None
    return rng.permutation(int(p.held_out_labels.max()) + 1)  # the drop order; the last one stays


def _replace(p: Pools, drop: np.ndarray, allowed: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
    """A with the images at positions ``drop`` replaced by unused held-out images whose class is in
    ``allowed`` (drawn at random without replacement)."""
    labels = p.held_out_labels.numpy()  # type: ignore[union-attr]
    unused = p.spare[np.isin(labels[p.spare], allowed)]
    if len(unused) < len(drop):
        raise ConfigError(
            f"--n {len(p.base)}: the held-out split has {len(unused)} unused images of the kept "
            f"classes, {len(drop)} needed; lower --n"
        )
    index = p.base.copy()
    index[drop] = rng.permutation(unused)[: len(drop)]
    return p.held_out[index]


def _mode_dropping(p: Pools, fraction: float, rng: np.random.Generator) -> torch.Tensor:
    order = _class_order(p, rng)
    allowed = order[round(fraction * len(order)) :]
    labels = p.held_out_labels.numpy()[p.base]  # type: ignore[union-attr]
    return _replace(p, np.flatnonzero(~np.isin(labels, allowed)), allowed, rng)


def _mode_collapse(p: Pools, fraction: float, rng: np.random.Generator) -> torch.Tensor:
    keep = _class_order(p, rng)[-1:]
    labels = p.held_out_labels.numpy()[p.base]  # type: ignore[union-attr]
    others = np.flatnonzero(labels != keep[0])
    return _replace(p, others[: round(fraction * len(others))], keep, rng)


def _duplicates(p: Pools, fraction: float, rng: np.random.Generator) -> torch.Tensor:
    index = p.base.copy()
    m = round(fraction * len(index))
    if m:
        index[len(index) - m :] = index[np.arange(m) % DUPLICATED_IMAGES]
    return p.held_out[index]


def _memorisation(p: Pools, fraction: float, rng: np.random.Generator) -> torch.Tensor:
    x = p.held_out[p.base].clone()
    m = round(fraction * len(x))
    if m:  # nested: a larger fraction copies the same images and more
        where = torch.from_numpy(rng.permutation(len(x))[:m])
        x[where] = p.reference[torch.from_numpy(rng.permutation(len(p.reference))[:m])]
    return x


CORRUPTIONS: tuple[Corruption, ...] = (
    Corruption("noise", "fidelity", "pixel noise σ (0..255)", (0, 8, 16, 32, 64), _noise),
    Corruption("blur", "fidelity", "blur σ (pixels)", (0, 0.5, 1, 1.5, 2), _blur),
    Corruption(
        "mode_dropping",
        "diversity",
        "fraction of classes dropped",
        (0, 0.1, 0.3, 0.5, 0.7),
        _mode_dropping,
        True,
    ),
    Corruption(
        "mode_collapse", "diversity", "fraction in one class", (0, 0.25, 0.5, 0.75, 1), _mode_collapse, True
    ),
    Corruption(
        "duplicates",
        "diversity",
        f"fraction copies of {DUPLICATED_IMAGES} images",
        (0, 0.1, 0.25, 0.5),
        _duplicates,
    ),
    Corruption("memorisation", "novelty", "fraction training images", (0, 0.25, 0.5, 0.75, 1), _memorisation),
)


@dataclass
class SanityResult:
    config: dict[str, Any]
    rows: list[dict[str, Any]]  # one per (score key, corruption): values, noise floor, verdict
    not_applicable: dict[str, str]  # metric -> why it was not scored
    skipped_corruptions: dict[str, str]
    provenance: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> SanityResult:
        """The result a ``validate_metrics.json`` holds (to print or plot it again)."""
        keys = ("config", "rows", "not_applicable", "skipped_corruptions", "provenance")
        return cls(**{k: record[k] for k in keys})

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "validate-metrics",
            "config": self.config,
            "rows": self.rows,
            "not_applicable": self.not_applicable,
            "skipped_corruptions": self.skipped_corruptions,
            "provenance": self.provenance,
        }


def verdict(values: Sequence[float], better: str, floor: float) -> tuple[str, bool, float]:
    """(verdict, monotone, change towards worse) of values ordered by strength (see the module
    docstring); ``better`` is the key's direction, ``floor`` its noise floor."""
    sign = 1.0 if better == "lower" else -1.0  # worse = larger after the sign
    v = sign * np.asarray(values, dtype=float)
    if not np.isfinite(v).all():
        return "not finite", False, math.nan
    steps = np.diff(v)
    monotone = bool((steps >= 0).all())
    change = float(v[-1] - v[0])
    if change > floor:
        return ("ok" if monotone else "not monotone"), monotone, change
    if change < -floor:
        return "WRONG WAY", monotone, change
    return "flat", monotone, change


def _reference_data(reference: str, split: str, root: str | None) -> Any:
    return DATASETS.get(reference, "--reference")(DataConfig(name=reference, root=root, split=split))


def _read(data: Any, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    images, labels = [], []
    for x, y in data.iter_uint8(2000, limit=limit):
        images.append(x)
        labels.append(y)
    return torch.cat(images), (torch.cat(labels) if labels[0] is not None else None)


def check_settings(
    extractor: str,
    reference: str,
    n: int,
    n_real: int,
    split: str,
    held_out: str | None,
    metrics: Sequence[str] | None,
) -> tuple[str, list[Metric]]:
    """Every setting checked before any image is read → (the held-out split, the candidate metrics)."""
    load_all()
    EXTRACTORS.get(extractor, "--extractor")
    cls = DATASETS.get(reference, "--reference")
    if getattr(cls, "kind", "images") != "images":
        raise ConfigError(f"--reference {reference!r} holds points; the sanity suite corrupts images")
    splits = getattr(cls, "splits", None)
    if splits is not None and split not in splits:
        raise ConfigError(f"--split {split!r} for {reference!r}; valid choices: {', '.join(splits)}")
    if held_out is None and splits is None:
        held_out = "test"  # splits known only from the files (an image folder): the usual name
    elif held_out is None:
        others = [s for s in splits if s != split]
        if not others:
            raise ConfigError(f"--held-out: {reference!r} declares no split besides {split!r}; name one")
        held_out = "test" if "test" in others else others[-1]
    elif splits is not None and held_out not in splits:
        raise ConfigError(f"--held-out {held_out!r} for {reference!r}; valid choices: {', '.join(splits)}")
    if held_out == split:
        raise ConfigError(f"--held-out {held_out!r} is the reference split: held-out images must be unseen")
    if n < 2:
        raise ConfigError(f"--n must be >= 2, got {n}")
    if n_real < n:
        raise ConfigError(f"--n-real ({n_real}) must be >= --n ({n}): memorisation copies n reference images")
    if metrics:
        chosen = [get_metric(m, "--metrics") for m in metrics]
    else:
        chosen = [m for m in all_metrics() if m.data_kind == "images"]
    for m in chosen:
        if m.data_kind != "images":
            raise ConfigError(f"--metrics: {m.name!r} is for 2-D point datasets, not images")
    return held_out, chosen


def validate_metrics(
    extractor: str,
    reference: str,
    *,
    n: int = DEFAULT_N,
    n_real: int = DEFAULT_N_REAL,
    seed: int = DEFAULT_SEED,
    split: str = "train",
    held_out: str | None = None,
    metrics: Sequence[str] | None = None,
    root: str | None = None,
    extractor_params: dict[str, Any] | None = None,
    device: str = "auto",
    batch_size: int = 500,
    cache_dir: str | Path | None = None,
    corruptions: Sequence[Corruption] = CORRUPTIONS,
    progress: bool = False,
) -> SanityResult:
    """Run the sanity suite (see the module docstring) and return its rows."""
    t0 = time.perf_counter()
    held_out, candidates = check_settings(extractor, reference, n, n_real, split, held_out, metrics)
    ref = _reference_data(reference, split, root)
    held = ref.for_split(held_out)
    if len(held) < 2 * n:
        raise ConfigError(
            f"--n {n}: the clean sets A and B need {2 * n} held-out images; {held_out!r} has {len(held)}"
        )
    if len(ref) < n_real:
        raise ConfigError(f"--n-real {n_real}: the reference {reference!r} ({split}) holds {len(ref)} images")
    images, labels = _read(held)
    train_images, _ = _read(ref, n_real)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(images))
    pools = Pools(images, labels, train_images, order[:n], order[n:])
    if labels is not None and any(c.needs_labels for c in corruptions):
        smallest = int(torch.bincount(labels).min())
        if n > smallest:  # keeping one class: n distinct images of one class
            raise ConfigError(
                f"--n {n}: mode collapse keeps one class, and the smallest class of {reference!r} "
                f"({held_out}) has {smallest} images; lower --n to at most {smallest}"
            )
    skipped = {}
    active = []
    for c in corruptions:
        if c.needs_labels and labels is None:
            skipped[c.name] = f"{reference!r} ({held_out}) has no class labels"
        else:
            active.append(c)

    def score(x: torch.Tensor, names: Sequence[str]) -> dict[str, Any]:
        return evaluate(
            x,
            reference,
            metrics=list(names),
            extractor=extractor,
            n=len(x),
            seed=seed,
            split=split,
            n_real=n_real,
            root=root,
            extractor_params=extractor_params,
            device=device,
            batch_size=batch_size,
            cache_dir=cache_dir,
        ).metrics

    clean = images[pools.base]
    not_applicable: dict[str, str] = {}
    names: list[str] = []
    for m in candidates:
        if m.needs_labels:
            not_applicable[m.name] = "needs labelled samples; the suite scores unlabelled sets"
            continue
        if not metrics and not m.uses_extractor:
            not_applicable[m.name] = (
                "does not read the feature space (the same numbers with every extractor): name it in "
                "--metrics to check it"
            )
            continue
        try:  # the metric itself says whether it applies (logits, sample counts, data)
            score(clean, [m.name])
        except GanbenchError as e:
            not_applicable[m.name] = str(e)
            continue
        names.append(m.name)
    if not names:
        raise ConfigError(f"no metric applies to extractor {extractor!r} on {reference!r}: {not_applicable}")

    jobs: list[tuple[str, float, Callable[[], torch.Tensor]]] = [
        ("clean", 0.0, lambda: clean),
        ("clean_b", 0.0, lambda: images[pools.spare[:n]]),
    ]
    for c in active:
        for s in c.strengths[1:]:
            jobs.append(
                (c.name, float(s), lambda c=c, s=s: c.apply(pools, s, np.random.default_rng([seed, 7])))
            )
    values: dict[tuple[str, float], dict[str, Any]] = {}
    for name, s, make in tqdm(jobs, desc=f"validate-metrics ({extractor})", disable=not progress):
        values[(name, s)] = score(make(), names)

    rows = []
    base, floor_set = values[("clean", 0.0)], values[("clean_b", 0.0)]
    for mname in names:
        metric = get_metric(mname)
        for key in base:
            out = metric.output(key)
            if (
                out is None
                or out.role != "score"
                or out.better is None
                or not isinstance(base[key], (int, float))
            ):
                continue
            floor = abs(float(floor_set[key]) - float(base[key]))
            for c in active:
                vals = [float(base[key])] + [float(values[(c.name, float(s))][key]) for s in c.strengths[1:]]
                word, monotone, change = verdict(vals, out.better, floor)
                rows.append(
                    {
                        "extractor": extractor,
                        "metric": mname,
                        "key": key,
                        "header": out.header,
                        "better": out.better,
                        "corruption": c.name,
                        "aspect": c.aspect,
                        "strength": c.strength,
                        "strengths": [float(s) for s in c.strengths],
                        "values": vals,
                        "noise_floor": floor,
                        "change_towards_worse": change,
                        "monotone": monotone,
                        "verdict": word,
                    }
                )
    config = {
        "extractor": extractor,
        "extractor_params": extractor_params or {},
        "reference": reference,
        "split": split,
        "held_out": held_out,
        "n": n,
        "n_real": n_real,
        "seed": seed,
        "metrics": names,
    }
    prov = {
        "wall_time_s": time.perf_counter() - t0,
        "threads": torch.get_num_threads(),
        "load_average_1min_at_end": os.getloadavg()[0],  # the wall time means little without it
        "extractor": EXTRACTORS.get(extractor)(**(extractor_params or {})).provenance(),
    }
    return SanityResult(config, rows, not_applicable, skipped, prov)


# ---------------------------------------------------------------------------------------------
# output: the tables (pandas), the files (atomic, ganbench.io) and the figure


def verdict_table(result: SanityResult) -> Any:
    """A pandas DataFrame: one row per score key, one column per corruption, the verdicts."""
    import pandas as pd  # the table layer only; the suite itself needs no pandas

    frame = pd.DataFrame(result.rows)
    if frame.empty:
        return frame
    table = frame.pivot_table(
        index="header", columns="corruption", values="verdict", aggfunc="first", sort=False
    )
    table = table[[c for c in dict.fromkeys(frame["corruption"])]]
    table.index.name, table.columns.name = "metric", None
    return table


def values_table(result: SanityResult, corruption: str) -> Any:
    """A pandas DataFrame of one corruption: one row per score key, one column per strength."""
    import pandas as pd

    rows = [r for r in result.rows if r["corruption"] == corruption]
    if not rows:
        return pd.DataFrame()
    cols = [f"{s:g}" for s in rows[0]["strengths"]]
    data = {r["header"]: [*r["values"], r["noise_floor"], r["verdict"]] for r in rows}
    frame = pd.DataFrame.from_dict(data, orient="index", columns=[*cols, "noise floor", "verdict"])
    return frame.rename_axis("metric")


def text_report(result: SanityResult, tablefmt: str = "github") -> str:
    """The stdout report: the verdict table, then the values per corruption (tabulate)."""
    from tabulate import tabulate

    cfg = result.config
    lines = [
        f"validate-metrics: extractor {cfg['extractor']}, reference {cfg['reference']} ({cfg['split']}, "
        f"first {cfg['n_real']}), held-out {cfg['held_out']} sets of {cfg['n']}, seed {cfg['seed']}",
        "",
        tabulate(verdict_table(result), headers="keys", tablefmt=tablefmt),
    ]
    corruptions = dict.fromkeys(r["corruption"] for r in result.rows)
    for c in corruptions:
        first = next(r for r in result.rows if r["corruption"] == c)
        lines += ["", f"{c} ({first['aspect']}; strength: {first['strength']})", ""]
        lines.append(tabulate(values_table(result, c), headers="keys", tablefmt=tablefmt, floatfmt=".4g"))
    for name, why in result.not_applicable.items():
        lines.append(f"not applicable: {name}: {why}")
    for name, why in result.skipped_corruptions.items():
        lines.append(f"corruption skipped: {name}: {why}")
    return "\n".join(lines)


def long_csv(result: SanityResult) -> str:
    """One line per (key, corruption, strength): the values and the verdict of their series."""
    import pandas as pd

    rows = [
        {
            "extractor": r["extractor"],
            "metric": r["metric"],
            "key": r["key"],
            "better": r["better"],
            "corruption": r["corruption"],
            "strength": s,
            "value": v,
            "noise_floor": r["noise_floor"],
            "verdict": r["verdict"],
        }
        for r in result.rows
        for s, v in zip(r["strengths"], r["values"])
    ]
    return pd.DataFrame(rows).to_csv(index=False)


def figure_png(result: SanityResult) -> bytes:
    """Metric vs strength, one panel per (score key, corruption); the title says the verdict."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(dict.fromkeys(r["header"] for r in result.rows))
    corruptions = list(dict.fromkeys(r["corruption"] for r in result.rows))
    fig, axes = plt.subplots(
        len(keys), len(corruptions), figsize=(2.6 * len(corruptions), 1.9 * len(keys)), squeeze=False
    )
    colour = {"ok": "tab:green", "not monotone": "tab:orange", "flat": "tab:gray", "WRONG WAY": "tab:red"}
    for r in result.rows:
        ax = axes[keys.index(r["header"])][corruptions.index(r["corruption"])]
        ax.plot(r["strengths"], r["values"], "o-", color=colour.get(r["verdict"], "black"), ms=3)
        ax.axhspan(r["values"][0] - r["noise_floor"], r["values"][0] + r["noise_floor"], color="0.9")
        top = f"{r['corruption']}\n" if keys.index(r["header"]) == 0 else ""  # column titles
        ax.set_title(f"{top}{r['header']}: {r['verdict']}", fontsize=7)
        ax.tick_params(labelsize=6)
    for j, c in enumerate(corruptions):
        first = next(r for r in result.rows if r["corruption"] == c)
        axes[-1][j].set_xlabel(first["strength"], fontsize=7)
    cfg = result.config
    fig.suptitle(f"validate-metrics: {cfg['extractor']} on {cfg['reference']} (n={cfg['n']})", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    plt.close(fig)
    return buf.getvalue()


def write_outputs(result: SanityResult, out: str | Path) -> dict[str, Path]:
    """``out``/validate_metrics.{json,csv,png}, each written atomically."""
    from ganbench.io import write_bytes_atomic, write_json_atomic, write_text_atomic

    folder = Path(out)
    paths = {k: folder / f"validate_metrics.{k}" for k in ("json", "csv", "png")}
    write_json_atomic(paths["json"], result.to_json())
    write_text_atomic(paths["csv"], long_csv(result))
    write_bytes_atomic(paths["png"], figure_png(result))
    return paths
