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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from tqdm.auto import tqdm

from ganbench.errors import SourceError
from ganbench.evaluation.inputs import EvalInputs
from ganbench.registries import METRICS, load_all
from ganbench.schema import check_params

Role = Literal["score", "detail", "setting"]
DataKind = Literal["images", "points"]
_INPUT_FIELDS = frozenset(f.name for f in dataclasses.fields(EvalInputs))
# EvalInputs fields by what they say about a number: computed in an extractor's feature space, from
# generated samples, against real ones (the leaderboard's headers say which apply to a column)
_EXTRACTOR_FIELDS = frozenset({"fake_features", "real_features", "real_stats", "fake_logits"})
_FAKE_FIELDS = frozenset({"fake_features", "fake_logits", "fake_labels", "fake_points", "fake_images"})
_REAL_FIELDS = frozenset({"real_features", "real_stats", "real_labels"})


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

    def output(self, key: str) -> Output | None:
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
) -> Callable[[Callable[..., dict[str, Any]]], Metric]:
    """Decorator: register ``fn(inputs, **params)`` as metric ``name`` with its facts."""
    needs, substitutes = frozenset(needs), dict(substitutes or {})
    unknown = (needs | set(substitutes) | set(substitutes.values())) - _INPUT_FIELDS
    if unknown:
        raise ValueError(f"metric {name!r}: unknown EvalInputs field(s) {sorted(unknown)}")

    def register(fn: Callable[..., dict[str, Any]]) -> Metric:
        metric = Metric(name, fn, needs, tuple(outputs), data_kind, substitutes, order, min_samples)
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
    with tqdm(names, desc="metrics", disable=not progress or not names, leave=False) as bar:
        for name in bar:
            bar.set_postfix_str(name)  # P/R/D/C takes minutes on a loaded CPU: say what is running
            metric = get_metric(name, "eval.metrics")
            for key, value in metric(inputs, **(params or {}).get(name, {})).items():
                result[key if key not in result else f"{name}_{key}"] = value
    return result


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
