"""Vendi score against the ``vendi-score`` package (a test dependency) on the same features."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganbench import registries as R
from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation import vendi as vendi_mod
from ganbench.evaluation.inputs import EvalInputs
from ganbench.evaluation.metric import output_info
from ganbench.evaluation.vendi import vendi_score

vendi = pytest.importorskip("vendi_score.vendi")


def _features(n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(5, d)) * 3
    return centres[rng.integers(0, 5, n)] + rng.normal(size=(n, d))


@pytest.mark.parametrize(("n", "d"), [(200, 16), (300, 64), (40, 128), (64, 64), (1000, 2048)])
def test_equals_the_package(n, d):
    x = _features(n, d, n + d)
    got = vendi_score(x)
    assert got == pytest.approx(vendi.score_X(x), rel=1e-9)  # n × n kernel, q = 1
    assert got == pytest.approx(vendi.score_dual(x), rel=1e-9)  # d × d Gram
    assert got == pytest.approx(vendi_score(torch.as_tensor(x, dtype=torch.float32)), rel=1e-5)


@pytest.mark.parametrize("q", [0.5, 2.0, math.inf])
@pytest.mark.parametrize(("n", "d"), [(150, 32), (40, 64)])
def test_other_orders_equal_the_package(q, n, d):
    """score_X ignores its q (it passes q=1 on), so the package's kernel route ``score_K`` is the
    reference: on the n × n kernel when n <= d, and on the d × d Gram X̂ᵀX̂ (scaled so that the
    package's division by its size gives X̂ᵀX̂ / n) when n > d, which is what ganbench diagonalises.
    (With q < 1 the package's n × n route also counts the rounding-noise eigenvalues of the null
    space, ~1e-17 each: 1e-7 relative at q = 0.5 for 150 × 32 features.)"""
    x = _features(n, d, 3)
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    kernel = xn @ xn.T if n <= d else (xn.T @ xn) * d / n
    want = vendi.score_K(kernel, q="inf" if math.isinf(q) else q)
    assert vendi_score(x, q=q) == pytest.approx(want, rel=1e-9)
    if q != 0.5:  # q >= 1 weighs noise eigenvalues by λ^q: the n × n kernel agrees too
        assert vendi_score(x, q=q) == pytest.approx(
            vendi.score_K(xn @ xn.T, q="inf" if math.isinf(q) else q), rel=1e-9
        )


def test_chunks_do_not_change_the_value(monkeypatch):
    x = _features(500, 8, 4)
    whole = vendi_score(x)
    monkeypatch.setattr(vendi_mod, "CHUNK_ROWS", 7)
    assert vendi_score(x) == pytest.approx(whole, rel=1e-12)


def test_known_values():
    eye = np.eye(10)
    assert vendi_score(eye) == pytest.approx(10.0, rel=1e-12)  # orthogonal: n distinct samples
    same = np.tile(np.array([[1.0, 2.0, 3.0]]), (50, 1))
    assert vendi_score(same) == pytest.approx(1.0, rel=1e-9)  # one sample repeated
    # two orthogonal directions, half the samples each: VS = 2; scale does not matter (cosine)
    two = np.vstack([np.tile([[3.0, 0.0]], (20, 1)), np.tile([[0.0, 0.5]], (20, 1))])
    assert vendi_score(two) == pytest.approx(2.0, rel=1e-9)


def test_registered_metric_and_errors():
    R.load_all()
    metric = R.METRICS.get("vendi")
    assert metric.needs == {"fake_features"} and metric.data_kind == "images"
    x = _features(60, 8, 5)
    assert metric(EvalInputs(fake_features=torch.as_tensor(x))) == {
        "vendi": pytest.approx(vendi.score_X(x), rel=1e-9)
    }
    assert output_info("vendi").better == "higher" and output_info("vendi").role == "score"
    assert metric.check_params({"q": 2.0}, "eval.metric_params.vendi") == {"q": 2.0}
    with pytest.raises(ConfigError, match="q must be >= 0"):
        vendi_score(x, q=-1.0)
    with pytest.raises(SourceError, match="metric 'vendi' needs fake_features"):
        metric(EvalInputs())
    with pytest.raises(SourceError, match="NaN or inf"):
        vendi_score(np.full((4, 3), np.nan))
