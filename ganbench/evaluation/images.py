"""Image evaluation: a sample source → uint8 → feature extractor → metrics against cached reference
statistics of a real split. The trainer and ``ganbench eval`` share this one path.
"""

from __future__ import annotations

from typing import Any

from ganbench.config import check_params
from ganbench.errors import ConfigError

# Datasets whose default extractor is the shipped Fashion-MNIST classifier; Inception elsewhere.
FMNIST_DATASETS = ("fashion-mnist", "stacked-fmnist")


def default_extractor(dataset_name: str) -> str:
    return "fmnist-classifier" if dataset_name in FMNIST_DATASETS else "inception"


def check_eval_params(eval_cfg: Any, dataset_name: str, where: str = "config") -> None:
    """Validate the image-evaluation keys of an EvalConfig (metric/extractor params, n_real)."""
    from ganbench import registries as R

    R.load_all()
    if eval_cfg.n_real is not None and eval_cfg.n_real < 2:
        raise ConfigError(f"{where}: eval.n_real must be >= 2 or null (the whole split), got {eval_cfg.n_real}")
    for name, params in eval_cfg.metric_params.items():
        if name not in eval_cfg.metrics:
            raise ConfigError(
                f"{where}: eval.metric_params.{name}: {name!r} is not in eval.metrics "
                f"({', '.join(eval_cfg.metrics)})"
            )
        if not isinstance(params, dict):
            raise ConfigError(f"{where}: eval.metric_params.{name}: expected a mapping, got {params!r}")
        check_params(R.METRICS.get(name), params, f"{where}: eval.metric_params.{name}", skip=("inputs",))
    if eval_cfg.extractor_params:
        name = eval_cfg.extractor or default_extractor(dataset_name)
        check_params(
            R.EXTRACTORS.get(name), eval_cfg.extractor_params, f"{where}: eval.extractor_params", skip=("device",)
        )
