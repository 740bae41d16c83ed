"""The one feature-statistics accumulator and the one extraction loop that feeds it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganbench.errors import SourceError
from ganbench.evaluation.extractors.identity import IdentityExtractor
from ganbench.evaluation.statistics import FeatureStatistics, extract_features


def _features(n=1000, d=12, seed=0, offset=0.0, scale=1.0):
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((d, d)).astype(np.float32)
    return (rng.standard_normal((n, d), dtype=np.float32) @ mix * scale + offset).astype(np.float32)


def _old(features):
    """The reference statistics before the accumulator: a float64 copy and np.cov."""
    f = np.asarray(features, dtype=np.float64)
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _stream(x, sizes, chunk_rows=None, keep=False):
    acc = FeatureStatistics(keep_features=keep, chunk_rows=chunk_rows)
    start = 0
    for size in sizes:
        acc.add(x[start : start + size])
        start += size
    acc.add(x[start:])
    return acc


def test_equals_the_float64_np_cov_path():
    x = _features()
    mu, sigma = (t.numpy() for t in _stream(x, [1, 7, 250, 3], chunk_rows=64).mean_cov())
    mu_old, sigma_old = _old(x)
    np.testing.assert_allclose(mu, mu_old, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sigma, sigma_old, rtol=1e-10, atol=1e-12)
    assert mu.dtype == sigma.dtype == np.float64


def test_numbers_depend_on_the_rows_not_on_how_they_were_batched():
    x = _features(n=777)
    a = _stream(x, [100] * 5, chunk_rows=50).mean_cov()
    b = _stream(x, [1, 2, 3, 49, 51, 200], chunk_rows=50).mean_cov()
    kept = _stream(x, [13, 300], chunk_rows=50, keep=True)
    c = kept.mean_cov()
    for t_a, t_b, t_c in zip(a, b, c, strict=True):
        assert torch.equal(t_a, t_b) and torch.equal(t_a, t_c)  # bitwise: the same fixed chunks
    assert torch.equal(kept.features(), torch.from_numpy(x)) and kept.features().dtype == torch.float32


def test_a_large_mean_does_not_cancel():
    # raw second moments (E[xxᵀ] − μμᵀ) lose ~8 digits here; the centred chunks do not
    x = _features(n=3000, d=6, offset=1e4, scale=1e-1).astype(np.float64)
    sigma = _stream(x, [500] * 4, chunk_rows=256).mean_cov()[1].numpy()
    np.testing.assert_allclose(sigma, np.cov(x, rowvar=False), rtol=1e-10, atol=1e-14)


def test_the_working_set_is_bounded_by_a_chunk():
    x = _features(n=5000, d=4)
    acc = FeatureStatistics(chunk_rows=128)
    for start in range(0, 5000, 100):
        acc.add(x[start : start + 100])
        assert acc._pending < 128 + 100 and sum(len(r) for r in acc._rows) == acc._pending
    assert acc.n == 5000 and acc._folded > 4800


def test_errors():
    acc = FeatureStatistics(name="fake_features").add(_features(n=1))
    with pytest.raises(SourceError, match="fake_features: needs at least 2 samples, got 1"):
        acc.mean_cov()
    with pytest.raises(SourceError, match="a batch has 5 dimensions, earlier ones 12"):
        acc.add(_features(n=3, d=5))
    bad = _features(n=4)
    bad[2, 1] = np.nan
    with pytest.raises(SourceError, match="fake_features: contains NaN or inf \\(1 rows"):
        FeatureStatistics(name="fake_features").add(bad)
    with pytest.raises(ValueError, match="not kept"):
        FeatureStatistics().add(_features(n=3)).features()


# --- the extraction loop ---------------------------------------------------------------------


def _images(n, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 1, 2, 3), dtype=torch.uint8, generator=gen)


def test_extract_takes_the_first_n_and_streams_or_keeps():
    x = _images(50)
    batches = [(x[i : i + 16], torch.arange(i, min(i + 16, 50)) % 4) for i in range(0, 50, 16)]
    kept = extract_features(IdentityExtractor(), batches, "t", 40, preview=5, keep_logits=True)
    assert kept.n == 40 and kept.features.shape == (40, 6) and torch.equal(kept.labels, torch.arange(40) % 4)
    assert torch.equal(kept.preview, x[:5])
    streamed = extract_features(IdentityExtractor(), [b for b, _ in batches], "t", 40, keep_features=False)
    assert streamed.features is None and streamed.labels is None
    for a, b in zip(kept.stats.mean_cov(), streamed.stats.mean_cov(), strict=True):
        assert torch.equal(a, b)
    mu, _ = _old(x[:40].reshape(40, -1).numpy())
    np.testing.assert_allclose(streamed.stats.mean_cov()[0].numpy(), mu, rtol=1e-12)


def test_extract_errors_name_the_source():
    x = _images(20)
    with pytest.raises(SourceError, match="ref: asked for n=30 images, the source gave only 20"):
        extract_features(IdentityExtractor(), [x[:10], x[10:]], "ref", 30)
    with pytest.raises(SourceError, match="ref: some batches came with labels and some without"):
        extract_features(IdentityExtractor(), [(x[:10], torch.zeros(10, dtype=torch.long)), x[10:]], "ref")
    with pytest.raises(SourceError, match="ref: labels: labels must be integers"):
        extract_features(IdentityExtractor(), [(x, torch.zeros(20))], "ref")


def test_the_low_level_functions_import_from_one_place():
    import ganbench.evaluation.prdc as prdc_module
    from ganbench.evaluation.functional import (
        FeatureStatistics as FS,
    )
    from ganbench.evaluation.functional import (
        feature_statistics,
        fid_from_features,
        frechet_distance,
        inception_score,
        intra_fid,
        kernel_inception_distance,
        prdc,
        reference_statistics,
    )

    x, y = _features(n=60, d=4, seed=1), _features(n=60, d=4, seed=2) * 1.1
    assert FS is FeatureStatistics and callable(reference_statistics)
    assert fid_from_features(x, y) == pytest.approx(
        frechet_distance(*feature_statistics(x), *feature_statistics(y))
    )
    assert prdc is prdc_module.prdc and prdc(x, y) == prdc_module.prdc(x, y)
    import ganbench.evaluation.inception_score as is_module
    import ganbench.evaluation.intra_fid as intra_module

    assert inception_score(x, splits=2) == is_module.inception_score(x, splits=2)
    labels = np.arange(60) % 2
    assert (
        intra_fid(x, labels, y, labels)["intra_fid"]
        == intra_module.intra_fid(x, labels, y, labels)["intra_fid"]
    )
    assert kernel_inception_distance(x, y, num_subsets=3)["kid_subsets"] == 3.0
