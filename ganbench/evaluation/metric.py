"""The metric contract: a registered metric owns every fact about itself.

A :class:`Metric` declares what it reads (``needs``: EvalInputs fields; ``substitutes``: a field
that can stand in for a needed one, e.g. FID computes the real statistics from ``real_features``
when no cached ``real_stats`` are given), the kind of data it scores, the fewest samples it can use
with given parameters, and every key it writes into a record (:class:`Output`: direction, column
header, whether it is a score, a detail or a setting). Nobody else keeps a table of metric names:
checkpoint selection, validation, the evaluator and the leaderboard all ask the metric.

``register_metric`` turns a function ``fn(inputs, **params) -> dict`` into a registered Metric; its
keyword arguments are the metric's parameters (validated from recipes by ``schema.check_params``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from tqdm.auto import tqdm

from ganbench.errors import SourceError
from ganbench.evaluation.inputs import EvalInputs
from ganbench.evaluation.progress import metric_progress
from ganbench.registries import METRICS, load_all
from ganbench.schema import check_params

Role = Literal["score", "detail", "setting"]
DataKind = Literal["images", "points", "translation"]
_INPUT_FIELDS = frozenset(f.name for f in dataclasses.fields(EvalInputs))
# EvalInputs fields by what they say about a number: computed in an extractor's feature space, from
# generated samples, against real ones (the leaderboard's headers say which apply to a column)
_EXTRACTOR_FIELDS = frozenset({"fake_features", "real_features", "real_stats", "fake_logits"})
_FAKE_FIELDS = frozenset({"fake_features", "fake_logits", "fake_labels", "fake_points", "fake_images"})
# a translated image's ground truth and target class: row i belongs to fake row i, so a bootstrap
# resamples them with the generated fields
_PAIRED_FIELDS = frozenset({"target_images", "target_labels"})
_REAL_FIELDS = frozenset({"real_features", "real_stats", "real_labels"})
# Bootstrap confidence intervals: ``<key>_ci_low`` / ``<key>_ci_high`` beside every score key
CI_SUFFIXES = ("_ci_low", "_ci_high")
DEFAULT_BOOTSTRAP_LEVEL = 0.95


@dataclass(frozen=True)
class Output:
    """One key a metric writes into a record. ``key`` ending in ``*`` names a family of keys
    (``intra_fid_class_*``: one per class).

    - ``better``: "lower" / "higher" for scores; None for settings and counts.
    - ``role``: "score" (a default leaderboard column), "detail" (selectable with --metrics, not a
      default column: per-class values, per-input estimates), "setting" (recorded beside the
      scores: a parameter or a spread, never averaged into a score column by default).
    - ``display``: the column header (default: the key).
    - ``rank_priority``: when the runs name no selection metric, the score with the lowest priority
      present ranks the leaderboard.
    """

    key: str
    better: Literal["lower", "higher"] | None = None
    role: Role = "score"
    display: str | None = None
    rank_priority: int | None = None

    def matches(self, key: str) -> bool:
        return key.startswith(self.key[:-1]) if self.key.endswith("*") else key == self.key

    @property
    def header(self) -> str:
        return self.display or self.key


@dataclass(frozen=True)
class Metric:
    """A registered metric: the function and the facts it declares (see the module docstring)."""

    name: str
    fn: Callable[..., dict[str, Any]]
    needs: frozenset[str]
    outputs: tuple[Output, ...]
    data_kind: DataKind = "images"
    substitutes: dict[str, str] = dataclasses.field(default_factory=dict)
    order: int = 100  # where its columns go in a table, smaller first
    min_samples_fn: Callable[[dict[str, Any]], int] | None = None
    # whether a bootstrap over the generated samples means something for it: True, or the reason it
    # does not (None: True unless it needs labelled samples, whose per-class sets are not resampled)
    bootstrap: bool | str | None = None

    def __call__(self, inputs: EvalInputs, **params: Any) -> dict[str, Any]:
        missing = self.missing(inputs)
        if missing:
            alt = [f"{f} (or {self.substitutes[f]})" if f in self.substitutes else f for f in missing]
            raise SourceError(
                f"metric {self.name!r} needs {', '.join(alt)}, which the evaluation inputs lack"
            )
        return self.fn(inputs, **params)

    def missing(self, inputs: EvalInputs) -> list[str]:
        """The needed fields ``inputs`` lacks, counting a present substitute as the field."""
        return [
            f
            for f in sorted(self.needs)
            if getattr(inputs, f) is None
            and (f not in self.substitutes or getattr(inputs, self.substitutes[f]) is None)
        ]

    def accepts(self, field: str) -> bool:
        """Whether the metric reads ``field``, as a need or as a need's substitute."""
        return field in self.needs or field in self.substitutes.values()

    def reads(self) -> frozenset[str]:
        return self.needs | frozenset(self.substitutes.values())

    @property
    def uses_extractor(self) -> bool:
        """Its numbers live in a feature extractor's space (features or logits)."""
        return bool(self.reads() & _EXTRACTOR_FIELDS)

    @property
    def uses_fake(self) -> bool:
        return bool(self.reads() & _FAKE_FIELDS)

    @property
    def uses_real(self) -> bool:
        return bool(self.reads() & _REAL_FIELDS)

    def check_params(self, params: dict[str, Any], where: str) -> dict[str, Any]:
        """``params`` checked against the metric function's keyword arguments."""
        return check_params(self.fn, params, where, skip=("inputs",))

    def min_samples(self, params: dict[str, Any] | None = None) -> int:
        """The fewest samples per set it can use with ``params`` (2 for a covariance)."""
        return self.min_samples_fn(params or {}) if self.min_samples_fn else 2

    @property
    def needs_labels(self) -> bool:
        return "fake_labels" in self.needs

    @property
    def bootstrap_skip(self) -> str | None:
        """Why the bootstrap skips this metric, or None when it is resampled."""
        if self.bootstrap is None:
            return "per-class sample sets (labelled samples) are not resampled" if self.needs_labels else None
        if self.bootstrap is True:
            return None
        return self.bootstrap if isinstance(self.bootstrap, str) else "the metric declares bootstrap=False"

    def output(self, key: str) -> Output | None:
        """What ``key`` is: a declared output, or the bootstrap CI bound of a declared score key
        (``fid_ci_low``: a detail, no direction, header "fid CI low")."""
        for suffix in CI_SUFFIXES:
            base = self.output(key[: -len(suffix)]) if key.endswith(suffix) else None
            if base is not None and base.role == "score":
                bound = suffix.removeprefix("_ci_")
                return Output(key, None, role="detail", display=f"{base.header} CI {bound}")
        return next((o for o in self.outputs if o.matches(key)), None)


