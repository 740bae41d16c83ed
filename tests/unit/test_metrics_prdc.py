"""P/R/D/C EQUAL to the ``prdc`` package (NAVER, sklearn float32 distances) on the same features.

``prdc.compute_prdc`` uses one ``nearest_k`` for all four values and strict ``<`` everywhere, so
P/R are compared with it at k = 3 with ``pr_inclusive=False`` and D/C at k = 5. Block budgets far
below N×M exercise the block path; duplicates and integer lattices exercise ties.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch

import ganbench.evaluation.prdc as P
from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation.prdc import density_coverage, knn_radii, prdc, precision_recall

TINY = 16 * 1024  # 16 KiB: blocks of ~22 x 22 distances


def _reference(real, fake, k: int) -> dict[str, float]:
    from prdc import compute_prdc

    with contextlib.redirect_stdout(io.StringIO()):  # compute_prdc prints the sample counts
        return {key: float(v) for key, v in compute_prdc(real, fake, nearest_k=k).items()}


def _assert_equal_to_prdc(real, fake, budget, k_pr=3, k_dc=5):
    ours = prdc(real, fake, k_pr=k_pr, k_dc=k_dc, pr_inclusive=False, max_block_bytes=budget)
    ref_pr, ref_dc = _reference(real, fake, k_pr), _reference(real, fake, k_dc)
    assert ours["precision"] == ref_pr["precision"]
    assert ours["recall"] == ref_pr["recall"]
    assert ours["density"] == ref_dc["density"]
    assert ours["coverage"] == ref_dc["coverage"]
    return ours


def _pair(n, m, d, seed, dtype=np.float32, offset=0.0):
    """Features on a 16-d latent mixed into d dims plus noise, so few samples still overlap at 2048-d."""
    rng = np.random.default_rng(seed)
    latent = min(d, 16)
    mix = rng.standard_normal((latent, d)) / np.sqrt(latent)
    real = rng.standard_normal((n, latent)) @ mix + 0.1 * rng.standard_normal((n, d)) + offset
    fake = (rng.standard_normal((m, latent)) * 1.1 + 0.1) @ mix + 0.1 * rng.standard_normal((m, d)) + offset
    return real.astype(dtype), fake.astype(dtype)


@pytest.mark.parametrize("budget", [TINY, P.DEFAULT_MAX_BLOCK_BYTES], ids=["tiny-blocks", "one-block"])
@pytest.mark.parametrize("n,m,d", [(300, 250, 16), (200, 260, 128), (150, 120, 2048)])
def test_equals_prdc_random(n, m, d, budget):
    real, fake = _pair(n, m, d, seed=n + d)
    ours = _assert_equal_to_prdc(real, fake, budget)
    assert 0 < ours["precision"] <= 1 and 0 < ours["coverage"] <= 1
    assert ours["pr_k"] == 3 and ours["dc_k"] == 5 and ours["pr_inclusive"] == 0.0


def test_equals_prdc_with_duplicates():
    real, fake = _pair(400, 300, 32, seed=7)
    fake[:40] = real[:40]  # memorised samples: fake points on real points (exact-distance ties)
    fake[50:60] = real[100:110] + 0  # more copies, also near the k-th neighbours of other points
    real[200:205] = real[210:215]  # pairs of duplicates inside the real set (fewer than k copies)
    fake[100:103] = fake[110:113]
    _assert_equal_to_prdc(real, fake, TINY)
    _assert_equal_to_prdc(real, fake, P.DEFAULT_MAX_BLOCK_BYTES)


def test_equals_prdc_float64_and_large_offset():
    # float64 features: sklearn computes in float64 throughout; we match that too
    _assert_equal_to_prdc(*_pair(200, 180, 24, seed=11, dtype=np.float64), TINY)
    # norms >> distances (like non-negative CNN features): heavy cancellation in ||a||²+||b||²-2ab,
    # many pairs fall in the undecided band and are recomputed exactly
    _assert_equal_to_prdc(*_pair(200, 180, 24, seed=12, offset=30.0), TINY)


def test_knn_radii_equal_prdc_including_lattice_ties(monkeypatch):
    from prdc.prdc import compute_nearest_neighbour_distances

    real, _ = _pair(300, 10, 64, seed=3)
    real[10:12] = real[20:22]  # one copy each: fewer than k copies keeps the radii non-degenerate
    for k in (2, 3, 5):
        expected = compute_nearest_neighbour_distances(real, k)
        np.testing.assert_array_equal(knn_radii(real, k, max_block_bytes=TINY).numpy(), expected)
    # scaled one-hot vectors: all 40 points are equidistant, more ties at the k-th distance than
    # candidates kept, so the candidate list cannot be proven complete and rows are recomputed exactly
    calls = []
    original = P._exact_kth_rows

    def spy(s, rows, *args):
        calls.append(rows.numel())
        return original(s, rows, *args)

    monkeypatch.setattr(P, "_exact_kth_rows", spy)
    simplex = np.eye(40, dtype=np.float32) * 3
    np.testing.assert_array_equal(
        knn_radii(simplex, 5, max_block_bytes=TINY).numpy(), compute_nearest_neighbour_distances(simplex, 5)
    )
    assert sum(calls) == 40
    # an integer lattice: many exact ties at every radius, fakes on and between lattice points
    grid = np.stack(np.meshgrid(*[np.arange(4)] * 4), -1).reshape(-1, 4).astype(np.float32)  # 256 points
    np.testing.assert_array_equal(
        knn_radii(grid, 5, max_block_bytes=TINY).numpy(), compute_nearest_neighbour_distances(grid, 5)
    )
    _assert_equal_to_prdc(grid, np.concatenate([grid[::2] + np.float32(0.5), grid[:20]]), TINY)


def test_inclusive_membership_counts_exact_ties():
    # integer coordinates: exact distances. Real points on a line 10 apart, k = 1: every radius is 10.
    real = np.array([[0, 0], [10, 0], [20, 0], [30, 0]], dtype=np.float32)
    fake = np.array([[0, 10], [10, 3], [40, 40]], dtype=np.float32)  # at r, inside, far
    strict = precision_recall(real, fake, k=1, inclusive=False)
    inclusive = precision_recall(real, fake, k=1, inclusive=True)
    assert strict["precision"] == pytest.approx(1 / 3) == _reference(real, fake, 1)["precision"]
    assert inclusive["precision"] == pytest.approx(2 / 3)  # (0, 10) lies on the ball of (0, 0)
    assert strict["recall"] == _reference(real, fake, 1)["recall"]
    # density/coverage are always strict (Naeem et al., prdc)
    dc = density_coverage(real, fake, k=1)
    ref = _reference(real, fake, 1)
    assert (dc["density"], dc["coverage"]) == (ref["density"], ref["coverage"])


def test_separate_functions_agree_with_prdc():
    real, fake = _pair(120, 100, 8, seed=5)
    both = prdc(real, fake, max_block_bytes=TINY)
    pr = precision_recall(real, fake, k=3, max_block_bytes=TINY)
    dc = density_coverage(real, fake, k=5, max_block_bytes=TINY)
    assert (both["precision"], both["recall"]) == (pr["precision"], pr["recall"])
    assert (both["density"], both["coverage"]) == (dc["density"], dc["coverage"])
    assert set(dc) == {"density", "coverage", "dc_k"}
    # torch tensors in, same numbers
    t = prdc(torch.from_numpy(real), torch.from_numpy(fake))
    assert t == both


def test_argument_order_matters():
    rng = np.random.default_rng(0)
    wide = rng.standard_normal((200, 8)).astype(np.float32) * 3
    narrow = rng.standard_normal((200, 8)).astype(np.float32) * 0.3
    r = prdc(wide, narrow)  # fakes collapsed inside the real support: high precision, low recall
    assert r["precision"] > 0.9 and r["recall"] < 0.2
    flipped = prdc(narrow, wide)
    assert flipped["precision"] < 0.2 and flipped["recall"] > 0.9


def test_errors():
    real, fake = _pair(50, 40, 8, seed=1)
    bad = real.copy()
    bad[4, 1] = np.nan
    with pytest.raises(SourceError, match="real_features: contains NaN or inf"):
        prdc(bad, fake)
    with pytest.raises(SourceError, match="k_dc=5 needs at least 6 samples in real_features"):
        prdc(real[:5], fake)
    with pytest.raises(SourceError, match="k_pr=3 needs at least 4 samples in fake_features .*, got 3"):
        prdc(real, fake[:3])
    with pytest.raises(SourceError, match="k=50 needs at least 51 samples"):
        knn_radii(real, 50)
    with pytest.raises(SourceError, match="real_features has 8, fake_features has 7"):
        prdc(real, fake[:, :7])
    with pytest.raises(SourceError, match="expected a 2-D array"):
        prdc(real[0], fake)
    with pytest.raises(ConfigError, match="k_pr must be a positive integer"):
        prdc(real, fake, k_pr=0)
    with pytest.raises(ConfigError, match="max_block_bytes"):
        prdc(real, fake, max_block_bytes=10)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_equals_prdc():
    real, fake = _pair(500, 400, 256, seed=9)
    fake[:30] = real[:30]
    real_gpu, fake_gpu = torch.from_numpy(real).cuda(), torch.from_numpy(fake).cuda()
    on_gpu = prdc(real_gpu, fake_gpu, pr_inclusive=False, max_block_bytes=TINY * 64)
    assert on_gpu == prdc(real, fake, pr_inclusive=False)
    ref_pr, ref_dc = _reference(real, fake, 3), _reference(real, fake, 5)
    assert (on_gpu["precision"], on_gpu["recall"]) == (ref_pr["precision"], ref_pr["recall"])
    assert (on_gpu["density"], on_gpu["coverage"]) == (ref_dc["density"], ref_dc["coverage"])
