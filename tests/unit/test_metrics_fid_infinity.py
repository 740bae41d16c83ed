"""FID∞: the reference procedure (mchong6/FID_IS_infinity: FID_N on random subsets of the fakes
against fixed real statistics, least-squares line in 1/N, value at 1/N = 0) replayed with
pytorch-fid and sklearn on the same subsets; and its defining property, removing the 1/N bias."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation.fid_infinity import fid_infinity, sample_counts
from ganbench.evaluation.frechet import feature_statistics, frechet_distance


def test_sample_counts():
    # the reference: np.linspace(5000, num_im, 15).astype('int32')
    np.testing.assert_array_equal(sample_counts(50000), np.linspace(5000, 50000, 15).astype(np.int32))
    np.testing.assert_array_equal(sample_counts(3000, 4), [1500, 2000, 2500, 3000])  # scaled to N // 2
    assert sample_counts(6, 15).tolist() == [3, 4, 5, 6]  # duplicates dropped
    with pytest.raises(SourceError, match="at least 4 fake samples"):
        sample_counts(3)
    with pytest.raises(ConfigError, match="num_points must be >= 2"):
        sample_counts(100, 1)


def test_fid_infinity_matches_reference_procedure():
    from pytorch_fid.fid_score import calculate_frechet_distance
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(0)
    d = 8
    real = rng.standard_normal((3000, d))
    fake = (rng.standard_normal((2000, d)) * 1.2 + 0.2).astype(np.float32)
    mu_r, sigma_r = real.mean(0), np.cov(real, rowvar=False)
    res = fid_infinity(fake, (mu_r, sigma_r), num_points=6, min_samples=500, seed=3)
    counts = np.linspace(500, 2000, 6).astype(np.int64)
    assert res["counts"] == counts.tolist()
    draw = np.random.default_rng(3)  # the same subsets, in the same order
    fids = []
    for n in counts:
        sub = fake[draw.choice(2000, n, replace=False)].astype(np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # scipy sqrtm(disp=...) deprecation
            fids.append(calculate_frechet_distance(sub.mean(0), np.cov(sub, rowvar=False), mu_r, sigma_r))
    np.testing.assert_allclose(res["fids"], fids, rtol=1e-6)
    reg = LinearRegression().fit(1 / counts.reshape(-1, 1), np.array(fids).reshape(-1, 1))
    assert res["fid_infinity"] == pytest.approx(reg.predict(np.array([[0]]))[0, 0], rel=1e-6)
    assert res["slope"] == pytest.approx(reg.coef_[0, 0], rel=1e-6)


def test_fid_infinity_removes_the_finite_sample_bias():
    # fakes from exactly the real distribution N(0, I): true FID 0, FID_N ≈ d(d+1)/(2N) > 0
    rng = np.random.default_rng(1)
    d = 16
    fake = rng.standard_normal((4000, d))
    res = fid_infinity(fake, (np.zeros(d), np.eye(d)), num_points=10, min_samples=1000, seed=0)
    fid_full = res["fids"][-1]
    assert fid_full == pytest.approx(d * (d + 1) / (2 * 4000), rel=0.5)
    assert abs(res["fid_infinity"]) < 0.3 * fid_full
    assert res["slope"] == pytest.approx(d * (d + 1) / 2, rel=0.5)  # FID_N ≈ slope / N
    # seeded: same seed same value, another seed another one
    assert fid_infinity(fake, (np.zeros(d), np.eye(d)), 10, 1000, seed=0) == res
    assert fid_infinity(fake, (np.zeros(d), np.eye(d)), 10, 1000, seed=1)["fids"] != res["fids"]
    # the full-N point is the plain FID of all fakes against the real statistics
    mu_f, sigma_f = feature_statistics(fake)
    assert fid_full == pytest.approx(frechet_distance(np.zeros(d), np.eye(d), mu_f, sigma_f), rel=1e-9)


def test_fid_infinity_errors():
    fake = np.random.default_rng(0).standard_normal((100, 4))
    with pytest.raises(SourceError, match="fake_features: contains NaN"):
        fid_infinity(np.full((100, 4), np.nan), (np.zeros(4), np.eye(4)))
    with pytest.raises(SourceError, match="real_stats has 3 dimensions, fake_features 4"):
        fid_infinity(fake, (np.zeros(3), np.eye(3)))