def register_metric(
    name: str,
    needs: Iterable[str],
    outputs: Iterable[Output],
    *,
    data_kind: DataKind = "images",
    substitutes: dict[str, str] | None = None,
    order: int = 100,
    min_samples: Callable[[dict[str, Any]], int] | None = None,
    bootstrap: bool | str | None = None,
) -> Callable[[Callable[..., dict[str, Any]]], Metric]:
    """Decorator: register ``fn(inputs, **params)`` as metric ``name`` with its facts. ``bootstrap``:
    False (or a string saying why) when resampling the generated samples is meaningless or too
    costly for it; None = resampled unless it needs labelled samples."""
    needs, substitutes = frozenset(needs), dict(substitutes or {})
    unknown = (needs | set(substitutes) | set(substitutes.values())) - _INPUT_FIELDS
    if unknown:
        raise ValueError(f"metric {name!r}: unknown EvalInputs field(s) {sorted(unknown)}")

    def register(fn: Callable[..., dict[str, Any]]) -> Metric:
        metric = Metric(
            name, fn, needs, tuple(outputs), data_kind, substitutes, order, min_samples, bootstrap
        )
        METRICS.register(name)(metric)
        return metric

    return register


def get_metric(name: str, where: str = "") -> Metric:
    load_all()
    return METRICS.get(name, where)


def all_metrics() -> list[Metric]:
    """Every registered metric, in table order."""
    load_all()
    return sorted((METRICS.get(n) for n in METRICS), key=lambda m: (m.order, m.name))


