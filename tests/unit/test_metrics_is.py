"""Inception Score against torch-fidelity's ``isc_features_to_metric`` with shuffling off."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation.inception_score import inception_score


@pytest.mark.parametrize("n,splits", [(1000, 10), (1003, 10), (257, 3), (50, 1)])
def test_is_matches_torch_fidelity(n, splits):
    from torch_fidelity.metric_isc import isc_features_to_metric

    logits = torch.randn(n, 1008, generator=torch.Generator().manual_seed(n)) * 4
    ours = inception_score(logits, splits=splits)
    ref = isc_features_to_metric(logits, splits=splits, shuffle=False)
    assert ours["is_mean"] == pytest.approx(ref["inception_score_mean"], rel=1e-12)
    assert ours["is_std"] == pytest.approx(ref["inception_score_std"], rel=1e-9, abs=1e-12)
    assert ours["is_splits"] == splits


def test_is_known_values():
    # identical predictions everywhere: p(y|x) = p(y), KL = 0, IS = 1
    assert inception_score(torch.zeros(100, 10))["is_mean"] == pytest.approx(1.0)
    # confident, evenly spread over C classes: IS -> C
    c = 10
    confident = torch.full((200, c), -50.0)
    confident[torch.arange(200), torch.arange(200) % c] = 50.0
    res = inception_score(confident, splits=4)
    assert res["is_mean"] == pytest.approx(c, rel=1e-9) and res["is_std"] == pytest.approx(0, abs=1e-9)
    # contiguous splits, no shuffling: a first half collapsed to one class scores 1 there
    collapsed = confident.clone()
    collapsed[:100] = confident[0]
    per_half = inception_score(collapsed, splits=2)
    assert per_half["is_mean"] == pytest.approx((1 + c) / 2, rel=1e-9)
    assert per_half["is_std"] == pytest.approx((c - 1) / 2, rel=1e-9)  # ddof = 0
    assert math.isfinite(
        inception_score(np.random.default_rng(0).standard_normal((30, 5)) * 1e3, 3)["is_mean"]
    )


def test_is_errors():
    with pytest.raises(SourceError, match="fake_logits: 5 samples cannot be cut into 10 splits"):
        inception_score(torch.randn(5, 10))
    with pytest.raises(ConfigError, match="splits must be a positive integer"):
        inception_score(torch.randn(50, 10), splits=0)
    bad = torch.randn(50, 10)
    bad[1, 1] = float("nan")
    with pytest.raises(SourceError, match="fake_logits: contains NaN or inf"):
        inception_score(bad)
    with pytest.raises(SourceError, match="fake_logits: expected a 2-D array"):
        inception_score(torch.randn(50))
