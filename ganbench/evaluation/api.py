"""The one-call Python API: ``ganbench.evaluate(fake, real=..., metrics=...)``.

``fake`` is anything ``ganbench eval`` takes (an image folder, an .npy/.npz file, a TorchScript
file, ``module:factory``, a ganbench run folder) or an object in memory: an array or tensor of
images, or a generator (an ``nn.Module`` or any callable ``G(z)`` / ``G(z, y)``). ``real`` names the
reference dataset (a run folder defaults to its own). The result carries the numbers, the settings
they were computed with and their provenance; ``ganbench eval`` is a thin layer over this function,
so the command and the API give the same numbers for the same inputs.

```python
import ganbench
result = ganbench.evaluate("samples/", real="fashion-mnist", metrics=["fid", "kid", "prdc"])
print(result["fid"], result.settings["extractor"])
```
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganbench.config import DataConfig, EvalConfig, check_eval_config
from ganbench.devices import resolve_device
from ganbench.errors import ConfigError
from ganbench.evaluation.images import DEFAULT_BATCH_SIZE, evaluate_source
from ganbench.evaluation.sources import ArraySource, EvalSource, GeneratorSource, open_source
from ganbench.evaluation.sources.base import OptionNamer, option_name, option_names
from ganbench.evaluation.sources.open import check_options
from ganbench.records import versions
from ganbench.registries import DATASETS, EXTRACTORS, load_all
from ganbench.schema import check_params

DEFAULT_METRICS = ("fid",)
# EvalConfig fields -> this function's arguments, so validation messages name what the caller typed
_ARGUMENT = {"n_samples": "n", "reference_split": "split"}
DEFAULT_GENERATED = 10_000  # samples drawn from a generator when neither n nor a recipe says
RECORD_KIND = "eval"


@dataclass(frozen=True)
class EvaluationResult:
    """What one evaluation computed. ``result["fid"]`` reads a metric."""

    metrics: dict[str, Any]
    settings: dict[str, Any]  # source, reference, split, n, n_real, seed, metrics and their params, extractor
    provenance: dict[str, Any]  # extractor weights hash, reference statistics hash, versions, ...
    compute: dict[str, Any] = field(default_factory=dict)
    preview: torch.Tensor | None = field(default=None, repr=False, compare=False)  # first samples, uint8

    def __getitem__(self, key: str) -> Any:
        return self.metrics[key]

    def to_record(self) -> dict[str, Any]:
        """The JSON record ``ganbench eval --out`` writes and ``--json`` prints."""
        return {
            "schema_version": 1,
            "kind": RECORD_KIND,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "metrics": self.metrics,
            "config": self.settings,
            "provenance": self.provenance,
            "compute": self.compute,
        }


def evaluate(
    fake: Any,
    real: str | None = None,
    *,
    metrics: Sequence[str] | None = None,
    extractor: str | None = None,
    n: int | None = None,
    seed: int | None = None,
    split: str | None = None,
    n_real: int | None = None,
    root: str | None = None,
    resolution: int | None = None,
    extractor_params: dict[str, Any] | None = None,
    metric_params: dict[str, dict[str, Any]] | None = None,
    bootstrap: int | None = None,
    kind: str | None = None,
    device: str | torch.device = "auto",
    batch_size: int = DEFAULT_BATCH_SIZE,
    resize: bool = False,
    progress: bool = False,
    cache_dir: str | Path | None = None,
    names: OptionNamer | None = None,
    **source_options: Any,
) -> EvaluationResult:
    """Score ``fake`` against the reference dataset ``real`` (see the module docstring).

    Defaults: metrics ``fid``; n = every stored image, or 10 000 from a generator; seed 2024; the
    reference's train split; the dataset's default extractor. A ganbench run folder's defaults are
    its recipe's evaluation settings, so ``evaluate(run_dir)`` repeats the run's reported number.
    ``source_options`` are the source kind's own options (``value_range="0,1"`` for float arrays,
    ``z_dim``/``num_classes`` for generators, ``key``/``labels_key``/``layout`` for .npz files,
    ``labels`` for folders, ``checkpoint``/``use_ema`` for run folders); an option that does not
    apply to the source is an error naming the valid ones. ``bootstrap=N`` adds percentile
    bootstrap intervals ``<key>_ci_low`` / ``<key>_ci_high`` over N resamples of the generated
    samples (docs/metrics.md).

    ``names`` spells options in error messages (default: these keyword arguments; ``ganbench eval``
    passes one that gives its flags, ``--range=0,1``).
    """
    load_all()
    t0 = time.perf_counter()
    with option_names(names):
        if batch_size < 1:
            raise ConfigError(f"{option_name('batch_size')} must be >= 1, got {batch_size}")
        source = as_source(fake, kind, **source_options)
        eval_cfg = _eval_config(
            source, metrics, extractor, n, seed, split, n_real, extractor_params, metric_params, bootstrap
        )
        data = _reference(source, real, eval_cfg.reference_split, root, resolution)
        _check_extractor_options(eval_cfg, data)
        check_eval_config(
            eval_cfg, data.name, "evaluate", key=lambda field: option_name(_ARGUMENT.get(field, field))
        )
        dev = resolve_device(str(device))
        result = evaluate_source(
            source,
            data,
            eval_cfg,
            eval_cfg.seed,
            dev,
            batch_size=batch_size,
            resize=resize,
            progress=progress,
            cache_dir=cache_dir,
        )
    settings = {
        "source": _source_text(fake),
        "kind": source.kind,
        "reference": data.name,
        "split": eval_cfg.reference_split,
        "n": eval_cfg.n_samples,
        "n_real": eval_cfg.n_real,
        "seed": eval_cfg.seed,
        "metrics": list(eval_cfg.metrics),
        "metric_params": eval_cfg.metric_params,
        "extractor": eval_cfg.extractor or data.default_extractor,
        "extractor_params": eval_cfg.extractor_params,
        **({"bootstrap": eval_cfg.bootstrap} if eval_cfg.bootstrap else {}),
        "resize": resize,
        "batch_size": batch_size,
    }
    compute = {
        "wall_time_s": time.perf_counter() - t0,
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
    }
    provenance = {"versions": versions(), **result.provenance}
    return EvaluationResult(result.metrics, settings, provenance, compute, result.preview)


# ---------------------------------------------------------------------------------------------
# the pieces


def as_source(fake: Any, kind: str | None = None, **options: Any) -> EvalSource:
    """An EvalSource for ``fake``: a path or spec (opened as ``ganbench eval`` opens it), an array or
    tensor of images, or a generator object."""
    if isinstance(fake, EvalSource):
        if kind or any(v is not None for v in options.values()):
            raise ConfigError(
                "evaluate: source options apply when the source is opened, not to an EvalSource"
            )
        return fake
    if isinstance(fake, (str, Path)):
        return open_source(str(fake), kind, **options)
    if kind is not None:
        raise ConfigError(
            f"evaluate: kind={kind!r} applies to a path or spec, not to a {type(fake).__name__}"
        )
    options = {k: v for k, v in options.items() if v is not None}
    if isinstance(fake, (np.ndarray, torch.Tensor)):
        check_options(ArraySource.from_array, options, "evaluate", "an array in memory", skip=("images",))
        checked = check_params(
            ArraySource.from_array, options, "evaluate: an array's options", skip=("images",)
        )
        return ArraySource.from_array(fake, **checked)
    if isinstance(fake, torch.nn.Module) or callable(fake):
        check_options(GeneratorSource, options, "evaluate", "a generator", skip=("G", "name"))
        checked = check_params(
            GeneratorSource, options, "evaluate: a generator's options", skip=("G", "name")
        )
        # no value_range given: [-1, 1] by default, and outputs that contradict it are refused
        checked.setdefault("value_range", None)
        return GeneratorSource(fake, f"generator {type(fake).__name__}", **checked)
    raise ConfigError(
        f"evaluate: cannot evaluate a {type(fake).__name__}; give a path, a module:factory spec, an array "
        f"or tensor of images, or a generator (nn.Module or callable)"
    )


def _source_text(fake: Any) -> str:
    return str(fake) if isinstance(fake, (str, Path)) else f"<{type(fake).__name__} in memory>"


def _reference(
    source: EvalSource, real: str | None, split: str, root: str | None, resolution: int | None
) -> Any:
    """The reference DataSource: ``real`` on ``split``, or (a run folder) the run's own dataset."""
    if real is None:
        if root is not None or resolution is not None:
            raise ConfigError(
                f"{option_name('root')} and {option_name('resolution')} describe the reference dataset; "
                f"name it with {option_name('real')}"
            )
        data = source.default_reference()
        if data is None:
            raise ConfigError(
                f"the reference dataset is required ({option_name('real')}, e.g. "
                f"{option_name('real', 'fashion-mnist')})"
            )
        return data
    cfg = DataConfig(name=real, root=root, split=split, resolution=resolution)
    return DATASETS.get(real, f"reference ({option_name('real')})")(cfg)


