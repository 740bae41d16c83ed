"""Fréchet distance / FID against clean-fid, pytorch-fid and torch-fidelity on the same statistics.

SciPy 1.17 still accepts the ``disp`` argument clean-fid and pytorch-fid pass to ``sqrtm`` but warns
that 1.18 removes it; the reference calls run with that DeprecationWarning silenced (test only).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from ganbench.errors import SourceError
from ganbench.evaluation.frechet import feature_statistics, fid_from_features, frechet_distance


def _references(mu1, s1, mu2, s2) -> dict[str, float]:
    from cleanfid.fid import frechet_distance as cleanfid_fd
    from pytorch_fid.fid_score import calculate_frechet_distance as pytorch_fid_fd
    from torch_fidelity.metric_fid import fid_statistics_to_metric

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # scipy sqrtm(disp=...) deprecation
        return {
            "clean-fid": float(cleanfid_fd(mu1, s1, mu2, s2)),
            "pytorch-fid": float(pytorch_fid_fd(mu1, s1, mu2, s2)),
            "torch-fidelity": fid_statistics_to_metric(
                {"mu": mu1, "sigma": s1}, {"mu": mu2, "sigma": s2}, False
            )["frechet_inception_distance"],
        }


def _feature_pair(d: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Correlated features (shared random mixing) with a shift and a scale between the two sets."""
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((d, d)) / np.sqrt(d)
    a = rng.standard_normal((n, d)) @ mix
    b = rng.standard_normal((n, d)) @ mix * 1.1 + 0.1
    return a.astype(np.float32), b.astype(np.float32)


@pytest.mark.parametrize(
    "d,n",
    [(8, 500), (64, 1000), (300, 1000), (64, 40), (64, 70)],
    ids=["8d", "64d", "300d", "64d-N<d-singular", "64d-N~d-near-singular"],
)
def test_frechet_matches_references(d, n):
    a, b = _feature_pair(d, n, seed=d + n)
    mu1, s1 = feature_statistics(a)
    mu2, s2 = feature_statistics(b)
    ours = frechet_distance(mu1, s1, mu2, s2)
    assert ours > float(((mu1 - mu2) ** 2).sum())  # ‖Δμ‖² plus a trace term > 0 (the covariances differ)
    for name, ref in _references(mu1, s1, mu2, s2).items():
        assert ours == pytest.approx(ref, rel=1e-6), name


@pytest.mark.slow
def test_frechet_matches_references_2048d():
    a, b = _feature_pair(2048, 2500, seed=2048)
    mu1, s1 = feature_statistics(a)
    mu2, s2 = feature_statistics(b)
    ours = frechet_distance(mu1, s1, mu2, s2)
    for name, ref in _references(mu1, s1, mu2, s2).items():
        assert ours == pytest.approx(ref, rel=1e-6), name


