"""CMMD (Jayasumana et al. 2024, "Rethinking FID"), as google-research/cmmd ``distance.py`` defines it.

    k(x, y) = exp(−‖x − y‖² / (2σ²)),  σ = 10
    CMMD = 1000 · [ mean_{i,j} k(xᵢ, xⱼ) + mean_{i,j} k(yᵢ, yⱼ) − 2 mean_{i,j} k(xᵢ, yⱼ) ]

This is the reference's estimator: the **biased** (minimum-variance, V-statistic) MMD² of Gretton et
al. 2012 Eq. (5), every mean over all pairs **including the diagonal** (k(x, x) = 1), scaled by
1000. The reference computes it on L2-normalised CLIP ViT-L/14@336 image embeddings (the ``clip``
extractor gives those); the distance itself is generic, so ``cmmd`` runs in any feature space.
``normalize=True`` L2-normalises the rows first (a no-op on CLIP embeddings) for other spaces.

Unlike the reference (one full n × n kernel in float32), the kernel sums are taken in float64 over
row blocks of bounded size, so 10 000 × 10 000 samples never hold an n × n matrix.
"""

from __future__ import annotations

import torch

from ganbench.errors import ConfigError
from ganbench.evaluation.arrays import ArrayLike, as_features, same_dims
from ganbench.evaluation.inputs import EvalInputs
from ganbench.evaluation.metric import Output, register_metric

SIGMA = 10.0  # the reference's RBF bandwidth (_SIGMA)
SCALE = 1000.0  # the reference's scale "to make the metric more human readable" (_SCALE)
BLOCK_ELEMENTS = 1 << 22  # kernel entries per block: 32 MiB of float64 (plus one temporary)


def _kernel_mean(a: torch.Tensor, b: torch.Tensor, gamma: float) -> float:
    """mean_{i,j} exp(−γ ‖aᵢ − bⱼ‖²) over all pairs (diagonal included), in float64 row blocks."""
    a_sq = (a * a).sum(dim=1)
    b_sq = (b * b).sum(dim=1)
    rows = max(1, BLOCK_ELEMENTS // b.shape[0])
    total = torch.zeros((), dtype=torch.float64, device=a.device)
    for s in range(0, a.shape[0], rows):
        # d² = ‖a‖² + ‖b‖² − 2aᵀb, as the reference forms it; clamped at 0 against rounding (the
        # diagonal of a set with itself), which can only move k by rounding error
        d2 = torch.addmm(a_sq[s : s + rows, None] + b_sq[None, :], a[s : s + rows], b.T, alpha=-2.0)
        total += d2.clamp_(min=0.0).mul_(-gamma).exp_().sum()
    return float(total) / (a.shape[0] * b.shape[0])


def cmmd(
    real: ArrayLike,
    fake: ArrayLike,
    sigma: float = SIGMA,
    scale: float = SCALE,
    normalize: bool = False,
) -> float:
    """The reference's biased MMD² (diagonals included) × ``scale`` between real and fake embeddings."""
    if not sigma > 0:
        raise ConfigError(f"cmmd: sigma must be > 0, got {sigma}")
    x = as_features(real, "real_features").to(torch.float64)
    y = as_features(fake, "fake_features").to(torch.float64)
    same_dims(x, y, "real_features", "fake_features")
    if y.device != x.device:
        y = y.to(x.device)
    if normalize:
        x = torch.nn.functional.normalize(x, dim=1)
        y = torch.nn.functional.normalize(y, dim=1)
    gamma = 1.0 / (2.0 * sigma**2)
    k_xx = _kernel_mean(x, x, gamma)
    k_yy = _kernel_mean(y, y, gamma)
    k_xy = _kernel_mean(x, y, gamma)
    return scale * (k_xx + k_yy - 2.0 * k_xy)


@register_metric(
    "cmmd",
    {"fake_features", "real_features"},
    [Output("cmmd", "lower", display="CMMD")],
    order=72,
    min_samples=lambda params: 1,  # the biased estimator is defined for one sample per set
)
def cmmd_metric(
    inputs: EvalInputs, sigma: float = SIGMA, scale: float = SCALE, normalize: bool = False
) -> dict[str, float]:
    """CMMD (real vs fake features); meant for the ``clip`` extractor's L2-normalised embeddings."""
    return {"cmmd": cmmd(inputs.real_features, inputs.fake_features, sigma, scale, normalize)}
