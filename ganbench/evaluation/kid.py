"""Kernel Inception Distance (Bińkowski et al. 2018), pinned by docs/protocols.md.

k(x, y) = (xᵀy/d + 1)³; per subset the unbiased MMD² estimate
    [Σ_{i≠j} k(xᵢ,xⱼ) + Σ_{i≠j} k(yᵢ,yⱼ)] / (m(m−1)) − 2 Σ_{i,j} k(xᵢ,yⱼ) / m²
(the cross term keeps its diagonal, as clean-fid and torch-fidelity do); 100 subsets of size
m = min(n₁, n₂, 1000) drawn without replacement from a seeded numpy Generator; mean and std
(ddof = 0, as torch-fidelity) over subsets. Kernels are evaluated in float64 so the result does not
depend on the features' dtype (the references compute in the input dtype).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation.arrays import ArrayLike, as_features, same_dims


def kid_subsets(
    n_real: int, n_fake: int, num_subsets: int = 100, max_subset_size: int = 1000, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (real indices, fake indices) of each subset, drawn from ``np.random.default_rng(seed)``."""
    if num_subsets < 1:
        raise ConfigError(f"kid: num_subsets must be >= 1, got {num_subsets}")
    if max_subset_size < 2:
        raise ConfigError(f"kid: max_subset_size must be >= 2, got {max_subset_size}")
    m = min(n_real, n_fake, max_subset_size)
    if m < 2:
        raise SourceError(
            f"kid: needs at least 2 real and 2 fake samples, got {n_real} real and {n_fake} fake"
        )
    rng = np.random.default_rng(seed)
    return [
        (rng.choice(n_real, m, replace=False), rng.choice(n_fake, m, replace=False))
        for _ in range(num_subsets)
    ]


def _mmd2_unbiased(x: torch.Tensor, y: torch.Tensor) -> float:
    m, d = x.shape
    k_xx = (x @ x.T / d + 1) ** 3
    k_yy = (y @ y.T / d + 1) ** 3
    k_xy = (x @ y.T / d + 1) ** 3
    off_diag = (k_xx.sum() - k_xx.diagonal().sum()) + (k_yy.sum() - k_yy.diagonal().sum())
    return float(off_diag / (m * (m - 1)) - 2 * k_xy.sum() / (m * m))


def kid_from_subsets(
    real: ArrayLike, fake: ArrayLike, subsets: Sequence[tuple[ArrayLike, ArrayLike]]
) -> dict[str, float]:
    """KID over explicit (real indices, fake indices) subsets, each pair of equal size m ≥ 2."""
    r = as_features(real, "real_features", min_rows=2)
    f = as_features(fake, "fake_features", min_rows=2)
    same_dims(r, f, "real_features", "fake_features")
    if f.device != r.device:
        raise SourceError(f"real_features is on {r.device} but fake_features is on {f.device}")
    if len(subsets) == 0:
        raise ConfigError("kid: no subsets given")
    mmds = np.empty(len(subsets))
    for s, (idx_r, idx_f) in enumerate(subsets):
        idx_r = torch.as_tensor(np.asarray(idx_r), device=r.device)
        idx_f = torch.as_tensor(np.asarray(idx_f), device=r.device)
        if idx_r.shape != idx_f.shape or idx_r.ndim != 1 or idx_r.shape[0] < 2:
            raise ConfigError(f"kid: subset {s} needs two 1-D index arrays of the same size >= 2")
        mmds[s] = _mmd2_unbiased(r[idx_r].to(torch.float64), f[idx_f].to(torch.float64))
    return {"kid_mean": float(mmds.mean()), "kid_std": float(mmds.std())}


def kernel_inception_distance(
    real: ArrayLike,
    fake: ArrayLike,
    num_subsets: int = 100,
    max_subset_size: int = 1000,
    seed: int = 0,
) -> dict[str, float]:
    """KID mean and std over seeded random subsets (see the module docstring for the protocol)."""
    r = as_features(real, "real_features", min_rows=2)
    f = as_features(fake, "fake_features", min_rows=2)
    subsets = kid_subsets(r.shape[0], f.shape[0], num_subsets, max_subset_size, seed)
    out = kid_from_subsets(r, f, subsets)
    out["kid_subset_size"] = float(subsets[0][0].shape[0])
    out["kid_subsets"] = float(num_subsets)
    return out
