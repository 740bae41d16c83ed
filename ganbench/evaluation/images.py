"""Image evaluation: a sample source → uint8 → feature extractor → metrics against cached reference
statistics of a real split. The trainer (:func:`evaluate_image_generator`) and ``ganbench eval``
(:func:`evaluate_source`) share this one path.

- The extractor is ``eval.extractor`` or the dataset's default (the shipped Fashion-MNIST classifier
  for fashion-mnist and stacked-fmnist, Inception otherwise); on stacked-fmnist the classifier sees
  each channel on its own (:class:`ganbench.evaluation.stacked.PerChannelExtractor`).
- Real features/statistics come from :func:`ganbench.evaluation.reference.reference_statistics`
  (the cache), computed on ``eval.reference_split`` (first ``eval.n_real`` images, default all).
- ``sharded`` (the trainer's evaluation under torchrun, run by every rank together): the extractor
  is a :class:`~ganbench.evaluation.sharded.ShardedExtractor`: each rank extracts its share of
  every batch (generated and real) and the features are gathered, so every rank scores the single
  process's features; the reference cache is written by rank 0 only. An evaluation that one rank
  runs alone (a family's final evaluation on rank 0) is not sharded: it has no collectives.
- Each metric gets only the inputs its ``needs`` names. Label metrics (those needing
  ``fake_labels``, e.g. intra-FID) get their own sample set from a conditional generator: as many
  fakes per class as reals of that class in the reference split (docs/protocols.md); stored labelled
  images (class folders, an npz ``labels`` array) are used as they are.

:func:`evaluate_source` reads top to bottom in four steps: :func:`plan` (every check, including
every sample count, before any work), :func:`extract` (reference statistics and the generated
sets, through the one extraction loop), :func:`score` (the metrics) and :func:`provenance`.
"""

from __future__ import annotations

import hashlib
import json
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganbench.data.preprocess import to_float
from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation.inputs import EvalInputs
from ganbench.evaluation.metric import (
    DEFAULT_BOOTSTRAP_LEVEL,
    Metric,
    bootstrap_metrics,
    compute_metrics,
    get_metric,
)
from ganbench.evaluation.reference import reference_statistics
from ganbench.evaluation.sharded import ShardedExtractor
from ganbench.evaluation.sources import EvalSource, GeneratorSource, conform
from ganbench.evaluation.stacked import PerChannelExtractor
from ganbench.evaluation.statistics import Extracted, extract_features
from ganbench.registries import EXTRACTORS

DEFAULT_BATCH_SIZE = 250
PREVIEW = 64  # samples kept for the image grid beside the record
QUANTISATION = (
    "float images: declared range -> [-1, 1] -> (x*127.5 + 128).clamp(0, 255) -> uint8 (truncation)"
)
REAL_FIELDS = ("real_features", "real_stats", "real_labels")


# ---------------------------------------------------------------------------------------------
# pieces


def build_extractor(name: str | None, params: dict[str, Any], data: Any, device: torch.device | str) -> Any:
    """The configured extractor on ``device``; per channel on stacked datasets with the classifier.
    ``params`` come validated with the rest of the evaluation settings (``config.check_eval_config``,
    which RunConfig.validate and ``ganbench.evaluate`` run once, before any work)."""
    name = name or data.default_extractor
    extractor = EXTRACTORS.get(name, "extractor")(**params, device=device)
    if data.stacked and name == data.default_extractor:  # the protocol's classifier, per channel
        extractor = PerChannelExtractor(extractor)
    return extractor.eval()


# DataSources opened on another split, per training DataSource: periodic evaluations reuse them.
_SPLITS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def reference_data(data: Any, split: str) -> Any:
    """``data`` on ``split`` (opened once per DataSource object)."""
    if getattr(data, "split", None) == split:
        return data
    opened = _SPLITS.setdefault(data, {})
    if split not in opened:
        opened[split] = data.for_split(split)
    return opened[split]


