"""Evaluation data-parallel under torchrun: generation and feature extraction split over the ranks.

A process group initialised by the trainer (``devices.distributed_active``) makes the evaluation
run each network on the rank's share of every batch and gather the outputs in sample order, so
every rank holds exactly what one process computes and scores the same metrics:

- :class:`ShardedGenerator`: G on each rank's slice of a batch of latents, images gathered;
- :class:`ShardedExtractor`: the feature extractor on each rank's slice of a batch of images,
  features and logits gathered.

Both cut a batch by the one rule of :func:`local_slice` (world-size equal slices, the last padded
with copies of the batch's first row, padding dropped after the gather). A sample's output depends
on that sample alone (both networks in eval mode), so the result depends on neither the world size
nor the batching, up to the float rounding of a network run on another batch size.
Outside a process group nothing here is used: a single process runs the code it always ran.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from ganbench.devices import distributed_active
from ganbench.evaluation.extractors.base import FeatureExtractor, Output

__all__ = ["ShardedExtractor", "ShardedGenerator", "agree", "local_slice", "process_world"]


def process_world() -> tuple[int, int]:
    """(rank, world size) of the initialised process group, else (0, 1)."""
    if distributed_active():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def local_slice(x: torch.Tensor, rank: int, world: int) -> torch.Tensor:
    """Rank ``rank``'s slice of batch ``x`` (dim 0): ceil(n / world) rows, the batch padded at the
    end with copies of its first row so that every rank's slice has the same size (all_gather
    needs equal sizes)."""
    n = len(x)
    per = -(-n // world)
    pad = per * world - n
    if pad:
        x = torch.cat([x, x[:1].expand(pad, *x.shape[1:])])
    return x[rank * per : (rank + 1) * per]


def gather_rows(x: torch.Tensor, n: int, world: int) -> torch.Tensor:
    """The ranks' equally sized slices concatenated in rank order, cut to the ``n`` real rows."""
    x = x.contiguous()
    parts = [torch.empty_like(x) for _ in range(world)]
    dist.all_gather(parts, x)
    return torch.cat(parts)[:n]


def agree(value: Any) -> list[Any]:
    """Every rank's ``value`` (picklable), in rank order, on every rank; ``[value]`` alone. For the
    few decisions all ranks must take together (is the reference cache valid everywhere?)."""
    rank, world = process_world()
    if world == 1:
        return [value]
    out: list[Any] = [None] * world
    dist.all_gather_object(out, value)
    return out


class ShardedGenerator(nn.Module):
    """``G`` run data-parallel: rank r runs :func:`local_slice` r of a batch of latents (and labels)
    and the outputs are gathered in rank order, so the result is G's output for the whole batch on
    every rank. Sample i depends on latent i alone (G in eval mode)."""

    def __init__(self, G: nn.Module) -> None:
        super().__init__()
        self.G = G
        self.z_dim = G.z_dim
        self.num_classes = getattr(G, "num_classes", None)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        rank, world = process_world()
        zs = local_slice(z, rank, world)
        ys = None if y is None else local_slice(y, rank, world)
        out = self.G(zs) if ys is None else self.G(zs, ys)
        return gather_rows(out, len(z), world)


class ShardedExtractor(FeatureExtractor):
    """``base`` run data-parallel: rank r extracts the features (and logits) of :func:`local_slice`
    r of a batch of images, and they are gathered in sample order, so every rank gets ``base``'s
    output for the whole batch. Its identity (name, mode, weights, preprocessing: the reference
    cache key and the provenance) is ``base``'s: the features are the same. Every rank must call it
    (``collective``: a collective operation, as the reference cache asks)."""

    collective = True

    def __init__(self, base: FeatureExtractor) -> None:
        super().__init__()
        self.base = base
        for attr in (
            "name",
            "mode",
            "dim",
            "num_classes",
            "weights_hash",
            "weights_file",
            "preprocessing",
            "preprocessing_version",
            "channels",
        ):
            setattr(self, attr, getattr(base, attr))

    def forward(self, images: torch.Tensor) -> Output:  # type: ignore[override]
        rank, world = process_world()
        feats, logits = self.base(local_slice(images, rank, world))
        n = len(images)
        return gather_rows(feats, n, world), (None if logits is None else gather_rows(logits, n, world))

    def provenance(self) -> dict[str, Any]:
        return self.base.provenance()
