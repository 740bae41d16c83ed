"""FID∞ (Chong & Forsyth 2020, "Effectively Unbiased FID and Inception Score and where to find them").

FID_N is biased upwards by a term ∝ 1/N. As in the authors' code (mchong6/FID_IS_infinity,
``calculate_FID_infinity``): evaluate FID_N at ``num_points`` sample counts evenly spaced (integer
``linspace``) from ``min_samples`` to the full N, each on a fresh random subset of the fake features
drawn without replacement, against FIXED real statistics; fit FID_N = a + b/N by least squares and
report the intercept a (the value at 1/N = 0).

Differences from the reference, all recorded: subsets come from a seeded numpy Generator instead of
repeated in-place ``np.random.shuffle``; when N < 2·5000 the smallest count is scaled down to N // 2
so the fit still spans a factor 2 in N; duplicate counts (tiny N) are dropped.
"""

from __future__ import annotations

import numpy as np
import torch

from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation.arrays import ArrayLike, as_features
from ganbench.evaluation.frechet import feature_statistics, frechet_distance


def sample_counts(n: int, num_points: int = 15, min_samples: int = 5000) -> np.ndarray:
    """The N values at which FID_N is evaluated: ``linspace(min(min_samples, n // 2), n, num_points)``."""
    if num_points < 2:
        raise ConfigError(f"fid_infinity: num_points must be >= 2, got {num_points}")
    if min_samples < 2:
        raise ConfigError(f"fid_infinity: min_samples must be >= 2, got {min_samples}")
    start = min(min_samples, n // 2)
    if start < 2:
        raise SourceError(f"fid_infinity: needs at least 4 fake samples, got {n}")
    counts = np.unique(np.linspace(start, n, num_points).astype(np.int64))
    if counts.size < 2:
        raise SourceError(f"fid_infinity: {n} fake samples give fewer than 2 distinct sample counts")
    return counts


def fid_infinity(
    fake_features: ArrayLike,
    real_stats: tuple[ArrayLike, ArrayLike],
    num_points: int = 15,
    min_samples: int = 5000,
    seed: int = 0,
) -> dict[str, object]:
    """{"fid_infinity", "slope", "counts", "fids"}: the extrapolated FID and the fitted points."""
    f = as_features(fake_features, "fake_features", min_rows=4)
    mu_r, sigma_r = real_stats
    if len(mu_r) != f.shape[1]:
        raise SourceError(f"fid_infinity: real_stats has {len(mu_r)} dimensions, fake_features {f.shape[1]}")
    counts = sample_counts(f.shape[0], num_points, min_samples)
    rng = np.random.default_rng(seed)
    fids = np.empty(counts.size)
    for t, n in enumerate(counts):
        idx = torch.as_tensor(rng.choice(f.shape[0], int(n), replace=False), device=f.device)
        mu_f, sigma_f = feature_statistics(f[idx], f"fake_features[{n} samples]")
        fids[t] = frechet_distance(mu_r, sigma_r, mu_f, sigma_f)
    # ordinary least squares of FID on 1/N, as the reference's sklearn LinearRegression
    slope, intercept = np.polyfit(1.0 / counts, fids, deg=1)
    return {
        "fid_infinity": float(intercept),
        "slope": float(slope),
        "counts": counts.tolist(),
        "fids": fids.tolist(),
    }