def dataset_identity(data: Any) -> str:
    """The dataset part of the reference-cache key: the name plus a hash of everything that makes
    the images (root, resolution, channels, crop, interpolation, dataset parameters), so two image
    folders, or two stacked sets with different seeds, never share cached statistics."""
    desc = {k: v for k, v in data.describe().items() if k not in ("in_memory", "num_workers")}
    digest = hashlib.sha256(json.dumps(desc, sort_keys=True, default=str).encode()).hexdigest()
    return f"{data.name}#{digest[:12]}"


def extract_source(
    source: EvalSource,
    n: int,
    seed: int,
    extractor: Any,
    shape: tuple[int, int, int],
    batch_size: int = DEFAULT_BATCH_SIZE,
    labels: torch.Tensor | None = None,
    resize: bool = False,
    progress: bool = False,
    desc: str = "samples",
    keep_images: bool = False,
) -> Extracted:
    """Features (kept), logits and labels of ``n`` samples of ``source`` (uint8, conformed to the
    reference ``shape``), through the one extraction loop; the first :data:`PREVIEW` images too, or
    all ``n`` with ``keep_images`` (for pixel-space metrics, e.g. MS-SSIM: n·C·H·W bytes)."""
    return extract_features(
        extractor,
        source.batches(n, batch_size, seed, labels),
        str(source),
        n,
        keep_features=True,
        keep_logits=True,
        transform=lambda images: conform(images, shape, str(source), resize),
        preview=n if keep_images else PREVIEW,
        progress=progress,
        desc=desc,
        leave=False,
    )


def _inputs(
    needs: set[str], fake: Extracted, ref: dict[str, Any] | None, data: Any, seed: int, device: Any
) -> EvalInputs:
    """EvalInputs holding only the fields in ``needs``."""
    inputs = EvalInputs(dataset=data, seed=seed, device=torch.device(device))
    if "fake_features" in needs:
        inputs.fake_features = fake.features
    if "fake_logits" in needs:
        inputs.fake_logits = fake.logits
    if "fake_labels" in needs:
        inputs.fake_labels = fake.labels
    if "fake_images" in needs:
        inputs.fake_images = fake.preview  # every image kept (extract_source's keep_images)
    if ref is not None:
        if "real_features" in needs:
            inputs.real_features = ref["features"]
        if "real_stats" in needs:
            inputs.real_stats = (ref["mu"], ref["sigma"])
        if "real_labels" in needs:
            inputs.real_labels = ref["labels"]
    return inputs


# ---------------------------------------------------------------------------------------------
# the evaluation: plan -> extract -> score -> provenance


@dataclass
class EvalResult:
    metrics: dict[str, Any]
    provenance: dict[str, Any]
    preview: torch.Tensor  # uint8 N×C×H×W, the first samples scored (for an image grid)


@dataclass
class Plan:
    """What an evaluation will do, decided and checked before any image is read."""

    names: list[str]  # the metrics, in the order asked
    metrics: dict[str, Metric]
    params: dict[str, dict[str, Any]]
    plain: list[str]  # scored on the n generated samples
    labelled: list[str]  # need labelled fakes (per-class metrics)
    n: int
    split: str
    ref_data: Any  # the reference DataSource (``data`` on ``split``)
    shape: tuple[int, int, int]  # the reference images' C, H, W
    n_real: int | None  # first n_real reference images (None = all)
    extractor: Any
    batch_size: int
    bootstrap: int | None = None  # resamples of the generated set (eval.bootstrap; None = off)
    bootstrap_level: float = DEFAULT_BOOTSTRAP_LEVEL

    def needs(self, names: list[str]) -> set[str]:
        return set().union(*(self.metrics[m].needs for m in names)) if names else set()

    @property
    def real_needs(self) -> set[str]:
        return self.needs(self.names) & set(REAL_FIELDS)

    def main_pass(self, source: EvalSource) -> bool:
        """Whether the n plain samples are drawn (plain metrics, or stored labels to score)."""
        return bool(self.plain) or (bool(self.labelled) and not source.conditional)


