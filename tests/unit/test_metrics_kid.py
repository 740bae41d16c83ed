"""KID against clean-fid ``kernel_distance`` and torch-fidelity ``kid_features_to_metric`` on the
same subsets: each reference's own seeded draws are replayed to get its subset indices, which are
then passed to ``kid_from_subsets``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation.kid import kernel_inception_distance, kid_from_subsets, kid_subsets

N_REAL, N_FAKE, DIM, SUBSETS, SIZE = 400, 300, 32, 20, 250


def _features(dtype=np.float64):
    rng = np.random.default_rng(0)
    real = rng.standard_normal((N_REAL, DIM))
    fake = rng.standard_normal((N_FAKE, DIM)) * 1.05 + 0.05
    return real.astype(dtype), fake.astype(dtype)


def _cleanfid_subsets(seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """clean-fid draws, per subset, fake indices (its feats2) then real indices (feats1) from np.random."""
    np.random.seed(seed)
    out = []
    for _ in range(SUBSETS):
        idx_fake = np.random.choice(N_FAKE, SIZE, replace=False)
        idx_real = np.random.choice(N_REAL, SIZE, replace=False)
        out.append((idx_real, idx_fake))
    return out


def _torch_fidelity_subsets(seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """torch-fidelity draws, per subset, input-1 then input-2 indices from a RandomState(seed)."""
    rng = np.random.RandomState(seed)
    return [
        (rng.choice(N_REAL, SIZE, replace=False), rng.choice(N_FAKE, SIZE, replace=False))
        for _ in range(SUBSETS)
    ]


@pytest.mark.parametrize("dtype,rel", [(np.float64, 1e-10), (np.float32, 1e-4)])
def test_kid_matches_cleanfid(dtype, rel):
    # float32: clean-fid evaluates the kernel sums in float32, we in float64 (differences ~1e-6 seen)
    from cleanfid.fid import kernel_distance

    real, fake = _features(dtype)
    ours = kid_from_subsets(real, fake, _cleanfid_subsets(seed=3))
    np.random.seed(3)
    ref = kernel_distance(real, fake, num_subsets=SUBSETS, max_subset_size=SIZE)
    assert ours["kid_mean"] == pytest.approx(ref, rel=rel)


@pytest.mark.parametrize("dtype,rel", [(np.float64, 1e-10), (np.float32, 1e-4)])
def test_kid_matches_torch_fidelity(dtype, rel):
    from torch_fidelity.metric_kid import kid_features_to_metric

    real, fake = _features(dtype)
    ours = kid_from_subsets(real, fake, _torch_fidelity_subsets(seed=7))
    ref = kid_features_to_metric(
        torch.from_numpy(real), torch.from_numpy(fake), kid_subsets=SUBSETS, kid_subset_size=SIZE,
        verbose=False, rng_seed=7,
    )  # fmt: skip
    assert ours["kid_mean"] == pytest.approx(ref["kernel_inception_distance_mean"], rel=rel)
    assert ours["kid_std"] == pytest.approx(ref["kernel_inception_distance_std"], rel=rel)  # ddof = 0


def test_kid_seeded_subsets():
    subs = kid_subsets(N_REAL, N_FAKE, num_subsets=5, max_subset_size=1000, seed=1)
    assert len(subs) == 5
    for idx_r, idx_f in subs:
        assert idx_r.shape == idx_f.shape == (min(N_REAL, N_FAKE),)  # m = min(n1, n2, 1000)
        assert len(np.unique(idx_r)) == idx_r.size and idx_r.max() < N_REAL  # without replacement
        assert idx_f.max() < N_FAKE
    again = kid_subsets(N_REAL, N_FAKE, num_subsets=5, max_subset_size=1000, seed=1)
    assert all(
        np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(subs, again, strict=True)
    )
    other = kid_subsets(N_REAL, N_FAKE, num_subsets=5, max_subset_size=1000, seed=2)
    assert not np.array_equal(subs[0][0], other[0][0])
    assert kid_subsets(5000, 3000, 1)[0][0].size == 1000


def test_kernel_inception_distance_end_to_end():
    real, fake = _features()
    res = kernel_inception_distance(real, fake, num_subsets=10, max_subset_size=200, seed=4)
    assert res == kid_from_subsets(real, fake, kid_subsets(N_REAL, N_FAKE, 10, 200, 4)) | {
        "kid_subset_size": 200.0,
        "kid_subsets": 10.0,
    }
    # same distribution: near 0 (unbiased, may be negative); shifted distribution: clearly positive
    same = kernel_inception_distance(real[:200], real[200:], num_subsets=10, max_subset_size=200)
    assert abs(same["kid_mean"]) < 3 * same["kid_std"] + 1e-3
    assert res["kid_mean"] > 5 * abs(same["kid_mean"])
    t = kernel_inception_distance(torch.from_numpy(real), torch.from_numpy(fake), 10, 200, seed=4)
    assert t["kid_mean"] == pytest.approx(res["kid_mean"], rel=1e-12)


def test_kid_errors():
    real, fake = _features()
    with pytest.raises(SourceError, match="real_features has 32, fake_features has 31"):
        kernel_inception_distance(real, fake[:, :31])
    bad = fake.copy()
    bad[0, 0] = np.inf
    with pytest.raises(SourceError, match="fake_features: contains NaN or inf"):
        kernel_inception_distance(real, bad)
    with pytest.raises(SourceError, match="at least 2 samples, got 1"):
        kernel_inception_distance(real[:1], fake)
    with pytest.raises(ConfigError, match="num_subsets must be >= 1"):
        kernel_inception_distance(real, fake, num_subsets=0)
