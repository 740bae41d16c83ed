"""Precision and recall for distributions (PRD, Sajjadi et al. 2018), as the authors' ``prd_score.py``
(msmsajjadi/precision-recall-distributions, from google/compare_gan) computes it from embeddings.

Per run r = 1..R (R = 10):
    cluster the union [fake; real] into K = 20 clusters (scikit-learn ``MiniBatchKMeans``, n_init=10)
    p = histogram of the fake points over the clusters, q = that of the real points (each sums to 1)
    for the A = 1001 angles θ = linspace(ε, π/2 − ε, A), ε = 1e-10, λ = tan θ:
        α(λ) = Σₖ min(λ qₖ, pₖ)   (precision),   β(λ) = α(λ) / λ   (recall)
precision, recall = the means of α, β over the runs;
F_b(α, β) = (1 + b²) α β / (b² α + β + 1e-10),  prd_f8 = max F_8 (recall-like),  prd_f1_8 = max F_1/8
(precision-like), the maxima over the averaged curve.

Differences from the reference, each visible in the record or the docs: the reference's k-means is
unseeded, ganbench seeds each run from the evaluation seed (``random_state``); the reference refuses
sets of different sizes (``enforce_balance``), ganbench by default draws a seeded subset of the
larger set without replacement so both have min(N, M) points (``balance: false`` clusters all
points, the reference's ``enforce_balance=False``); the counts clustered are recorded as
``prd_n_real`` / ``prd_n_fake``. MiniBatchKMeans' other settings are scikit-learn's current defaults
(batch_size 1024 since 1.2; 100 when the reference was written).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation.arrays import ArrayLike, as_features, same_dims
from ganbench.evaluation.inputs import EvalInputs
from ganbench.evaluation.metric import Output, register_metric

NUM_CLUSTERS = 20
NUM_ANGLES = 1001
NUM_RUNS = 10
BETA = 8.0  # F_8 and F_1/8: the reference's prd_to_max_f_beta_pair default
EPSILON = 1e-10  # the reference's angle margin and F-score guard
# the record keys of the averaged curve (lists of num_angles floats): the leaderboard's PRD figure
PRECISION_KEY, RECALL_KEY = "prd_precision", "prd_recall"


def prd_curve(
    fake_hist: np.ndarray, real_hist: np.ndarray, num_angles: int = NUM_ANGLES
) -> tuple[np.ndarray, np.ndarray]:
    """(precision α, recall β) over ``num_angles`` slopes for two histograms on the same bins."""
    if not 3 <= num_angles <= 1_000_000:
        raise ConfigError(f"prd: num_angles must be in [3, 1e6], got {num_angles}")
    slopes = np.tan(np.linspace(EPSILON, np.pi / 2 - EPSILON, num=num_angles))
    precision = np.minimum(np.asarray(real_hist)[None, :] * slopes[:, None], np.asarray(fake_hist)[None, :])
    precision = precision.sum(axis=1)
    return precision, precision / slopes


def max_f_beta(precision: np.ndarray, recall: np.ndarray, beta: float) -> float:
    """max over the curve of F_β = (1 + β²) α β / (β² α + β + ε)."""
    return float(np.max((1 + beta**2) * precision * recall / (beta**2 * precision + recall + EPSILON)))


def _histograms(labels: np.ndarray, n_fake: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    # fractions per cluster: the reference's np.histogram(..., density=True) on unit-width bins
    fake = np.bincount(labels[:n_fake], minlength=k) / n_fake
    real = np.bincount(labels[n_fake:], minlength=k) / (len(labels) - n_fake)
    return fake, real


def prd(
    real: ArrayLike,
    fake: ArrayLike,
    num_clusters: int = NUM_CLUSTERS,
    num_angles: int = NUM_ANGLES,
    num_runs: int = NUM_RUNS,
    balance: bool = True,
    seed: int = 0,
) -> dict[str, Any]:
    """The averaged PRD curve of fake vs real features and its F_8 / F_1/8 (see the module docstring)."""
    # scikit-learn is the reference's clustering; imported here because it is needed by PRD alone
    from sklearn.cluster import MiniBatchKMeans

    if num_clusters < 1 or num_runs < 1:
        raise ConfigError(f"prd: num_clusters and num_runs must be >= 1, got {num_clusters}, {num_runs}")
    xt, yt = as_features(real, "real_features"), as_features(fake, "fake_features")
    same_dims(xt, yt, "real_features", "fake_features")
    x, y = xt.cpu().double().numpy(), yt.cpu().double().numpy()  # float64, as the reference
    for name, data in (("real", x), ("fake", y)):
        if len(data) < num_clusters:
            raise SourceError(
                f"prd: needs at least num_clusters={num_clusters} {name} samples, got {len(data)}"
            )
    rng = np.random.default_rng(seed)
    if balance and len(x) != len(y):  # unbalanced sets bias the clustering towards the larger one
        m = min(len(x), len(y))
        x = x[np.sort(rng.choice(len(x), m, replace=False))] if len(x) > m else x
        y = y[np.sort(rng.choice(len(y), m, replace=False))] if len(y) > m else y
    states = rng.integers(0, 2**31 - 1, size=num_runs)
    data = np.vstack([y, x])  # the reference's order: evaluated (fake) points first
    precisions, recalls = [], []
    for state in states:
        kmeans = MiniBatchKMeans(n_clusters=num_clusters, n_init=10, random_state=int(state))
        fake_hist, real_hist = _histograms(kmeans.fit(data).labels_, len(y), num_clusters)
        p, r = prd_curve(fake_hist, real_hist, num_angles)
        precisions.append(p)
        recalls.append(r)
    precision, recall = np.mean(precisions, axis=0), np.mean(recalls, axis=0)
    return {
        "precision": precision,
        "recall": recall,
        "f_beta": max_f_beta(precision, recall, BETA),
        "f_beta_inv": max_f_beta(precision, recall, 1 / BETA),
        "n_real": len(x),
        "n_fake": len(y),
    }


@register_metric(
    "prd",
    {"fake_features", "real_features"},
    [
        Output("prd_f8", "higher", display="PRD F8 (recall)"),
        Output("prd_f1_8", "higher", display="PRD F1/8 (precision)"),
        # the averaged curve, for a PRD figure: lists of num_angles floats, not a table column
        Output(PRECISION_KEY, role="detail"),
        Output(RECALL_KEY, role="detail"),
        Output("prd_n_real", role="setting"),
        Output("prd_n_fake", role="setting"),
    ],
    order=74,
    min_samples=lambda params: int(params.get("num_clusters", NUM_CLUSTERS)),
    bootstrap=("k-means on every resample costs minutes per evaluation"),
)
def prd_metric(
    inputs: EvalInputs,
    num_clusters: int = NUM_CLUSTERS,
    num_angles: int = NUM_ANGLES,
    num_runs: int = NUM_RUNS,
    balance: bool = True,
) -> dict[str, Any]:
    """PRD of fake vs real features: F_8 / F_1/8 as scores, the curve as detail lists."""
    res = prd(
        inputs.real_features, inputs.fake_features, num_clusters, num_angles, num_runs, balance, inputs.seed
    )
    return {
        "prd_f8": res["f_beta"],
        "prd_f1_8": res["f_beta_inv"],
        PRECISION_KEY: [float(v) for v in res["precision"]],
        RECALL_KEY: [float(v) for v in res["recall"]],
        "prd_n_real": float(res["n_real"]),
        "prd_n_fake": float(res["n_fake"]),
    }
