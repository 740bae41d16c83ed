"""Stacked mode coverage (the Stacked-MNIST protocol on Fashion-MNIST, docs/protocols.md).

Each of the 3 channels of a sample is classified on its own by the Fashion-MNIST classifier; the
class triple (c0, c1, c2) is the sample's mode, one of 1000. Reported over the generated samples
(25 600 in the protocol): modes captured (of 1000) and KL(p_gen ‖ U₁₀₀₀) = Σₘ pₘ log(1000 pₘ) over
modes with pₘ > 0.

:class:`PerChannelExtractor` runs any single-image extractor on each channel: features are the
three channels' features side by side (channel 0 first), and the logits are the joint
log-probabilities of the K³ class triples, log p(c0) + log p(c1) + log p(c2), indexed
c0·K² + c1·K + c2 (= ``ganbench.data.stacked.encode_modes`` for K = 10). Their softmax is the product
distribution, so the argmax is the triple of per-channel argmaxes and IS over the 1000 modes works.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ganbench.errors import SourceError
from ganbench.evaluation.extractors.base import FeatureExtractor
from ganbench.evaluation.extractors.base import Output as ExtractorOutput
from ganbench.evaluation.metric import Output, register_metric

NUM_CHANNELS = 3
NUM_MODES = 1000  # 10 Fashion-MNIST classes per channel, 3 channels


class PerChannelExtractor(FeatureExtractor):
    """Wraps ``base``: uint8 N×3×H×W → each channel as an N×1×H×W image through ``base``."""

    channels = (NUM_CHANNELS,)

    def __init__(self, base: FeatureExtractor) -> None:
        super().__init__()
        if not base.num_classes:
            raise SourceError(
                f"per-channel classification needs an extractor with logits; {base.name!r} has none"
            )
        if 1 not in base.channels:
            raise SourceError(
                f"per-channel classification needs an extractor of 1-channel images; {base.name!r}"
            )
        self.base = base
        self.name = base.name
        self.mode = f"{base.mode}+per-channel"
        self.dim = NUM_CHANNELS * base.dim if base.dim else 0
        self.num_classes = base.num_classes**NUM_CHANNELS
        self.weights_hash = base.weights_hash
        self.weights_file = base.weights_file
        self.preprocessing_version = base.preprocessing_version
        self.preprocessing = (
            f"each of the 3 channels as a gray image through {base.name} ({base.preprocessing}); "
            f"features concatenated (channel 0 first); logits = joint log-probabilities of the "
            f"{self.num_classes} class triples"
        )

    def compute(self, images: torch.Tensor) -> ExtractorOutput:
        n, c, h, w = images.shape
        feats, logits = self.base(images.reshape(n * c, 1, h, w))
        assert logits is not None
        k = logits.shape[1]
        logp = torch.log_softmax(logits.double(), dim=1).reshape(n, c, k)
        joint = logp[:, 0, :, None, None] + logp[:, 1, None, :, None] + logp[:, 2, None, None, :]
        return feats.reshape(n, c * feats.shape[1]), joint.reshape(n, k**c)

    def provenance(self) -> dict[str, Any]:
        return {**self.base.provenance(), **super().provenance()}


def stacked_mode_coverage(modes: np.ndarray | torch.Tensor, num_modes: int = 1000) -> dict[str, float]:
    """Modes captured and KL(p_gen ‖ U) from the mode index of each generated sample."""
    m = modes.detach().cpu().numpy() if isinstance(modes, torch.Tensor) else np.asarray(modes)
    if m.ndim != 1 or len(m) == 0:
        raise SourceError(
            f"stacked_modes: expected a non-empty 1-D array of mode indices, got shape {m.shape}"
        )
    counts = np.bincount(m.astype(np.int64), minlength=num_modes)
    if len(counts) > num_modes:
        raise SourceError(f"stacked_modes: mode index {int(m.max())} is out of range for {num_modes} modes")
    p = counts[counts > 0] / len(m)
    return {
        "stacked_modes": int((counts > 0).sum()),
        "stacked_modes_total": num_modes,
        "stacked_kl": float(np.sum(p * np.log(p * num_modes))),
        "stacked_samples": len(m),
    }


@register_metric(
    "stacked_modes",
    {"fake_logits"},
    [
        Output("stacked_modes", "higher", display="modes", rank_priority=3),
        Output("stacked_kl", "lower", display="KL"),
        Output("stacked_modes_total", role="setting"),
        Output("stacked_samples", role="setting"),
    ],
    order=80,
    bootstrap=("a resample drops modes seen once: the count would be biased down"),
)
def _stacked_metric(inputs: Any) -> dict[str, float]:
    logits = inputs.fake_logits
    width = NUM_MODES
    if logits is None or logits.ndim != 2 or logits.shape[1] != width:
        got = "none" if logits is None else f"shape {tuple(logits.shape)}"
        raise SourceError(
            f"metric 'stacked_modes' needs per-channel classifier logits over the {width} class triples "
            f"(dataset stacked-fmnist with extractor fmnist-classifier); got {got}"
        )
    return stacked_mode_coverage(logits.argmax(dim=1), width)