def plan(
    source: EvalSource,
    data: Any,
    eval_cfg: Any,
    seed: int,
    device: torch.device | str,
    batch_size: int = DEFAULT_BATCH_SIZE,
    sharded: bool = False,
) -> Plan:
    """Check everything that can be checked before any work (metrics, kinds of data, labels, every
    sample count) and build the extractor; raise ConfigError/SourceError naming what to change.
    ``sharded``: every rank of the process group runs this evaluation together (the trainer's
    :func:`ganbench.evaluation.evaluator.evaluate` under torchrun), so extraction is split over them."""
    if getattr(data, "kind", None) != "images":
        raise ConfigError(
            f"image evaluation needs an image dataset; {getattr(data, 'name', data)!r} holds points"
        )
    names = list(eval_cfg.metrics)
    if not names:
        raise ConfigError("no metrics to compute (eval.metrics / --metrics is empty)")
    fns = {name: get_metric(name, "metrics") for name in names}
    for name, fn in fns.items():
        if fn.data_kind != "images":
            raise ConfigError(f"metric {name!r} is for 2-D point datasets (ring8, grid25), not images")
    params = {name: dict(eval_cfg.metric_params.get(name) or {}) for name in names}
    labelled = [name for name in names if fns[name].needs_labels]
    ref_data = reference_data(data, eval_cfg.reference_split)
    p = Plan(
        names=names,
        metrics=fns,
        params=params,
        plain=[name for name in names if name not in labelled],
        labelled=labelled,
        n=int(eval_cfg.n_samples),
        split=eval_cfg.reference_split,
        ref_data=ref_data,
        shape=tuple(ref_data.sample_shape),
        n_real=eval_cfg.n_real,
        extractor=None,  # built once the counts are known to be fine
        batch_size=batch_size,
        bootstrap=getattr(eval_cfg, "bootstrap", None),
        bootstrap_level=getattr(eval_cfg, "bootstrap_level", None) or DEFAULT_BOOTSTRAP_LEVEL,
    )
    _check_labels(p, source, data)
    _check_counts(p, source, seed)
    p.extractor = build_extractor(eval_cfg.extractor, eval_cfg.extractor_params, data, device)
    if sharded:  # every rank of the process group evaluates: each extracts its share of a batch
        p.extractor = ShardedExtractor(p.extractor)
    for name in names:
        if "fake_logits" in fns[name].needs and not p.extractor.num_classes:
            raise SourceError(
                f"metric {name!r} needs logits; extractor {p.extractor.name!r} gives features only"
            )
    return p


def _check_labels(p: Plan, source: EvalSource, data: Any) -> None:
    if not p.labelled:
        return
    if not (source.conditional or getattr(source, "labels", None) is not None):
        raise SourceError(
            f"metric {p.labelled[0]!r} needs labelled samples and {source} has no labels (a folder needs "
            f"class sub-folders, an .npz a 'labels' array, a generator --num-classes)"
        )
    if not p.ref_data.num_classes:
        raise SourceError(
            f"metric {p.labelled[0]!r} needs class labels, but the reference {data.name!r} has none"
        )


def _check_counts(p: Plan, source: EvalSource, seed: int) -> None:
    """Every count, before the reference pass (which can take minutes on a cold cache)."""
    available = len(p.ref_data)
    if p.n_real is not None and not 1 <= p.n_real <= available:
        raise SourceError(
            f"--n-real {p.n_real}: the reference {p.ref_data.name!r} ({p.split}) holds {available} images"
        )
    real_n = p.n_real if p.n_real is not None else available
    for name in p.names:
        need = p.metrics[name].min_samples(p.params[name])
        if name in p.plain and p.n < need:
            raise SourceError(f"metric {name!r} needs at least {need} generated samples, got n={p.n}")
        if p.metrics[name].needs & set(REAL_FIELDS) and real_n < need:
            raise SourceError(
                f"metric {name!r} needs at least {need} real samples, the reference has {real_n}"
            )
    if p.main_pass(source):
        source.check_count(p.n, p.batch_size)
    if p.labelled and not source.conditional:
        # stored labels: the per-class counts of the very images that will be drawn
        _check_per_class(p, source.drawn_labels(p.n, seed), source)


