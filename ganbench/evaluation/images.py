"""Image evaluation: a sample source → uint8 → feature extractor → metrics against cached reference
statistics of a real split. The trainer (:func:`evaluate_image_generator`) and ``ganbench eval``
(:func:`evaluate_source`) share this one path.

- The extractor is ``eval.extractor`` or the dataset's default (the shipped Fashion-MNIST classifier
  for fashion-mnist and stacked-fmnist, Inception otherwise); on stacked-fmnist the classifier sees
  each channel on its own (:class:`ganbench.evaluation.stacked.PerChannelExtractor`).
- Real features/statistics come from :func:`ganbench.evaluation.reference.reference_statistics`
  (the cache), computed on ``eval.reference_split`` (first ``eval.n_real`` images, default all).
- Each metric gets only the inputs its ``needs`` names. Label metrics (those needing
  ``fake_labels``, e.g. intra-FID) get their own sample set from a conditional generator: as many
  fakes per class as reals of that class in the reference split (docs/protocols.md); stored labelled
  images (class folders, an npz ``labels`` array) are used as they are.
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
from tqdm.auto import tqdm

from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation.metric import get_metric
from ganbench.schema import check_params

DEFAULT_BATCH_SIZE = 250
PREVIEW = 64  # samples kept for the image grid beside the record
QUANTISATION = (
    "float images: declared range -> [-1, 1] -> (x*127.5 + 128).clamp(0, 255) -> uint8 (truncation)"
)
REAL_FIELDS = ("real_features", "real_stats", "real_labels")


# ---------------------------------------------------------------------------------------------
# pieces


def build_extractor(name: str | None, params: dict[str, Any], data: Any, device: torch.device | str) -> Any:
    """The configured extractor on ``device``; per channel on stacked datasets with the classifier."""
    from ganbench.registries import EXTRACTORS

    name = name or data.default_extractor
    factory = EXTRACTORS.get(name, "extractor")
    checked = check_params(factory, dict(params), f"extractor {name!r} options", skip=("device",))
    extractor = factory(**checked, device=device)
    if data.stacked and name == data.default_extractor:  # the protocol's classifier, per channel
        from ganbench.evaluation.stacked import PerChannelExtractor

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


@dataclass
class FakeSet:
    features: torch.Tensor | None
    logits: torch.Tensor | None
    labels: torch.Tensor | None
    n: int
    preview: torch.Tensor = field(default_factory=lambda: torch.empty(0, dtype=torch.uint8))


@torch.no_grad()
def extract_source(
    source: Any,
    n: int,
    seed: int,
    extractor: Any,
    shape: tuple[int, int, int],
    batch_size: int = DEFAULT_BATCH_SIZE,
    labels: torch.Tensor | None = None,
    resize: bool = False,
    progress: bool = False,
    desc: str = "samples",
) -> FakeSet:
    """Features/logits of ``n`` samples of ``source`` (uint8, conformed to the reference ``shape``)."""
    from ganbench.evaluation.sources import conform

    feats, logits, ys, preview = [], [], [], []
    kept = 0
    with tqdm(total=n, desc=desc, disable=not progress, leave=False) as bar:
        for images, y in source.batches(n, batch_size, seed, labels):
            images = conform(images, shape, str(source), resize)
            f, lg = extractor(images)
            feats.append(f.cpu())
            if lg is not None:
                logits.append(lg.cpu())
            if y is not None:
                ys.append(y.cpu())
            if kept < PREVIEW:
                preview.append(images[: PREVIEW - kept].cpu())
                kept += len(preview[-1])
            bar.update(len(images))
    features = torch.cat(feats)
    if len(features) != n:
        raise SourceError(f"{source}: gave {len(features)} samples, {n} were asked for")
    for t, what in ((features, "features"), (torch.cat(logits) if logits else None, "logits")):
        if t is not None and not bool(torch.isfinite(t).all()):
            bad = int((~torch.isfinite(t)).any(dim=1).sum())
            raise SourceError(
                f"{source}: extractor {extractor.name!r} gave NaN or inf {what} for {bad} samples"
            )
    return FakeSet(
        features,
        torch.cat(logits) if logits else None,
        torch.cat(ys) if ys else None,
        n,
        torch.cat(preview) if preview else torch.empty(0, dtype=torch.uint8),
    )


def _inputs(
    needs: set[str], fake: FakeSet, ref: dict[str, Any] | None, data: Any, seed: int, device: Any
) -> Any:
    """EvalInputs holding only the fields in ``needs``."""
    from ganbench.evaluation.inputs import EvalInputs

    inputs = EvalInputs(dataset=data, seed=seed, device=torch.device(device))
    if "fake_features" in needs:
        inputs.fake_features = fake.features
    if "fake_logits" in needs:
        inputs.fake_logits = fake.logits
    if "fake_labels" in needs:
        inputs.fake_labels = fake.labels
    if ref is not None:
        if "real_features" in needs:
            inputs.real_features = ref["features"]
        if "real_stats" in needs:
            inputs.real_stats = (ref["mu"], ref["sigma"])
        if "real_labels" in needs:
            inputs.real_labels = ref["labels"]
    return inputs


# ---------------------------------------------------------------------------------------------
# the evaluation


@dataclass
class EvalResult:
    metrics: dict[str, Any]
    provenance: dict[str, Any]
    preview: torch.Tensor  # uint8 N×C×H×W, the first samples scored (for an image grid)


def evaluate_source(
    source: Any,
    data: Any,
    eval_cfg: Any,
    seed: int,
    device: torch.device | str = "cpu",
    batch_size: int = DEFAULT_BATCH_SIZE,
    resize: bool = False,
    progress: bool = False,
    cache_dir: str | Path | None = None,
) -> EvalResult:
    """Score ``eval_cfg.n_samples`` samples of ``source`` against image dataset ``data`` (the
    reference split is ``eval_cfg.reference_split``) with the metrics ``eval_cfg.metrics``."""
    from ganbench.evaluation.evaluator import compute_metrics
    from ganbench.evaluation.reference import reference_statistics

    t0 = time.perf_counter()
    if getattr(data, "kind", None) != "images":
        raise ConfigError(
            f"image evaluation needs an image dataset; {getattr(data, 'name', data)!r} holds points"
        )
    names = list(eval_cfg.metrics)
    if not names:
        raise ConfigError("no metrics to compute (eval.metrics / --metrics is empty)")
    fns = {name: get_metric(name, "metrics") for name in names}
    needs = {name: set(fn.needs) for name, fn in fns.items()}
    for name, fn in fns.items():
        if fn.data_kind != "images":
            raise ConfigError(f"metric {name!r} is for 2-D point datasets (ring8, grid25), not images")
    params = {name: dict(eval_cfg.metric_params.get(name) or {}) for name in names}
    labelled = [name for name in names if fns[name].needs_labels]
    plain = [name for name in names if name not in labelled]
    split = eval_cfg.reference_split
    ref_data = reference_data(data, split)
    shape = tuple(ref_data.sample_shape)
    n = int(eval_cfg.n_samples)

    # fail before any work when the sample counts cannot do
    if labelled and not (source.conditional or getattr(source, "labels", None) is not None):
        raise SourceError(
            f"metric {labelled[0]!r} needs labelled samples and {source} has no labels (a folder needs class "
            f"sub-folders, an .npz a 'labels' array, a generator --num-classes)"
        )
    if labelled and not ref_data.num_classes:
        raise SourceError(
            f"metric {labelled[0]!r} needs class labels, but the reference {data.name!r} has none"
        )
    real_n = eval_cfg.n_real if eval_cfg.n_real is not None else len(ref_data)
    for name in names:
        need = fns[name].min_samples(params[name])
        if name in plain and n < need:
            raise SourceError(f"metric {name!r} needs at least {need} generated samples, got n={n}")
        if needs[name] & set(REAL_FIELDS) and real_n < need:
            raise SourceError(
                f"metric {name!r} needs at least {need} real samples, the reference has {real_n}"
            )

    extractor = build_extractor(eval_cfg.extractor, eval_cfg.extractor_params, data, device)
    for name in names:
        if "fake_logits" in needs[name] and not extractor.num_classes:
            raise SourceError(
                f"metric {name!r} needs logits; extractor {extractor.name!r} gives features only"
            )
    source.to(device)

    ref = None
    all_needs = set().union(*needs.values())
    if all_needs & set(REAL_FIELDS):
        ref = reference_statistics(
            dataset_identity(ref_data),
            split,
            shape[-1],
            extractor,
            lambda: ref_data.iter_uint8(batch_size, limit=eval_cfg.n_real),
            n=eval_cfg.n_real,
            cache_dir=cache_dir,
            with_features=bool(all_needs & {"real_features", "real_labels"}),
            progress=progress,
        )
        if labelled and ref["labels"] is None:
            raise SourceError(
                f"metric {labelled[0]!r}: the reference statistics of {data.name!r} have no labels"
            )

    metrics: dict[str, Any] = {}
    counts: dict[str, Any] = {}
    preview = torch.empty(0, dtype=torch.uint8)
    main = None
    if plain or (labelled and not source.conditional):
        main = extract_source(
            source, n, seed, extractor, shape, batch_size, None, resize, progress, "generated"
        )
        preview = main.preview
        counts["n_fake"] = n
    if plain:
        metrics.update(
            compute_metrics(
                plain, _inputs(set().union(*(needs[m] for m in plain)), main, ref, data, seed, device), params
            )
        )
    if labelled:
        if source.conditional:
            wanted = ref["labels"]
            lab = extract_source(
                source,
                len(wanted),
                seed,
                extractor,
                shape,
                batch_size,
                wanted,
                resize,
                progress,
                "generated (per class)",
            )
            if not len(preview):
                preview = lab.preview
            counts["n_fake_labelled"] = lab.n
            counts["labelled_samples"] = "as many per class as reals of that class in the reference split"
        else:
            lab = main
            counts["labelled_samples"] = "the source's own labels"
        for name in labelled:
            need = fns[name].min_samples(params[name])
            per_class = torch.bincount(lab.labels, minlength=ref_data.num_classes)
            if int(per_class.min()) < need:
                raise SourceError(
                    f"metric {name!r} needs at least {need} samples of every class; class "
                    f"{int(per_class.argmin())} has {int(per_class.min())} in {source}"
                )
        metrics.update(
            compute_metrics(
                labelled,
                _inputs(set().union(*(needs[m] for m in labelled)), lab, ref, data, seed, device),
                params,
            )
        )

    provenance = {
        "source": source.describe(),
        "extractor": extractor.provenance(),
        "reference": None
        if ref is None
        else {
            "dataset": data.name,
            "split": split,
            "cache_dataset_key": ref["key"]["dataset"],
            "n_real": ref["n"],
            "stats_sha256": ref["stats_sha256"],
            "cache": ref["cache"],
            "data": ref_data.describe(),
        },
        **counts,
        "eval_seed": seed,
        "metrics": names,
        "metric_params": {k: v for k, v in params.items() if v},
        "quantisation": QUANTISATION if source.float_output else "stored uint8 images, unchanged",
        "resize": resize,
        "wall_time_s": time.perf_counter() - t0,
    }
    return EvalResult(metrics, provenance, preview)


def evaluate_image_generator(
    G: nn.Module, data: Any, eval_cfg: Any, seed: int, device: torch.device | str = "cpu"
) -> tuple[dict[str, Any], torch.Tensor]:
    """The trainer's entry: metrics of ``G`` (its EMA or best copy) on ``data``. The provenance is
    returned under the metrics key ``_provenance`` (the trainer moves it into the record); the
    samples are the first few scored, as floats in [-1, 1], for the image grid."""
    from ganbench.data.preprocess import to_float
    from ganbench.evaluation.sources import GeneratorSource

    source = GeneratorSource(G, f"generator {type(G).__name__}", G.z_dim, getattr(G, "num_classes", None))
    result = evaluate_source(source, data, eval_cfg, seed, device)
    return {**result.metrics, "_provenance": result.provenance}, to_float(result.preview)