def test_feature_statistics_match_numpy():
    a, _ = _feature_pair(32, 300, seed=1)
    mu, sigma = feature_statistics(a)
    assert mu.dtype == np.float64 and sigma.dtype == np.float64
    np.testing.assert_allclose(mu, a.astype(np.float64).mean(0), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(sigma, np.cov(a, rowvar=False), rtol=1e-10, atol=1e-13)  # unbiased N-1
    mu_t, sigma_t = feature_statistics(torch.from_numpy(a))
    assert isinstance(mu_t, torch.Tensor) and sigma_t.dtype == torch.float64
    np.testing.assert_allclose(sigma_t.numpy(), sigma, rtol=1e-12, atol=1e-14)


def test_feature_statistics_chunked_covariance(monkeypatch):
    import ganbench.evaluation.statistics as st

    a, _ = _feature_pair(16, 1000, seed=2)
    full = feature_statistics(a)[1]
    monkeypatch.setattr(st, "CHUNK_ROWS", 37)
    chunked = feature_statistics(a)[1]
    assert not np.array_equal(chunked, full)  # the patch took effect: other chunks, other rounding
    np.testing.assert_allclose(chunked, full, rtol=1e-12, atol=1e-14)


def test_fid_from_features_and_identity():
    a, b = _feature_pair(16, 400, seed=3)
    mu1, s1 = feature_statistics(a)
    mu2, s2 = feature_statistics(b)
    assert fid_from_features(a, b) == pytest.approx(_references(mu1, s1, mu2, s2)["pytorch-fid"], rel=1e-6)
    # the distance of a distribution to itself is 0 up to rounding (sqrt of the PSD product)
    assert abs(frechet_distance(mu1, s1, mu1, s1)) < 1e-9 * np.trace(s1)
    # torch inputs give the same number as numpy inputs
    assert fid_from_features(torch.from_numpy(a), torch.from_numpy(b)) == pytest.approx(
        fid_from_features(a, b), rel=1e-12
    )


def test_errors_name_the_argument():
    a, b = _feature_pair(8, 50, seed=4)
    bad = a.copy()
    bad[3, 2] = np.nan
    with pytest.raises(SourceError, match="features: contains NaN or inf"):
        feature_statistics(bad)
    with pytest.raises(SourceError, match="fake_features: contains NaN"):
        fid_from_features(a, np.where(np.isnan(bad), np.inf, bad))
    with pytest.raises(SourceError, match="at least 2 samples, got 1"):
        feature_statistics(a[:1])
    with pytest.raises(SourceError, match="real_features has 8, fake_features has 7"):
        fid_from_features(a, b[:, :7])
    mu, s = feature_statistics(a)
    with pytest.raises(SourceError, match="mu1 8, mu2 7"):
        frechet_distance(mu, s, mu[:7], s[:7, :7])
    with pytest.raises(SourceError, match="sigma2: expected a \\(8, 8\\) covariance"):
        frechet_distance(mu, s, mu, s[:7, :7])
    s_nan = s.copy()
    s_nan[0, 0] = np.nan
    with pytest.raises(SourceError, match="sigma1: contains NaN"):
        frechet_distance(mu, s_nan, mu, s)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_frechet_on_gpu_matches_cpu():
    a, b = _feature_pair(256, 1000, seed=5)
    mu1, s1 = feature_statistics(torch.from_numpy(a).cuda())
    mu2, s2 = feature_statistics(torch.from_numpy(b).cuda())
    assert mu1.is_cuda
    cpu = frechet_distance(*feature_statistics(a), *feature_statistics(b))
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(cpu, rel=1e-9)


def _mp_frechet(a: np.ndarray, b: np.ndarray, dps: int = 40) -> float:
    """FD of the two samples' Gaussians in mpmath at ``dps`` digits, from the exact feature values:
    exactly rank-deficient covariances stay so (their zero eigenvalues come out ~1e-40)."""
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(dps):

        def stats(x):
            n, d = x.shape
            rows = [[mpmath.mpf(float(v)) for v in r] for r in x]
            mu = [mpmath.fsum(r[j] for r in rows) / n for j in range(d)]
            c = mpmath.matrix(d, d)
            for i in range(d):
                for j in range(i, d):
                    c[i, j] = c[j, i] = mpmath.fsum((r[i] - mu[i]) * (r[j] - mu[j]) for r in rows) / (n - 1)
            return mu, c

        (mu1, s1), (mu2, s2) = stats(a), stats(b)
        d = len(mu1)
        w, v = mpmath.eigsy(s1)
        root = v * mpmath.diag([mpmath.sqrt(max(x, 0)) for x in w]) * v.T
        lam, _ = mpmath.eigsy(root * s2 * root)
        tr = mpmath.fsum(mpmath.sqrt(max(x, 0)) for x in lam)
        dist = mpmath.fsum((mu1[i] - mu2[i]) ** 2 for i in range(d))
        return float(dist + mpmath.fsum(s1[i, i] + s2[i, i] for i in range(d)) - 2 * tr)


@pytest.mark.parametrize(
    "d,n1,n2",
    [(12, 40, 60), (12, 6, 6), (12, 40, 6), (12, 6, 40), (8, 3, 5), (12, 12, 13)],
    ids=["n>d", "both-n<d", "sigma2-singular", "sigma1-singular", "8d-rank2-rank4", "n~d"],
)
def test_frechet_matches_high_precision(d, n1, n2):
    """Within 1e-9 relative of the mpmath value at 40 digits: the rank-deficient cases are where
    clipping the noise eigenvalues at 0 only (the old form, and the references) costs ~1e-8 each."""
    rng = np.random.default_rng(100 * d + n1 + n2)
    mix = rng.standard_normal((d, d)) / np.sqrt(d)
    a = rng.standard_normal((n1, d)) @ mix
    b = rng.standard_normal((n2, d)) @ mix * 1.2 + 0.05
    ref = _mp_frechet(a, b)
    ours = frechet_distance(*feature_statistics(a), *feature_statistics(b))
    assert ours == pytest.approx(ref, rel=1e-9, abs=0)
    # the identity: exactly 0 to 1e-9 for singular and full-rank covariances alike
    mu, s = feature_statistics(a)
    assert abs(frechet_distance(mu, s, mu, s)) < 1e-9


@pytest.mark.parametrize("n", [100, 300], ids=["rank-deficient-eigh", "full-rank-cholesky"])
def test_frechet_identity_is_zero(n):
    """FD(X, X) = 0 to 1e-9 whether Σ is singular (fewer samples than dimensions) or not."""
    a, _ = _feature_pair(256, n, seed=n)
    mu, s = feature_statistics(a)
    assert abs(frechet_distance(mu, s, mu, s)) < 1e-9
    mu_t, s_t = feature_statistics(torch.from_numpy(a))  # the torch CPU inputs take the numpy path
    assert abs(frechet_distance(mu_t, s_t, mu_t, s_t)) < 1e-9


@pytest.mark.slow
def test_frechet_identity_is_zero_2048d_intra_fid_size():
    """The issue's case: 1 500 samples of 2 048-d features (an intra-FID class); was −6.7e-6."""
    rng = np.random.default_rng(1500)
    mix = rng.standard_normal((2048, 2048)) / np.sqrt(2048)
    x = (rng.standard_normal((1500, 2048)) @ mix).astype(np.float32)
    mu, s = feature_statistics(x)
    assert abs(frechet_distance(mu, s, mu, s)) < 1e-9


def test_cholesky_and_eigh_forms_agree_and_are_chosen_by_condition(monkeypatch):
    """Both forms give Tr (Σ₁Σ₂)^½ to 1e-12 on full-rank statistics; a covariance that factors but is
    below the condition threshold, or a singular one, goes to the next form (the other covariance's
    Cholesky factor, then the eigh form)."""
    import ganbench.evaluation.frechet as fr

    a, b = _feature_pair(64, 400, seed=11)
    (mu1, s1), (mu2, s2) = feature_statistics(a), feature_statistics(b)
    chol = fr._tr_sqrt_cholesky_numpy(s1, s2)
    assert chol is not None
    assert fr._tr_sqrt_cholesky_numpy(s2, s1) == pytest.approx(chol, rel=1e-12)
    assert fr._tr_sqrt_eigh_numpy(s1, s2) == pytest.approx(chol, rel=1e-12)

    used = []
    for name in ("_tr_sqrt_cholesky_numpy", "_tr_sqrt_eigh_numpy"):
        f = getattr(fr, name)
        monkeypatch.setattr(fr, name, lambda x, y, f=f, name=name: used.append((name, x is s1)) or f(x, y))

    frechet_distance(mu1, s1, mu2, s2)
    assert used == [("_tr_sqrt_cholesky_numpy", True)]  # well conditioned: one Cholesky, done

    # Σ₁ positive definite but κ ≈ 1e13 (> 1/(100 · d · eps)): refused, Σ₂ is factored instead
    w, v = np.linalg.eigh(s1)
    ill = (v * np.geomspace(1.0, 1e-13, 64)) @ v.T
    ill = (ill + ill.T) / 2
    assert np.linalg.cholesky(ill) is not None  # it does factor
    used.clear()
    ours = frechet_distance(mu1, ill, mu2, s2)
    assert [n for n, _ in used] == ["_tr_sqrt_cholesky_numpy", "_tr_sqrt_cholesky_numpy"]
    assert ours == pytest.approx(_references(mu1, ill, mu2, s2)["pytorch-fid"], rel=1e-6)

    # both singular (N < d): the eigh form
    a_s, b_s = _feature_pair(64, 30, seed=12)
    (mu1, s1), (mu2, s2) = feature_statistics(a_s), feature_statistics(b_s)
    used.clear()
    ours = frechet_distance(mu1, s1, mu2, s2)
    assert [n for n, _ in used][-1] == "_tr_sqrt_eigh_numpy"
    for name, ref in _references(mu1, s1, mu2, s2).items():
        assert ours == pytest.approx(ref, rel=1e-6), name


def test_torch_path_matches_numpy_path():
    """The GPU code (torch Cholesky / exact 1-norm condition / eigh fallback) run on CPU tensors, so
    it is checked on machines without CUDA: the same numbers as the numpy path, either form."""
    import ganbench.evaluation.frechet as fr

    for n in (400, 30):  # full rank (Cholesky) and N < d (eigh fallback)
        a, b = _feature_pair(64, n, seed=13 + n)
        stats = (*feature_statistics(a), *feature_statistics(b))
        ref = fr._frechet_numpy(*stats)
        ours = fr._frechet_torch(*(torch.from_numpy(x) for x in stats))
        assert ours == pytest.approx(ref, rel=1e-12)
        mu, s = (torch.from_numpy(x) for x in stats[:2])
        assert abs(fr._frechet_torch(mu, s, mu, s)) < 1e-9


def test_inputs_are_not_modified():
    """LAPACK works on copies: the caller's (cached) statistics are untouched on either path."""
    for n in (400, 30):
        a, b = _feature_pair(32, n, seed=n)
        stats = (*feature_statistics(a), *feature_statistics(b))
        before = [x.copy() for x in stats]
        frechet_distance(*stats)
        for x, y in zip(stats, before):
            assert np.array_equal(x, y)
