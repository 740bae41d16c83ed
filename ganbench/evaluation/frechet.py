"""Fréchet distance between Gaussians fitted to features (FID and friends), pinned by docs/protocols.md.

d² = ‖μ₁−μ₂‖² + Tr Σ₁ + Tr Σ₂ − 2 Tr (Σ₁Σ₂)^½ with Σ the unbiased (N−1) covariance in float64.
Tr (Σ₁Σ₂)^½ = Σ √λᵢ over the eigenvalues of √Σ₁ Σ₂ √Σ₁, which is symmetric PSD, so two symmetric
eigensolvers replace ``scipy.linalg.sqrtm`` (a general Schur-based square root, ~6x slower at
2048-d and prone to spurious imaginary parts).
"""

from __future__ import annotations

import numpy as np
import torch

from ganbench.errors import SourceError
from ganbench.evaluation.arrays import ArrayLike, as_features, same_dims
from ganbench.evaluation.statistics import FeatureStatistics


def feature_statistics(features: ArrayLike, name: str = "features") -> tuple[ArrayLike, ArrayLike]:
    """Mean and unbiased (N−1) covariance in float64, through the one accumulator
    (:class:`ganbench.evaluation.statistics.FeatureStatistics`: chunked, never a full float64 copy).

    numpy in -> numpy out; a torch tensor in -> float64 tensors on its device (GPU stays on GPU).
    """
    mu, sigma = FeatureStatistics(name=name).add(features).mean_cov()
    if not isinstance(features, torch.Tensor):
        return mu.cpu().numpy(), sigma.cpu().numpy()
    return mu, sigma


def _check_stats(mu1, sigma1, mu2, sigma2) -> None:
    for mu, name in ((mu1, "mu1"), (mu2, "mu2")):
        if mu.ndim != 1:
            raise SourceError(f"{name}: expected a 1-D mean vector, got shape {tuple(mu.shape)}")
    for sigma, mu, name in ((sigma1, mu1, "sigma1"), (sigma2, mu2, "sigma2")):
        d = mu.shape[0]
        if tuple(sigma.shape) != (d, d):
            raise SourceError(f"{name}: expected a ({d}, {d}) covariance, got shape {tuple(sigma.shape)}")
    if mu1.shape != mu2.shape:
        raise SourceError(f"statistics have different dimensions: mu1 {mu1.shape[0]}, mu2 {mu2.shape[0]}")
    for arr, name in ((mu1, "mu1"), (sigma1, "sigma1"), (mu2, "mu2"), (sigma2, "sigma2")):
        finite = bool(torch.isfinite(arr).all()) if isinstance(arr, torch.Tensor) else np.isfinite(arr).all()
        if not finite:
            raise SourceError(f"{name}: contains NaN or inf")


def frechet_distance(mu1: ArrayLike, sigma1: ArrayLike, mu2: ArrayLike, sigma2: ArrayLike) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    Runs in torch float64 on the GPU when any input is a CUDA tensor, otherwise in numpy float64:
    on this project's CPU machines numpy (OpenBLAS LAPACK) measured slightly faster than torch's
    MKL LAPACK for the 2048-d eigendecompositions (1.08 s vs 1.12 s eigh, AMD EPYC, 2 cores), and it
    avoids a host copy for the common case of cached numpy statistics.
    """
    on_gpu = any(isinstance(a, torch.Tensor) and a.is_cuda for a in (mu1, sigma1, mu2, sigma2))
    if on_gpu:
        dev = next(a.device for a in (mu1, sigma1, mu2, sigma2) if isinstance(a, torch.Tensor) and a.is_cuda)
        t = [torch.as_tensor(a, dtype=torch.float64, device=dev) for a in (mu1, sigma1, mu2, sigma2)]
        _check_stats(*t)
        return _frechet_torch(*t)
    arrs = [
        a.detach().cpu().numpy().astype(np.float64, copy=False)
        if isinstance(a, torch.Tensor)
        else np.asarray(a, dtype=np.float64)
        for a in (mu1, sigma1, mu2, sigma2)
    ]
    _check_stats(*arrs)
    return _frechet_numpy(*arrs)


def _frechet_numpy(mu1, sigma1, mu2, sigma2) -> float:
    w, v = np.linalg.eigh(sigma1)
    # √Σ₁ = V diag(√max(w, 0)) Vᵀ: clipping removes the tiny negative eigenvalues of a PSD matrix
    root1 = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    m = root1 @ sigma2 @ root1
    m = (m + m.T) * 0.5  # symmetric up to rounding; make it exact for the symmetric solver
    eig = np.linalg.eigvalsh(m)
    tr_covmean = np.sqrt(np.clip(eig, 0.0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr_covmean)


def _frechet_torch(mu1, sigma1, mu2, sigma2) -> float:
    w, v = torch.linalg.eigh(sigma1)
    root1 = (v * w.clamp_min(0).sqrt()) @ v.T
    m = root1 @ sigma2 @ root1
    m = (m + m.T) * 0.5
    eig = torch.linalg.eigvalsh(m)
    tr_covmean = eig.clamp_min(0).sqrt().sum()
    diff = mu1 - mu2
    return float(diff @ diff + sigma1.trace() + sigma2.trace() - 2.0 * tr_covmean)


def fid_from_features(real: ArrayLike, fake: ArrayLike) -> float:
    """FID between two feature sets (real, fake), each N×F with N ≥ 2."""
    r = as_features(real, "real_features", min_rows=2)
    f = as_features(fake, "fake_features", min_rows=2)
    same_dims(r, f, "real_features", "fake_features")
    mu_r, sigma_r = feature_statistics(r, "real_features")
    mu_f, sigma_f = feature_statistics(f, "fake_features")
    return frechet_distance(mu_r, sigma_r, mu_f, sigma_f)
