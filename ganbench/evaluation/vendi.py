"""Vendi score (Friedman & Dieng 2023) of generated features, as the ``vendi-score`` package computes
it for embeddings (``vendi.score_X`` / ``score_dual``).

    x̂ᵢ = xᵢ / ‖xᵢ‖,   K = X̂ X̂ᵀ / n   (cosine-similarity kernel, k(x, x) = 1)
    VS_q = exp( H_q(λ) ),  λ = the eigenvalues of K that are > 0
    H_1(λ) = −Σ λ log λ  (order q = 1, the default: Shannon entropy),
    H_q(λ) = log Σ λ^q / (1 − q),   H_∞(λ) = −log max λ

VS is between 1 (all samples the same direction) and n (mutually orthogonal samples): "the
effective number of distinct samples". Higher = more diverse; it says nothing of fidelity.

K's nonzero eigenvalues are those of X̂ᵀX̂ / n (the package's ``score_dual``), so ganbench takes the
eigenvalues of whichever Gram matrix is smaller: F × F when there are more samples than dimensions
(10 000 × 2048 features: a 2048² matrix, accumulated in row chunks, never n × n), n × n otherwise.
Both in float64.
"""

from __future__ import annotations

import math

import torch

from ganbench.errors import ConfigError
from ganbench.evaluation.arrays import ArrayLike, as_features
from ganbench.evaluation.inputs import EvalInputs
from ganbench.evaluation.metric import Output, register_metric

CHUNK_ROWS = 4096  # rows per float64 working copy when accumulating X̂ᵀX̂


def _entropy(p: torch.Tensor, q: float) -> float:
    """The package's ``entropy_q`` over the positive eigenvalues."""
    p = p[p > 0]
    if q == 1:
        return float(-(p * p.log()).sum())
    if math.isinf(q):
        return float(-p.max().log())
    return float((p**q).sum().log()) / (1 - q)


def vendi_score(features: ArrayLike, q: float = 1.0) -> float:
    """Vendi score of the rows of ``features`` with the cosine-similarity kernel, order ``q``."""
    if not q >= 0:
        raise ConfigError(f"vendi: q must be >= 0 (or inf), got {q}")
    x = as_features(features, "fake_features")
    n, f = x.shape
    if f < n:
        gram = torch.zeros((f, f), dtype=torch.float64, device=x.device)
        for s in range(0, n, CHUNK_ROWS):
            c = torch.nn.functional.normalize(x[s : s + CHUNK_ROWS].to(torch.float64), dim=1)
            gram.addmm_(c.T, c)
    else:
        c = torch.nn.functional.normalize(x.to(torch.float64), dim=1)
        gram = c @ c.T
    eigenvalues = torch.linalg.eigvalsh(gram / n)
    return math.exp(_entropy(eigenvalues, q))


@register_metric(
    "vendi",
    {"fake_features"},
    [Output("vendi", "higher", display="Vendi")],
    order=76,
    min_samples=lambda params: 1,
    bootstrap=(
        "duplicated samples lower the diversity the score measures: the interval would not be "
        "centred on the estimate"
    ),
)
def vendi_metric(inputs: EvalInputs, q: float = 1.0) -> dict[str, float]:
    """Vendi score of the generated features (cosine kernel, order q); higher = more diverse."""
    return {"vendi": vendi_score(inputs.fake_features, q)}
