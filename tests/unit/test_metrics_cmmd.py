"""CMMD against the reference's formula (google-research/cmmd distance.py is JAX code, not on the
package index): a direct numpy transcription of its ``mmd`` (full kernel matrices, biased estimator,
diagonals included, σ = 10, ×1000) on small inputs, values derived by hand, and invariances."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganbench import registries as R
from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation import cmmd as cmmd_mod
from ganbench.evaluation.cmmd import cmmd
from ganbench.evaluation.inputs import EvalInputs
from ganbench.evaluation.metric import output_info


def reference_mmd(x: np.ndarray, y: np.ndarray, sigma: float = 10.0, scale: float = 1000.0) -> float:
    """The reference's mmd(x, y) transcribed to numpy float64 (same operations, no blocks)."""
    x_sq = np.diag(x @ x.T)
    y_sq = np.diag(y @ y.T)
    gamma = 1 / (2 * sigma**2)
    k_xx = np.mean(np.exp(-gamma * (-2 * x @ x.T + x_sq[:, None] + x_sq[None, :])))
    k_xy = np.mean(np.exp(-gamma * (-2 * x @ y.T + x_sq[:, None] + y_sq[None, :])))
    k_yy = np.mean(np.exp(-gamma * (-2 * y @ y.T + y_sq[:, None] + y_sq[None, :])))
    return scale * (k_xx + k_yy - 2 * k_xy)


def _unit(n: int, d: int, seed: int, shift: float = 0.0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, d)) + shift
    return x / np.linalg.norm(x, axis=1, keepdims=True)  # CLIP embeddings are L2-normalised


@pytest.mark.parametrize(("n", "m", "d"), [(50, 50, 8), (120, 80, 64), (37, 211, 768)])
def test_equals_the_reference_transcription(n, m, d):
    x, y = _unit(n, d, 0), _unit(m, d, 1, shift=0.3)
    assert cmmd(x, y) == pytest.approx(reference_mmd(x, y), rel=1e-10, abs=1e-12)
    # unnormalised features and another bandwidth: the formula is generic
    xr, yr = np.random.default_rng(2).normal(size=(n, d)), np.random.default_rng(3).normal(size=(m, d)) * 2
    assert cmmd(xr, yr, sigma=3.0) == pytest.approx(reference_mmd(xr, yr, sigma=3.0), rel=1e-10)


def test_blocks_do_not_change_the_value(monkeypatch):
    x, y = _unit(300, 16, 4), _unit(260, 16, 5, shift=0.2)
    whole = cmmd(x, y)
    monkeypatch.setattr(cmmd_mod, "BLOCK_ELEMENTS", 997)  # blocks of 3 rows
    assert cmmd(x, y) == pytest.approx(whole, rel=1e-12)


def test_hand_derived_values():
    # point masses: CMMD = 1000 · (1 + 1 − 2 exp(−‖a − b‖² / 200))
    a, b = np.zeros((4, 3)), np.zeros((6, 3))
    b[:, 0] = 2.0
    assert cmmd(a, b) == pytest.approx(1000 * (2 - 2 * math.exp(-4 / 200)), rel=1e-12)
    # two points against one: x = {0, e₁}, y = {e₂}; ‖e₁ − e₂‖² = 2
    x = np.array([[0.0, 0.0], [1.0, 0.0]])
    y = np.array([[0.0, 1.0]])
    k = lambda d2: math.exp(-d2 / 200)  # noqa: E731
    k_xx = (1 + k(1) + k(1) + 1) / 4  # diagonal included: the biased estimator
    k_yy = 1.0
    k_xy = (k(1) + k(2)) / 2
    assert cmmd(x, y) == pytest.approx(1000 * (k_xx + k_yy - 2 * k_xy), rel=1e-12)


def test_invariances():
    x, y = _unit(100, 32, 6), _unit(90, 32, 7, shift=0.5)
    assert cmmd(x, x) == 0.0  # the same kernel sums, bit for bit
    assert cmmd(x, y) == pytest.approx(cmmd(y, x), rel=1e-12)
    assert cmmd(x, y) > 0
    # a larger shift of the same distribution is farther
    assert cmmd(x, _unit(90, 32, 7, shift=1.0)) > cmmd(x, _unit(90, 32, 7, shift=0.2)) > 0
    # translation invariance of the RBF kernel
    assert cmmd(x + 3.0, y + 3.0) == pytest.approx(cmmd(x, y), rel=1e-9)
    # torch float32 input, numpy float64 input: computed in float64 either way
    assert cmmd(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)) == (
        pytest.approx(cmmd(x.astype(np.float32), y.astype(np.float32)), rel=1e-12)
    )


def test_normalize_option():
    x = np.random.default_rng(8).normal(size=(40, 5)) * 7
    y = np.random.default_rng(9).normal(size=(30, 5)) * 3
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    yn = y / np.linalg.norm(y, axis=1, keepdims=True)
    assert cmmd(x, y, normalize=True) == pytest.approx(reference_mmd(xn, yn), rel=1e-10)
    assert cmmd(xn, yn, normalize=True) == pytest.approx(cmmd(xn, yn), rel=1e-10)  # idempotent


def test_registered_metric_and_errors():
    R.load_all()
    metric = R.METRICS.get("cmmd")
    assert metric.needs == {"fake_features", "real_features"} and metric.data_kind == "images"
    x, y = _unit(30, 8, 10), _unit(20, 8, 11, shift=0.3)
    out = metric(EvalInputs(real_features=torch.as_tensor(x), fake_features=torch.as_tensor(y)))
    assert out == {"cmmd": pytest.approx(reference_mmd(x, y), rel=1e-10)}
    assert output_info("cmmd").better == "lower" and output_info("cmmd").role == "score"
    assert metric.check_params({"sigma": 5.0}, "eval.metric_params.cmmd") == {"sigma": 5.0}
    with pytest.raises(ConfigError, match="unknown parameter"):
        metric.check_params({"bandwidth": 5.0}, "eval.metric_params.cmmd")
    with pytest.raises(ConfigError, match="sigma must be > 0"):
        cmmd(x, y, sigma=0.0)
    with pytest.raises(SourceError, match="feature dimensions differ"):
        cmmd(x, _unit(5, 4, 0))
    with pytest.raises(SourceError, match="metric 'cmmd' needs real_features"):
        metric(EvalInputs(fake_features=torch.as_tensor(y)))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_equals_cpu():
    x, y = _unit(500, 64, 12), _unit(400, 64, 13, shift=0.2)
    gpu = cmmd(torch.as_tensor(x).cuda(), torch.as_tensor(y).cuda())
    assert gpu == pytest.approx(cmmd(x, y), rel=1e-9)