def compute_metrics(
    names: list[str],
    inputs: EvalInputs,
    params: dict[str, dict[str, Any]] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Run the named metrics on filled inputs, each with its keyword ``params[name]``; the result is a
    flat dict (metric keys may be prefixed by the metric when two metrics return the same key). Each
    metric checks its own inputs (a declared substitute stands in for a missing field)."""
    result: dict[str, Any] = {}
    # metric_progress: a metric's own long loops (P/R/D/C's distance blocks) show bars as this one does
    with (
        metric_progress(progress),
        tqdm(names, desc="metrics", disable=not progress or not names, leave=False) as bar,
    ):
        for name in bar:
            bar.set_postfix_str(name)  # P/R/D/C takes minutes on a loaded CPU: say what is running
            metric = get_metric(name, "eval.metrics")
            for key, value in metric(inputs, **(params or {}).get(name, {})).items():
                result[key if key not in result else f"{name}_{key}"] = value
    return result


def resample_fake(inputs: EvalInputs, index: torch.Tensor) -> EvalInputs:
    """``inputs`` with every generated-sample field (features, logits, labels, images) taken at
    ``index`` (the same rows in each); the real fields are kept as they are."""
    out = dataclasses.replace(inputs)
    for name in sorted(_FAKE_FIELDS | _PAIRED_FIELDS):
        value = getattr(inputs, name)
        if value is not None:
            setattr(out, name, value[index.to(value.device)])
    return out


def _fake_count(inputs: EvalInputs) -> int:
    sizes = {len(getattr(inputs, f)) for f in _FAKE_FIELDS if getattr(inputs, f) is not None}
    if len(sizes) != 1:
        raise SourceError(f"bootstrap: the generated-sample fields have different lengths {sorted(sizes)}")
    return sizes.pop()


def bootstrap_metrics(
    names: list[str],
    inputs: EvalInputs,
    params: dict[str, dict[str, Any]] | None,
    resamples: int,
    seed: int,
    level: float = DEFAULT_BOOTSTRAP_LEVEL,
    progress: bool = False,
    taken: Iterable[str] = (),
) -> tuple[dict[str, float], dict[str, str]]:
    """Percentile bootstrap CIs over the generated samples: ``resamples`` times, draw n rows of the
    fake fields with replacement (the real ones stay fixed), recompute each named metric, and take the
    (1 - level)/2 and (1 + level)/2 percentiles of each score key. The resampling indices are drawn
    once from ``seed`` and shared by all metrics. Returns ``{key_ci_low, key_ci_high}`` and
    ``{metric: why skipped}``; ``taken`` are record keys already written by earlier metric groups
    (a clashing key is prefixed with its metric's name, as :func:`compute_metrics` does)."""
    ci: dict[str, float] = {}
    skipped: dict[str, str] = {}
    run = []
    for name in names:
        metric = get_metric(name, "eval.metrics")
        why = metric.bootstrap_skip
        if why is None:
            run.append(metric)
        else:
            skipped[name] = why
    if not run:
        return ci, skipped
    n = _fake_count(inputs)
    gen = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0xB00757])  # its own stream of the eval seed
    indices = [torch.from_numpy(gen.integers(0, n, size=n)) for _ in range(resamples)]
    seen = set(taken)
    q = 100 * (1 - level) / 2, 100 * (1 + level) / 2
    for metric in run:
        values: dict[str, list[float]] = {}
        desc = f"bootstrap {metric.name}"
        for index in tqdm(indices, desc=desc, disable=not progress, leave=False):
            got = metric(resample_fake(inputs, index), **(params or {}).get(metric.name, {}))
            for key, value in got.items():
                out = metric.output(key)
                if out is not None and out.role == "score" and isinstance(value, (int, float)):
                    values.setdefault(key, []).append(float(value))
        for key, vals in values.items():
            name = key if key not in seen else f"{metric.name}_{key}"
            seen.add(name)
            arr = np.asarray(vals)
            lo, hi = np.percentile(arr, q) if np.isfinite(arr).all() else (math.nan, math.nan)
            ci[f"{name}_ci_low"], ci[f"{name}_ci_high"] = float(lo), float(hi)
    return ci, skipped


# Record keys not written by a metric: the trainer's Lipschitz estimate (objectives.lipschitz) and
# the mode totals. Declared here once so the leaderboard can ask about any record key.
_EXTRA_OUTPUTS: list[tuple[int, Output]] = []


def declare_outputs(order: int, *outputs: Output) -> None:
    """Declare record keys that a component other than a metric writes (e.g. the Lipschitz estimate)."""
    _EXTRA_OUTPUTS.extend((order, o) for o in outputs)


def output_info(key: str) -> Output | None:
    """What the record key ``key`` is (direction, role, header), or None when nobody declared it."""
    for metric in all_metrics():
        found = metric.output(key)
        if found is not None:
            return found
    return next((o for _, o in _EXTRA_OUTPUTS if o.matches(key)), None)


def is_lower_better(key: str) -> bool:
    info = output_info(key)
    return info is not None and info.better == "lower"


def is_better(key: str, new: float, old: float) -> bool:
    """Whether ``new`` beats ``old`` on record key ``key`` (checkpoint selection)."""
    return new < old if is_lower_better(key) else new > old


def display_order() -> list[Output]:
    """Every declared output in table order (metrics by ``order``, then the extra record keys)."""
    ordered = [((m.order, m.name, i), o) for m in all_metrics() for i, o in enumerate(m.outputs)]
    ordered += [((order, "", i), o) for i, (order, o) in enumerate(_EXTRA_OUTPUTS)]
    return [o for _, o in sorted(ordered, key=lambda t: t[0])]
