"""The identity extractor: raw samples, flattened, as features (2-D toy points, or pixels)."""

from __future__ import annotations

from typing import Any

import torch

from ganbench.errors import SourceError
from ganbench.evaluation.extractors.base import FeatureExtractor, Output
from ganbench.registries import EXTRACTORS


class IdentityExtractor(FeatureExtractor):
    name = "identity"
    mode = "raw"
    weights_hash = "none"
    preprocessing = "flatten to float32 (no scaling)"

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim or 0  # 0 = fixed by the first batch
        # an empty buffer so .to(device) and the base class's ``device`` work without parameters
        self.register_buffer("_anchor", torch.zeros(0), persistent=False)

    def check_input(self, samples: Any) -> torch.Tensor:
        if not isinstance(samples, torch.Tensor) or samples.ndim < 2:
            got = tuple(samples.shape) if isinstance(samples, torch.Tensor) else type(samples).__name__
            raise SourceError(f"identity: expected a tensor N×D (or N×...; flattened per sample), got {got}")
        if samples.dtype == torch.bool or samples.is_complex():
            raise SourceError(f"identity: expected real numbers, got dtype {samples.dtype}")
        width = samples[0].numel()
        if self.dim and width != self.dim:
            raise SourceError(f"identity: expected {self.dim} values per sample, got {width}")
        self.dim = width
        return samples

    def compute(self, samples: torch.Tensor) -> Output:
        return samples.reshape(len(samples), -1).float(), None


@EXTRACTORS.register("identity")
def identity(
    dim: int | None = None, weights: str | None = None, device: str | torch.device = "cpu"
) -> IdentityExtractor:
    """Raw samples as features. ``dim`` (optional) checks the per-sample width; ``weights`` must be None."""
    if weights is not None:
        raise SourceError(f"identity extractor has no weights; got weights={weights!r}")
    return IdentityExtractor(dim).to(device)
