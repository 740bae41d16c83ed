"""What metrics are computed from. The evaluator fills only the fields the requested metrics need
(each registered metric declares a ``needs`` set of field names); ``metric.compute_metrics`` runs
them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class EvalInputs:
    fake_features: torch.Tensor | None = None  # N×F extractor features of generated samples
    real_features: torch.Tensor | None = None  # M×F extractor features of the reference split
    real_stats: tuple[Any, Any] | None = None  # (mu, sigma) of real features, from the cache
    fake_logits: torch.Tensor | None = None  # N×C classifier logits (IS, class/mode assignment)
    fake_labels: torch.Tensor | None = None  # N labels the generator was asked for
    real_labels: torch.Tensor | None = None  # M labels of the reference split
    fake_points: torch.Tensor | None = None  # raw generated samples (2-D toy points)
    fake_images: torch.Tensor | None = None  # N×C×H×W uint8 generated images (pixel metrics: MS-SSIM)
    # translation: the ground truth of each translated image (paired tasks) and the class it should
    # be; row i belongs to fake row i
    target_images: torch.Tensor | None = None  # N×C×H×W uint8
    target_labels: torch.Tensor | None = None  # N int64
    dataset: Any = None  # the DataSource (mixture centres, class count)
    seed: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
