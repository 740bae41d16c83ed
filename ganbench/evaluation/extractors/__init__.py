"""Feature extractors (registered in ``ganbench.registries.EXTRACTORS``); see docs/extractors.md."""

from ganbench.evaluation.extractors import clip, dinov2, fmnist_classifier, identity, inception, vgg  # noqa: F401  (registration)
from ganbench.evaluation.extractors.base import FeatureExtractor, extract, quantize_to_uint8

__all__ = ["FeatureExtractor", "extract", "quantize_to_uint8"]
