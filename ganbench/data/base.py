"""What the trainer and evaluator need from a dataset, whatever it holds (2-D points or images)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import torch

Batch = tuple[torch.Tensor, torch.Tensor | None]  # (x, labels or None)


class DataSource:
    """A dataset as the trainer sees it.

    ``stream(batch_size, seed, start)`` yields an endless, deterministic sequence of batches: the
    batch at position ``k`` depends only on (seed, k), so a resumed run asks for ``start=k`` and
    sees exactly what an uninterrupted run would have seen.

    Images are float tensors N×C×H×W in [-1, 1]; points are float tensors N×D.
    """

    kind: Literal["points", "images"] = "points"
    num_classes: int | None = None  # None = unlabelled
    sample_shape: tuple[int, ...] = ()
    # Facts the evaluation asks the dataset (class attributes, so validation reads them unbuilt):
    default_extractor: str | None = "inception"  # feature extractor when eval.extractor is unset
    stacked: bool = False  # channels are independent images: the default extractor sees each alone

    def stream(self, batch_size: int, seed: int, start: int = 0) -> Iterator[Batch]:
        raise NotImplementedError

    def describe(self) -> dict:
        """Provenance for the run record (name, split, size, files, ...)."""
        return {}
