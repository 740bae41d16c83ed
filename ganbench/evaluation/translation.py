"""Evaluating a translator: translate held-out A images, score them against held-out B images.

The protocol (docs/translation.md):

- inputs: the first ``eval.n_samples`` A images of the evaluation split (``eval.reference_split``,
  normally ``test``), in file order; the reference: the B images of that split (all of them, or
  the first ``eval.n_real``);
- the translator runs in eval mode with its own noise (Pix2Pix's test-time dropout) drawn from
  ``seed``; its [-1, 1] output is quantised to uint8 like every generated image;
- image metrics (FID, KID, P/R/D/C, ...) score the translated images against the reference B
  images in the extractor's space; translation metrics score each translated image against its
  ground truth (paired data: L1, PSNR, SSIM) and its target class (``classifier_score``);
- with a backward translator (CycleGAN's F), ``cycle_l1`` is the mean |F(G(a)) − a| / 255 on uint8.

``identity_baseline`` scores the inputs themselves as the translations (the do-nothing
translator), the number a trained translator must beat.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation.images import DEFAULT_BATCH_SIZE, build_extractor
from ganbench.evaluation.inputs import EvalInputs
from ganbench.evaluation.metric import Output, compute_metrics, declare_outputs, get_metric
from ganbench.evaluation.sources import float_to_uint8
from ganbench.evaluation.sources.generator import call_factory, load_torchscript
from ganbench.evaluation.statistics import extract_features
from ganbench.evaluation.translation_metrics import per_image_l1
from ganbench.io import sha256_file

declare_outputs(64, Output("cycle_l1", "lower", display="cycle L1"))

SAMPLE_ROWS = 8
Translator = Callable[[torch.Tensor], torch.Tensor]


@torch.no_grad()
def translate(
    translator: Translator,
    images: torch.Tensor,
    seed: int,
    device: torch.device | str,
    who: str = "translator",
) -> torch.Tensor:
    """uint8 images through ``translator`` (float [-1, 1] in and out) → uint8, in batches, with the
    global RNG (dropout) seeded by ``seed`` and restored afterwards."""
    if isinstance(translator, nn.Module):
        translator.eval()
    out = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for i in range(0, len(images), DEFAULT_BATCH_SIZE):
            x = images[i : i + DEFAULT_BATCH_SIZE].to(device, torch.float32).div(127.5).sub(1.0)
            y = translator(x)
            if not isinstance(y, torch.Tensor) or y.shape[0] != x.shape[0] or y.dim() != 4:
                shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
                raise SourceError(
                    f"{who}: returned {shape} for a batch of {tuple(x.shape)}; expected N×C×H×W"
                )
            out.append(float_to_uint8(y.float(), (-1.0, 1.0), who).cpu())
    return torch.cat(out)


# reference features per translation dataset object: periodic evaluations extract them once
_REFERENCE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _reference_features(extractor: Any, reference: torch.Tensor, data: Any, split: str) -> torch.Tensor:
    key = (split, len(reference), json.dumps(extractor.provenance(), sort_keys=True, default=str))
    cached = _REFERENCE.setdefault(data, {})
    if key not in cached:
        cached[key] = extract_features(extractor, [reference], "reference B images").features
    return cached[key]


def _metric_inputs(
    names: list[str],
    extractor: Any,
    fake: torch.Tensor,
    target: Any,
    reference: torch.Tensor,
    data: Any,
    split: str,
) -> EvalInputs:
    needs: set[str] = set()
    for name in names:
        needs |= get_metric(name).reads()
    inputs = EvalInputs(dataset=data, fake_images=fake)
    if needs & {"fake_features", "fake_logits", "real_features", "real_stats"}:
        f = extract_features(extractor, [fake], "translated images", keep_logits=True)
        inputs.fake_features, inputs.fake_logits = f.features, f.logits
        inputs.real_features = _reference_features(extractor, reference, data, split)
    if data.paired:
        inputs.target_images = target.images[: len(fake)]
    labels = data.target_labels(split)
    inputs.target_labels = labels[: len(fake)] if labels is not None else None
    return inputs


def check_translation_metrics(metrics: list[str], dataset: str, paired: bool, where: str) -> None:
    """Refuse metrics that compare a translation with its ground truth on unpaired data (their
    data kind is checked with every metric's, by ``config.check_eval_config``)."""
    if paired:
        return
    paired_only = [m for m in metrics if get_metric(m, f"{where}: eval.metrics").accepts("target_images")]
    if paired_only:
        raise ConfigError(
            f"{where}: eval.metrics: {', '.join(paired_only)} compare each translation with its "
            f"ground truth, which unpaired dataset {dataset!r} does not have"
        )


def evaluate_translator(
    G: Translator,
    data: Any,
    eval_cfg: Any,
    seed: int,
    device: torch.device | str,
    backward: Translator | None = None,
    with_baseline: bool = False,
) -> tuple[dict[str, Any], dict[str, Any], torch.Tensor]:
    """(metrics, provenance, rows) of translator ``G`` on ``data`` (a TranslationSource); rows: uint8
    k×columns×C×H×W of the first images, [input | output | target] on paired data, [input | output |
    F(output)] with a backward translator on unpaired data, for the sample figure."""
    split = eval_cfg.reference_split
    source_a, target_b = data.domain("A", split), data.domain("B", split)
    n = min(eval_cfg.n_samples, len(source_a))
    inputs_a = source_a.images[:n]
    reference = target_b.images if eval_cfg.n_real is None else target_b.images[: eval_cfg.n_real]
    names = list(eval_cfg.metrics)  # validated: check_eval_config and check_translation_metrics
    extractor = build_extractor(eval_cfg.extractor, eval_cfg.extractor_params, data, device)
    fake = translate(G, inputs_a, seed, device, "G")
    metrics = compute_metrics(
        names,
        _metric_inputs(names, extractor, fake, target_b, reference, data, split),
        eval_cfg.metric_params,
    )
    columns = [inputs_a, fake]  # the sample figure: input | output | target (or reconstruction)
    if data.paired:
        columns.append(target_b.images[:n])
    if backward is not None:
        rec = translate(lambda x: backward(G(x)), inputs_a, seed, device, "F(G(·))")
        metrics["cycle_l1"] = float(per_image_l1(rec, inputs_a).mean())
        if not data.paired:
            columns.append(rec)
    provenance: dict[str, Any] = {
        "split": split,
        "n_translated": n,
        "n_reference": len(reference),
        "extractor": eval_cfg.extractor or data.default_extractor,
        "metrics": names,
    }
    if with_baseline:
        same = inputs_a if inputs_a.shape[1:] == reference.shape[1:] else None
        if same is not None:
            provenance["identity_baseline"] = compute_metrics(
                names,
                _metric_inputs(names, extractor, same, target_b, reference, data, split),
                eval_cfg.metric_params,
            )
    k = min(SAMPLE_ROWS, n)
    return metrics, provenance, torch.stack([c[:k] for c in columns], 1)


# ---------------------------------------------------------------------------------------------
# an external translator: ``ganbench eval TRANSLATOR --reference <translation dataset>``


def load_translator(spec: str) -> tuple[Translator, dict[str, Any]]:
    """A translator from a TorchScript file (``torch.jit.save``) or ``module:factory`` /
    ``file.py:factory`` (``factory()`` returns it: this imports and runs that code, as the callable
    generator source does). Returns it and its description for the record."""
    path = Path(spec)
    if path.is_file():
        module = load_torchscript(path, "translator", "translator")
        return module, {"kind": "torchscript", "path": str(path.resolve()), "sha256": sha256_file(path)}
    if ":" not in spec:
        raise SourceError(
            f"translator {spec!r}: no such file; a translator is a TorchScript file or "
            f"package.module:factory / path/to/file.py:factory"
        )
    translator = call_factory(spec, "translator", "the translator (an nn.Module or a function of x)")
    return translator, {"kind": "callable", "spec": spec, "type": type(translator).__name__}


def evaluate_translator_spec(
    spec: str,
    dataset: str,
    *,
    metrics: list[str] | None = None,
    extractor: str | None = None,
    extractor_params: dict[str, Any] | None = None,
    n: int | None = None,
    seed: int | None = None,
    split: str | None = None,
    n_real: int | None = None,
    root: str | None = None,
    resolution: int | None = None,
    device: str = "auto",
) -> Any:
    """Translate ``dataset``'s held-out A images with the translator ``spec`` and score them as a
    trained run is scored: an :class:`~ganbench.evaluation.api.EvaluationResult` whose record
    holds the identity baseline and the translator's file hash."""
    from ganbench.config import DataConfig, EvalConfig, check_eval_config
    from ganbench.devices import resolve_device
    from ganbench.evaluation.api import EvaluationResult
    from ganbench.registries import DATASETS, load_all

    load_all()
    cls = DATASETS.get(dataset, "--reference")
    if cls.kind != "translation":
        raise ConfigError(f"--reference {dataset!r} is not a translation dataset")
    split = split or "test"
    eval_cfg = EvalConfig(
        metrics=list(metrics) if metrics else list(cls.default_metrics),
        extractor=extractor,
        extractor_params=dict(extractor_params or {}),
        n_samples=n or 10_000_000,
        n_real=n_real,
        reference_split=split,
        seed=2024 if seed is None else seed,
    )
    check_eval_config(eval_cfg, dataset, "ganbench eval", key=lambda k: f"--{k.replace('_', '-')}")
    check_translation_metrics(eval_cfg.metrics, dataset, cls.paired, "ganbench eval")
    dev = resolve_device(device)
    data = cls(DataConfig(name=dataset, root=root, split=split, resolution=resolution))
    translator, described = load_translator(spec)
    if isinstance(translator, nn.Module):
        translator = translator.to(dev)
    values, provenance, _ = evaluate_translator(
        translator, data, eval_cfg, eval_cfg.seed, dev, with_baseline=True
    )
    settings = {
        "source": spec,
        "reference": dataset,
        "split": split,
        "n": provenance["n_translated"],
        "n_real": eval_cfg.n_real,
        "seed": eval_cfg.seed,
        "metrics": eval_cfg.metrics,
        "extractor": eval_cfg.extractor or data.default_extractor,
    }
    provenance = {**provenance, "translator": described, "dataset": data.describe()}
    return EvaluationResult(values, settings, provenance, {"device": str(dev)})
