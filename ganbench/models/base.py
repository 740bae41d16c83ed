"""The contract between model families and the trainer.

A model family is registered in ``ganbench.registries.MODELS`` as an object (or class) with

* ``build(cfg: RunConfig, data: DataSource) -> tuple[nn.Module, nn.Module]`` returning (G, D),
* optionally ``validate(cfg: RunConfig, where: str) -> None`` raising ConfigError for combinations
  that cannot work (called during config validation, before any training),
* optionally ``final_evaluation(G, data, cfg, run_dir, device) -> dict`` for evaluations only that
  family can do (StyleGAN's truncation sweep and style-mixing figure): called by the trainer after
  the final evaluation with the reported generator; its keys are added to the record's metrics.

Networks that grow progressively follow the contract in :mod:`ganbench.models.growing`.

Generators: ``G(z, y=None) -> x`` with ``G.z_dim`` set; images in [-1, 1].
Discriminators: ``D(x, y=None) -> logits`` of shape (N,) (one score per sample, before any
sigmoid). Families with auxiliary outputs (ACGAN class logits, feature-matching features) return
a :class:`DOutput` instead when asked with ``D(x, y, return_aux=True)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class DOutput:
    logits: torch.Tensor  # (N,)
    class_logits: torch.Tensor | None = None  # (N, num_classes), auxiliary classifier heads
    features: torch.Tensor | None = None  # (N, F), penultimate features (feature matching)