def _check_per_class(p: Plan, labels: torch.Tensor, source: EvalSource) -> None:
    per_class = torch.bincount(labels, minlength=p.ref_data.num_classes)
    for name in p.labelled:
        need = p.metrics[name].min_samples(p.params[name])
        if int(per_class.min()) < need:
            raise SourceError(
                f"metric {name!r} needs at least {need} samples of every class; class "
                f"{int(per_class.argmin())} has {int(per_class.min())} in {source}"
            )


@dataclass
class Extraction:
    """The feature sets an evaluation scores."""

    ref: dict[str, Any] | None  # reference statistics (see reference_statistics)
    main: Extracted | None  # the n plain samples
    lab: Extracted | None  # the labelled samples (the main set when the source has stored labels)
    counts: dict[str, Any] = field(default_factory=dict)
    bootstrap: dict[str, Any] | None = None  # what score's bootstrap did (for the provenance)

    @property
    def preview(self) -> torch.Tensor:
        for got in (self.main, self.lab):
            if got is not None and len(got.preview):
                return got.preview[:PREVIEW]
        return torch.empty(0, dtype=torch.uint8)


def extract(
    p: Plan,
    source: EvalSource,
    data: Any,
    seed: int,
    resize: bool = False,
    progress: bool = False,
    cache_dir: str | Path | None = None,
) -> Extraction:
    """Reference statistics (from the cache when valid), then the generated sets."""
    ref = None
    if p.real_needs or (p.labelled and source.conditional):  # per-class fake counts need the real labels
        ref = reference_statistics(
            dataset_identity(p.ref_data),
            p.split,
            p.shape[-1],
            p.extractor,
            lambda: p.ref_data.iter_uint8(p.batch_size, limit=p.n_real),
            n=p.n_real,
            cache_dir=cache_dir,
            with_features=bool(p.real_needs & {"real_features", "real_labels"}),
            progress=progress,
            total=len(p.ref_data),
        )
        if p.labelled and ref["labels"] is None:
            raise SourceError(
                f"metric {p.labelled[0]!r}: the reference statistics of {data.name!r} have no labels"
            )
    out = Extraction(ref, None, None)

    def samples(n: int, labels: torch.Tensor | None, desc: str, keep_images: bool) -> Extracted:
        return extract_source(
            source, n, seed, p.extractor, p.shape, p.batch_size, labels, resize, progress, desc, keep_images
        )

    # pixel-space metrics (fake_images) get every image of the set they score; with stored labels the
    # main set is the labelled set too
    images_lab = "fake_images" in p.needs(p.labelled)
    if p.main_pass(source):
        keep = "fake_images" in p.needs(p.plain) or (images_lab and not source.conditional)
        out.main = samples(p.n, None, "generated", keep)
        out.counts["n_fake"] = p.n
    if p.labelled and source.conditional:
        assert ref is not None
        _check_per_class(p, ref["labels"], source)  # as many fakes per class as reals of that class
        out.lab = samples(len(ref["labels"]), ref["labels"], "generated (per class)", images_lab)
        out.counts["n_fake_labelled"] = out.lab.n
        out.counts["labelled_samples"] = "as many per class as reals of that class in the reference split"
    elif p.labelled:
        out.lab = out.main
        out.counts["labelled_samples"] = "the source's own labels"
    return out