def _check_extractor_options(eval_cfg: EvalConfig, data: Any) -> None:
    """Extractor options the extractor does not take, named as the caller gave them (``--mode``);
    check_eval_config then checks the values, as for a recipe."""
    name = eval_cfg.extractor or data.default_extractor
    if name is None or not eval_cfg.extractor_params or name not in EXTRACTORS.names():
        return  # no extractor, nothing to check, or an unknown name (check_eval_config lists the names)
    check_options(
        EXTRACTORS.get(name), eval_cfg.extractor_params, "evaluate", f"extractor {name!r}", skip=("device",)
    )


def _eval_config(
    source: EvalSource,
    metrics: Sequence[str] | None,
    extractor: str | None,
    n: int | None,
    seed: int | None,
    split: str | None,
    n_real: int | None,
    extractor_params: dict[str, Any] | None,
    metric_params: dict[str, dict[str, Any]] | None,
    bootstrap: int | None = None,
) -> EvalConfig:
    """The settings: those given, else (a run folder) the run's recipe, else the defaults."""
    recipe = getattr(getattr(source, "cfg", None), "eval", None)
    base = recipe or EvalConfig(metrics=list(DEFAULT_METRICS))
    chosen = list(metrics) if metrics else list(base.metrics)
    if n is None:
        n = recipe.n_samples if recipe is not None else (source.size or DEFAULT_GENERATED)
    name = extractor or base.extractor
    params = dict(base.extractor_params) if name == base.extractor else {}
    params.update(extractor_params or {})
    given = metric_params or {}
    merged = {
        m: {**base.metric_params.get(m, {}), **given.get(m, {})}
        for m in dict.fromkeys([*base.metric_params, *given])
        if m in chosen or m in given
    }
    return EvalConfig(
        n_samples=n,
        seed=seed if seed is not None else base.seed,
        metrics=chosen,
        extractor=name,
        reference_split=split or base.reference_split,
        n_real=n_real if n_real is not None else base.n_real,
        extractor_params=params,
        metric_params=merged,
        bootstrap=bootstrap if bootstrap is not None else base.bootstrap,
        bootstrap_level=base.bootstrap_level,
    )
