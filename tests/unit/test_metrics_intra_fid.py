"""Intra-FID: per-class FID against pytorch-fid on the class subsets, mean over classes, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from ganbench.errors import SourceError
from ganbench.evaluation.intra_fid import intra_fid


def _labelled(seed=0, d=12, classes=(0, 1, 4)):
    rng = np.random.default_rng(seed)
    real, yr, fake, yf = [], [], [], []
    for c in classes:
        centre = rng.standard_normal(d) * 2
        real.append(centre + rng.standard_normal((80 + 10 * c, d)))
        yr += [c] * (80 + 10 * c)
        fake.append(centre + 0.2 * c + rng.standard_normal((60, d)) * (1 + 0.1 * c))
        yf += [c] * 60
    return np.concatenate(real), np.array(yr), np.concatenate(fake), np.array(yf)


def test_intra_fid_matches_pytorch_fid_per_class():
    from pytorch_fid.fid_score import calculate_frechet_distance

    real, yr, fake, yf = _labelled()
    res = intra_fid(real, yr, fake, yf)
    assert sorted(res["per_class"]) == [0, 1, 4]
    for c, value in res["per_class"].items():
        a, b = real[yr == c], fake[yf == c]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # scipy sqrtm(disp=...) deprecation
            ref = calculate_frechet_distance(
                a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
            )
        assert value == pytest.approx(ref, rel=1e-6)
    assert res["intra_fid"] == pytest.approx(np.mean(list(res["per_class"].values())), rel=1e-12)
    # class 4 is shifted and scaled most: the largest per-class FID
    assert max(res["per_class"], key=res["per_class"].get) == 4
    # torch tensors in, same numbers
    t = intra_fid(torch.from_numpy(real), torch.from_numpy(yr), torch.from_numpy(fake), torch.from_numpy(yf))
    assert t["intra_fid"] == pytest.approx(res["intra_fid"], rel=1e-12)


def test_intra_fid_errors():
    real, yr, fake, yf = _labelled()
    yf_short = yf.copy()
    yf_short[yf == 1] = 0
    yf_short[np.flatnonzero(yf == 1)[0]] = 1  # one fake of class 1
    with pytest.raises(SourceError, match="class 1: 90 real, 1 fake"):
        intra_fid(real, yr, fake, yf_short)
    yf_stray = yf.copy()
    yf_stray[0] = 7
    with pytest.raises(
        SourceError, match=r"class\(es\) \[7\] that no real sample has; real classes: \[0, 1, 4\]"
    ):
        intra_fid(real, yr, fake, yf_stray)
    with pytest.raises(SourceError, match="real_labels: expected 290 labels"):
        intra_fid(real, yr[:-1], fake, yf)
    with pytest.raises(SourceError, match="fake_labels: labels must be integers"):
        intra_fid(real, yr, fake, yf.astype(float))
    yr_missing = yr.copy()
    yr_missing[yr == 4] = 0
    yr_missing[np.flatnonzero(yr == 4)[0]] = 4  # one real of class 4
    with pytest.raises(SourceError, match="class 4: 1 real, 60 fake"):
        intra_fid(real, yr_missing, fake, yf)