def score(
    p: Plan, got: Extraction, data: Any, seed: int, device: torch.device | str, progress: bool = False
) -> dict[str, Any]:
    """The metrics: plain ones on the main set, per-class ones on the labelled set. With
    ``eval.bootstrap`` each metric that allows it is recomputed on resamples of its generated set
    (the real statistics fixed) and ``<key>_ci_low`` / ``<key>_ci_high`` join the metrics; what was
    resampled and what was skipped go to ``got.bootstrap`` (the provenance)."""
    metrics: dict[str, Any] = {}
    cis: dict[str, float] = {}
    skipped: dict[str, str] = {}
    for names, fake in ((p.plain, got.main), (p.labelled, got.lab)):
        if names:
            assert fake is not None
            inputs = _inputs(p.needs(names), fake, got.ref, data, seed, device)
            taken = set(metrics)
            metrics.update(compute_metrics(names, inputs, p.params, progress))
            if p.bootstrap:
                ci, skip = bootstrap_metrics(
                    names, inputs, p.params, p.bootstrap, seed, p.bootstrap_level, progress, taken
                )
                cis.update(ci)
                skipped.update(skip)
    if p.bootstrap:
        metrics.update(cis)
        got.bootstrap = {
            "method": "percentile",
            "resamples": p.bootstrap,
            "level": p.bootstrap_level,
            "resampled": "the generated samples, with replacement (n each); real statistics fixed",
            "seed": seed,
            "skipped": skipped,
        }
    return metrics


def provenance(
    p: Plan, got: Extraction, source: EvalSource, data: Any, seed: int, resize: bool, wall_time_s: float
) -> dict[str, Any]:
    """Everything a number needs beside it (docs/protocols.md, reporting rules)."""
    ref = got.ref
    return {
        "source": source.describe(),
        "extractor": p.extractor.provenance(),
        "reference": None
        if ref is None
        else {
            "dataset": data.name,
            "split": p.split,
            "cache_dataset_key": ref["key"]["dataset"],
            "n_real": ref["n"],
            "stats_sha256": ref["stats_sha256"],
            "cache": ref["cache"],
            "data": p.ref_data.describe(),
        },
        **got.counts,
        "eval_seed": seed,
        "metrics": p.names,
        "metric_params": {k: v for k, v in p.params.items() if v},
        **({"bootstrap": got.bootstrap} if got.bootstrap is not None else {}),
        "quantisation": QUANTISATION if source.float_output else "stored uint8 images, unchanged",
        "resize": resize,
        "wall_time_s": wall_time_s,
    }


def evaluate_source(
    source: EvalSource,
    data: Any,
    eval_cfg: Any,
    seed: int,
    device: torch.device | str = "cpu",
    batch_size: int = DEFAULT_BATCH_SIZE,
    resize: bool = False,
    progress: bool = False,
    cache_dir: str | Path | None = None,
    sharded: bool = False,
) -> EvalResult:
    """Score ``eval_cfg.n_samples`` samples of ``source`` against image dataset ``data`` (the
    reference split is ``eval_cfg.reference_split``) with the metrics ``eval_cfg.metrics``.
    ``eval_cfg`` is a validated EvalConfig (a RunConfig's, or checked by ``config.check_eval_config``)."""
    t0 = time.perf_counter()
    p = plan(source, data, eval_cfg, seed, device, batch_size, sharded)
    source.to(device)
    got = extract(p, source, data, seed, resize, progress, cache_dir)
    metrics = score(p, got, data, seed, device, progress)
    prov = provenance(p, got, source, data, seed, resize, time.perf_counter() - t0)
    return EvalResult(metrics, prov, got.preview)


def evaluate_image_generator(
    G: nn.Module,
    data: Any,
    eval_cfg: Any,
    seed: int,
    device: torch.device | str = "cpu",
    sharded: bool = False,
) -> tuple[dict[str, Any], torch.Tensor]:
    """The trainer's entry: metrics of ``G`` (its EMA or best copy) on ``data``. The provenance is
    returned under the metrics key ``_provenance`` (the trainer moves it into the record); the
    samples are the first few scored, as floats in [-1, 1], for the image grid."""
    source = GeneratorSource(G, f"generator {type(G).__name__}", G.z_dim, getattr(G, "num_classes", None))
    result = evaluate_source(source, data, eval_cfg, seed, device, sharded=sharded)
    return {**result.metrics, "_provenance": result.provenance}, to_float(result.preview)
