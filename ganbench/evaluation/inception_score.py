"""Inception Score from classifier logits, pinned by docs/protocols.md.

p(y|x) = softmax(logits) in float64; the N samples are cut into ``splits`` contiguous chunks with
boundaries ⌊iN/splits⌋ (no shuffling, the same boundaries as torch-fidelity); per chunk
IS = exp(mean_x KL(p(y|x) ‖ p(y))) with p(y) the chunk's mean prediction; report the mean and the
std (ddof = 0) over chunks. Which logits (e.g. Inception's 1008 without the output bias) is the
extractor's business, recorded with it.
"""

from __future__ import annotations

import numpy as np
import torch

from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation.arrays import ArrayLike, as_features


def inception_score(logits: ArrayLike, splits: int = 10) -> dict[str, float]:
    """IS mean and std over ``splits`` contiguous chunks of the N×C ``logits``."""
    if int(splits) != splits or splits < 1:
        raise ConfigError(f"is: splits must be a positive integer, got {splits!r}")
    x = as_features(logits, "fake_logits").to(torch.float64)
    n = x.shape[0]
    if n < splits:
        raise SourceError(f"fake_logits: {n} samples cannot be cut into {splits} splits")
    if x.shape[1] < 2:
        raise SourceError(f"fake_logits: needs at least 2 classes, got {x.shape[1]}")
    p = torch.softmax(x, dim=1)
    log_p = torch.log_softmax(x, dim=1)  # not p.log(): stays finite where p underflows to 0
    scores = np.empty(splits)
    for i in range(splits):
        lo, hi = i * n // splits, (i + 1) * n // splits
        p_c, log_p_c = p[lo:hi], log_p[lo:hi]
        log_marginal = p_c.mean(dim=0, keepdim=True).log()
        kl = (p_c * (log_p_c - log_marginal)).sum(dim=1).mean()
        scores[i] = float(kl.exp())
    return {"is_mean": float(scores.mean()), "is_std": float(scores.std()), "is_splits": float(splits)}
