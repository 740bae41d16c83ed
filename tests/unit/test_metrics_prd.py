"""PRD (Sajjadi et al. 2018) against a transcription of the authors' prd_score.py (not on the package
index): the same MiniBatchKMeans calls on the same union, seeded with the run states ganbench draws
(the reference's k-means is unseeded; seeding it is the transcription's one change), and known
cases."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ganbench import registries as R
from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation.inputs import EvalInputs
from ganbench.evaluation.metric import output_info
from ganbench.evaluation.prd import prd, prd_curve

sklearn_cluster = pytest.importorskip("sklearn.cluster")


# --- the reference, transcribed (compute_prd, _cluster_into_bins, compute_prd_from_embedding,
# _prd_to_f_beta, prd_to_max_f_beta_pair), k-means given a random_state per run
def ref_compute_prd(eval_dist, ref_dist, num_angles=1001, epsilon=1e-10):
    angles = np.linspace(epsilon, np.pi / 2 - epsilon, num=num_angles)
    slopes = np.tan(angles)
    slopes_2d = np.expand_dims(slopes, 1)
    ref_dist_2d = np.expand_dims(ref_dist, 0)
    eval_dist_2d = np.expand_dims(eval_dist, 0)
    precision = np.minimum(ref_dist_2d * slopes_2d, eval_dist_2d).sum(axis=1)
    recall = precision / slopes
    return precision, recall


def ref_cluster_into_bins(eval_data, ref_data, num_clusters, random_state):
    cluster_data = np.vstack([eval_data, ref_data])
    kmeans = sklearn_cluster.MiniBatchKMeans(n_clusters=num_clusters, n_init=10, random_state=random_state)
    labels = kmeans.fit(cluster_data).labels_
    eval_labels = labels[: len(eval_data)]
    ref_labels = labels[len(eval_data) :]
    eval_bins = np.histogram(eval_labels, bins=num_clusters, range=[0, num_clusters], density=True)[0]
    ref_bins = np.histogram(ref_labels, bins=num_clusters, range=[0, num_clusters], density=True)[0]
    return eval_bins, ref_bins


def ref_compute_prd_from_embedding(eval_data, ref_data, states, num_clusters=20, num_angles=1001):
    assert len(eval_data) == len(ref_data)  # enforce_balance
    eval_data = np.array(eval_data, dtype=np.float64)
    ref_data = np.array(ref_data, dtype=np.float64)
    precisions, recalls = [], []
    for state in states:
        eval_dist, ref_dist = ref_cluster_into_bins(eval_data, ref_data, num_clusters, int(state))
        precision, recall = ref_compute_prd(eval_dist, ref_dist, num_angles)
        precisions.append(precision)
        recalls.append(recall)
    return np.mean(precisions, axis=0), np.mean(recalls, axis=0)


def ref_prd_to_f_beta(precision, recall, beta=1, epsilon=1e-10):
    return (1 + beta**2) * (precision * recall) / ((beta**2 * precision) + recall + epsilon)


def ref_prd_to_max_f_beta_pair(precision, recall, beta=8):
    f_beta = np.max(ref_prd_to_f_beta(precision, recall, beta))
    f_beta_inv = np.max(ref_prd_to_f_beta(precision, recall, 1 / beta))
    return f_beta, f_beta_inv


def _states(seed: int, runs: int) -> np.ndarray:
    # ganbench's documented seeding for balanced sets: the run states are the first draw
    return np.random.default_rng(seed).integers(0, 2**31 - 1, size=runs)


def _mixture(n: int, d: int, modes: list[int], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(123).normal(size=(10, d)) * 6
    return centres[rng.choice(modes, n)] + rng.normal(size=(n, d))


@pytest.mark.parametrize(
    ("n", "d", "clusters", "angles", "runs", "seed"),
    [(200, 8, 20, 1001, 10, 0), (300, 16, 5, 101, 3, 7), (120, 64, 20, 1001, 2, 3)],
)
def test_equals_the_reference_transcription(n, d, clusters, angles, runs, seed):
    real = _mixture(n, d, list(range(10)), seed)
    fake = _mixture(n, d, [0, 1, 2, 3, 4, 5], seed + 100) * 1.1
    got = prd(real, fake, clusters, angles, runs, seed=seed)
    precision, recall = ref_compute_prd_from_embedding(fake, real, _states(seed, runs), clusters, angles)
    np.testing.assert_allclose(got["precision"], precision, rtol=1e-12, atol=0)
    np.testing.assert_allclose(got["recall"], recall, rtol=1e-12, atol=0)
    f8, f1_8 = ref_prd_to_max_f_beta_pair(precision, recall)
    assert got["f_beta"] == pytest.approx(f8, rel=1e-12)
    assert got["f_beta_inv"] == pytest.approx(f1_8, rel=1e-12)


def test_curve_of_known_histograms():
    q = np.array([0.5, 0.5, 0.0])
    p = np.array([0.5, 0.0, 0.5])
    precision, recall = prd_curve(p, q, 1001)
    ref_p, ref_r = ref_compute_prd(p, q)
    np.testing.assert_array_equal(precision, ref_p)
    np.testing.assert_array_equal(recall, ref_r)
    # α(λ) = Σ min(λ qₖ, pₖ) = min(λ/2, 1/2): at λ = 1 precision = recall = 1/2
    assert precision[500] == pytest.approx(0.5) and recall[500] == pytest.approx(0.5)


def test_identical_and_disjoint_distributions():
    real = _mixture(600, 8, list(range(10)), 1)
    same = prd(real, real.copy(), num_runs=2)
    assert same["f_beta"] == pytest.approx(1.0, abs=1e-6)
    assert same["f_beta_inv"] == pytest.approx(1.0, abs=1e-6)
    also = prd(real, _mixture(600, 8, list(range(10)), 2), num_runs=2)  # fresh draws, same law
    assert also["f_beta"] > 0.9 and also["f_beta_inv"] > 0.9
    far = prd(real, real + 1000.0, num_runs=2)
    assert far["f_beta"] == pytest.approx(0.0, abs=1e-6) and far["f_beta_inv"] == pytest.approx(0.0, abs=1e-6)


def test_mode_dropping_is_low_recall_high_precision():
    real = _mixture(1000, 8, list(range(10)), 4)
    half = _mixture(1000, 8, [0, 1, 2, 3, 4], 5)  # half the modes, each of them well
    res = prd(real, half, num_runs=3)
    assert res["f_beta_inv"] > 0.9  # F_1/8: precision-like, the fakes are all on real modes
    assert res["f_beta"] < 0.6  # F_8: recall-like, half the real mass is missed


def test_balance_subsamples_the_larger_set_seeded():
    real = _mixture(500, 8, list(range(10)), 6)
    fake = _mixture(300, 8, list(range(10)), 7)
    a = prd(real, fake, num_runs=2, seed=1)
    assert (a["n_real"], a["n_fake"]) == (300, 300)
    b = prd(real, fake, num_runs=2, seed=1)
    np.testing.assert_array_equal(a["precision"], b["precision"])  # the same subset, the same k-means
    c = prd(real, fake, num_runs=2, balance=False)
    assert (c["n_real"], c["n_fake"]) == (500, 300)


def test_registered_metric_and_errors():
    R.load_all()
    metric = R.METRICS.get("prd")
    assert metric.needs == {"fake_features", "real_features"} and metric.data_kind == "images"
    assert metric.min_samples({}) == 20 and metric.min_samples({"num_clusters": 5}) == 5
    real, fake = _mixture(100, 8, list(range(10)), 8), _mixture(100, 8, [0, 1], 9)
    out = metric(
        EvalInputs(real_features=torch.as_tensor(real), fake_features=torch.as_tensor(fake), seed=3),
        num_runs=2,
    )
    assert set(out) == {"prd_f8", "prd_f1_8", "prd_precision", "prd_recall", "prd_n_real", "prd_n_fake"}
    assert len(out["prd_precision"]) == len(out["prd_recall"]) == 1001
    json.dumps(out)  # the curve is plain floats: it goes into the JSON record as it is
    direct = prd(real, fake, num_runs=2, seed=3)
    assert out["prd_f8"] == direct["f_beta"] and out["prd_f1_8"] == direct["f_beta_inv"]
    assert output_info("prd_f8").better == "higher" and output_info("prd_f1_8").role == "score"
    assert output_info("prd_precision").role == "detail" and output_info("prd_n_real").role == "setting"
    with pytest.raises(ConfigError, match="unknown parameter"):
        metric.check_params({"beta": 2}, "eval.metric_params.prd")
    with pytest.raises(SourceError, match="needs at least num_clusters=20 fake samples, got 10"):
        prd(real, fake[:10])
    with pytest.raises(ConfigError, match="num_angles must be in"):
        prd(real, fake, num_angles=2)
    with pytest.raises(SourceError, match="feature dimensions differ"):
        prd(real, fake[:, :4])
