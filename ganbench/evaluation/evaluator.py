"""The evaluator: sampler → (feature extractor) → metrics. It knows nothing of training.

``generate`` draws a seeded sample from any generator (latents by the one pinned protocol,
:func:`ganbench.evaluation.sources.generator.sample_latents`); ``evaluate_points`` computes the
metrics of point data (2-D toys); image metrics go through feature extractors and reference
statistics (:mod:`ganbench.evaluation.images`); ``evaluate`` picks one by the dataset's kind.

Under torchrun (a process group initialised by the trainer) ``evaluate`` runs data-parallel
(:mod:`ganbench.evaluation.sharded`): each rank runs G on its share of every batch of latents
(:class:`ShardedGenerator`) and the images are gathered, then each rank extracts the features of its
share of every batch (:class:`~ganbench.evaluation.sharded.ShardedExtractor`, set up by the image
evaluation) and the features are gathered; so every rank holds the single process's samples and
features (same latents: the seed alone) and computes the same metrics. A single process runs
exactly the code it ran before.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ganbench.devices import distributed_active
from ganbench.errors import SourceError
from ganbench.evaluation.images import evaluate_image_generator
from ganbench.evaluation.inputs import EvalInputs
from ganbench.evaluation.metric import compute_metrics
from ganbench.evaluation.sharded import ShardedGenerator
from ganbench.evaluation.sources.generator import sample_latents

__all__ = ["ShardedGenerator", "evaluate", "evaluate_points", "generate"]


@torch.no_grad()
def generate(
    G: nn.Module,
    n: int,
    seed: int,
    device: torch.device | str = "cpu",
    batch_size: int = 1000,
    num_classes: int | None = None,
    labels: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``n`` samples from ``G`` with latents (and labels) drawn from ``seed`` alone, on the CPU
    generator so the same seed gives the same latents on any device. G is put in eval mode."""
    was_training = G.training
    G.eval()
    z, labels = sample_latents(n, G.z_dim, seed, num_classes, labels, f"generator {type(G).__name__}")
    out = []
    try:
        for i in range(0, n, batch_size):
            y = labels[i : i + batch_size].to(device) if labels is not None else None
            out.append(G(z[i : i + batch_size].to(device), y).float().cpu())
    finally:
        G.train(was_training)
    samples = torch.cat(out)
    if not torch.isfinite(samples).all():
        raise SourceError("generator produced NaN or inf samples")
    return samples, labels


def evaluate_points(
    G: nn.Module, dataset: Any, metrics: list[str], n: int, seed: int, device: torch.device | str = "cpu"
) -> tuple[dict[str, Any], torch.Tensor]:
    """Metrics of a point generator (toy mixtures); returns (metrics, the samples)."""
    samples, _ = generate(G, n, seed, device)
    inputs = EvalInputs(fake_points=samples, dataset=dataset, seed=seed, device=torch.device(device))
    return compute_metrics(metrics, inputs), samples


def evaluate(
    G: nn.Module, data: Any, eval_cfg: Any, seed: int, device: torch.device | str = "cpu"
) -> tuple[dict[str, Any], torch.Tensor]:
    """Metrics of generator ``G`` against dataset ``data`` as ``eval_cfg`` asks; returns (metrics,
    samples). Point data is scored directly; images go through a feature extractor. Under torchrun
    (every rank calls it) each rank generates and extracts its share of every batch."""
    sharded = distributed_active()  # every rank evaluates (the trainer): split the work over them
    if sharded:
        G = ShardedGenerator(G)
    if data.kind == "points":
        return evaluate_points(G, data, eval_cfg.metrics, eval_cfg.n_samples, seed, device)
    return evaluate_image_generator(G, data, eval_cfg, seed, device, sharded=sharded)
