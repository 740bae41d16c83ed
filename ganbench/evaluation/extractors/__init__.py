"""Feature extractors (registered in ``ganbench.registries.EXTRACTORS``); see docs/extractors.md."""

from ganbench.evaluation.extractors import (  # noqa: F401  (registration)
    clip,
    dinov2,
    fmnist_classifier,
    fmnist_simclr,
    identity,
    inception,
    vgg,
)
from ganbench.evaluation.extractors.base import FeatureExtractor, extract, quantize_to_uint8

__all__ = ["FeatureExtractor", "extract", "quantize_to_uint8"]
