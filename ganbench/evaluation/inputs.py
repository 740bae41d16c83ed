"""What metrics are computed from, and computing them.

The evaluator fills only the fields the requested metrics need (each registered metric declares a
``needs`` set of field names); :func:`compute_metrics` runs the named metrics on the filled inputs.
It looks metrics up in the registry directly (not through ``evaluation.metric``, which imports this
module for EvalInputs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm

from ganbench.registries import METRICS, load_all


@dataclass
class EvalInputs:
    fake_features: torch.Tensor | None = None  # N×F extractor features of generated samples
    real_features: torch.Tensor | None = None  # M×F extractor features of the reference split
    real_stats: tuple[Any, Any] | None = None  # (mu, sigma) of real features, from the cache
    fake_logits: torch.Tensor | None = None  # N×C classifier logits (IS, class/mode assignment)
    fake_labels: torch.Tensor | None = None  # N labels the generator was asked for
    real_labels: torch.Tensor | None = None  # M labels of the reference split
    fake_points: torch.Tensor | None = None  # raw generated samples (2-D toy points)
    dataset: Any = None  # the DataSource (mixture centres, class count)
    seed: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))


def compute_metrics(
    names: list[str],
    inputs: EvalInputs,
    params: dict[str, dict[str, Any]] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Run the named metrics on filled inputs, each with its keyword ``params[name]``; the result is a
    flat dict (metric keys may be prefixed by the metric when two metrics return the same key). Each
    metric checks its own inputs (a declared substitute stands in for a missing field)."""
    load_all()
    result: dict[str, Any] = {}
    with tqdm(names, desc="metrics", disable=not progress or not names, leave=False) as bar:
        for name in bar:
            bar.set_postfix_str(name)  # P/R/D/C takes minutes on a loaded CPU: say what is running
            metric = METRICS.get(name, "eval.metrics")
            for key, value in metric(inputs, **(params or {}).get(name, {})).items():
                result[key if key not in result else f"{name}_{key}"] = value
    return result
