"""The registered image metrics: ``METRICS.get(name)(inputs, **params) -> dict[str, float]``.

Each declares its facts with :func:`ganbench.evaluation.metric.register_metric` (what it needs,
substitutes, minimum samples, the keys it writes and their direction). Parameters are keyword
arguments with defaults, so ``ganbench.schema.check_params`` can validate them from a recipe.
"""

from __future__ import annotations

from typing import Any

from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation import fid_infinity as _fid_inf
from ganbench.evaluation import frechet, inception_score, intra_fid, kid
from ganbench.evaluation import prdc as _prdc
from ganbench.evaluation.inputs import EvalInputs
from ganbench.evaluation.metric import Output, register_metric

_REAL_STATS = {"real_stats": "real_features"}  # cached statistics, or computed from the features


def _prdc_min_samples(params: dict[str, Any]) -> int:
    """k + 1 points for a k-th-neighbour radius that excludes the point itself."""
    return max(int(params.get("k_pr", 3)), int(params.get("k_dc", 5))) + 1


def _is_min_samples(params: dict[str, Any]) -> int:
    return max(2, int(params.get("splits", 10)))


def _real_stats(inputs: EvalInputs):
    if inputs.real_stats is not None:
        return inputs.real_stats
    return frechet.feature_statistics(inputs.real_features, "real_features")


@register_metric(
    "fid",
    {"fake_features", "real_stats"},
    [Output("fid", "lower", rank_priority=1)],
    substitutes=_REAL_STATS,
    order=20,
)
def fid_metric(inputs: EvalInputs) -> dict[str, float]:
    """Fréchet distance of fake features to the real statistics (cached ``real_stats`` preferred)."""
    mu_r, sigma_r = _real_stats(inputs)
    mu_f, sigma_f = frechet.feature_statistics(inputs.fake_features, "fake_features")
    if len(mu_f) != len(mu_r):
        raise SourceError(f"fid: fake_features have {len(mu_f)} dimensions, the real statistics {len(mu_r)}")
    return {"fid": frechet.frechet_distance(mu_r, sigma_r, mu_f, sigma_f)}


@register_metric(
    "kid",
    {"fake_features", "real_features"},
    [
        Output("kid", "lower", rank_priority=5),
        Output("kid_std", "lower", role="setting"),
        Output("kid_subset_size", role="setting"),
    ],
    order=30,
)
def kid_metric(inputs: EvalInputs, num_subsets: int = 100, max_subset_size: int = 1000) -> dict[str, float]:
    """KID mean/std over ``num_subsets`` subsets of size min(N, M, max_subset_size), seeded."""
    res = kid.kernel_inception_distance(
        inputs.real_features, inputs.fake_features, num_subsets, max_subset_size, seed=inputs.seed
    )
    return {"kid": res["kid_mean"], "kid_std": res["kid_std"], "kid_subset_size": res["kid_subset_size"]}


@register_metric(
    "is",
    {"fake_logits"},
    [
        Output("is", "higher", rank_priority=6),
        Output("is_std", role="setting"),
        Output("is_splits", role="setting"),
    ],
    order=40,
    min_samples=_is_min_samples,
)
def is_metric(inputs: EvalInputs, splits: int = 10) -> dict[str, float]:
    """Inception Score of the fake logits over ``splits`` contiguous splits."""
    res = inception_score.inception_score(inputs.fake_logits, splits)
    return {"is": res["is_mean"], "is_std": res["is_std"], "is_splits": res["is_splits"]}


@register_metric(
    "prdc",
    {"fake_features", "real_features"},
    [
        *(Output(k, "higher") for k in ("precision", "recall", "density", "coverage")),
        *(Output(k, role="setting") for k in ("pr_k", "dc_k", "pr_inclusive")),
    ],
    order=50,
    min_samples=_prdc_min_samples,
    bootstrap=(
        "resampling with replacement duplicates samples, which changes k-NN radii and counts: the"
        " interval would not be centred on the estimate"
    ),
)
def prdc_metric(
    inputs: EvalInputs,
    k_pr: int = 3,
    k_dc: int = 5,
    pr_inclusive: bool = True,
    max_block_bytes: int = _prdc.DEFAULT_MAX_BLOCK_BYTES,
) -> dict[str, float]:
    """Precision/recall (k_pr, ≤ when pr_inclusive) and density/coverage (k_dc, <), real vs fake."""
    return _prdc.prdc(inputs.real_features, inputs.fake_features, k_pr, k_dc, pr_inclusive, max_block_bytes)


@register_metric(
    "intra_fid",
    {"fake_features", "real_features", "fake_labels", "real_labels"},
    [Output("intra_fid", "lower", rank_priority=4), Output("intra_fid_class_*", "lower", role="detail")],
    order=60,
)
def intra_fid_metric(inputs: EvalInputs) -> dict[str, float]:
    """Mean per-class FID; per-class values as ``intra_fid_class_<label>``."""
    res = intra_fid.intra_fid(
        inputs.real_features, inputs.real_labels, inputs.fake_features, inputs.fake_labels
    )
    out = {"intra_fid": res["intra_fid"]}
    out.update({f"intra_fid_class_{c}": v for c, v in res["per_class"].items()})
    return out


@register_metric(
    "fid_infinity",
    {"fake_features", "real_stats"},
    [
        Output("fid_infinity", "lower"),
        *(Output(f"fid_infinity_{k}", role="setting") for k in ("slope", "min_n", "max_n", "points")),
    ],
    substitutes=_REAL_STATS,
    order=70,
    bootstrap=(
        "FID-infinity already subsamples the generated set to extrapolate; a bootstrap around it "
        "is not defined"
    ),
)
def fid_infinity_metric(
    inputs: EvalInputs, num_points: int = 15, min_samples: int = 5000
) -> dict[str, float]:
    """FID extrapolated to infinitely many fake samples; real statistics fixed, fakes subsampled."""
    if num_points < 2:
        raise ConfigError(f"fid_infinity: num_points must be >= 2, got {num_points}")
    res = _fid_inf.fid_infinity(
        inputs.fake_features, _real_stats(inputs), num_points, min_samples, inputs.seed
    )
    return {
        "fid_infinity": res["fid_infinity"],
        "fid_infinity_slope": res["slope"],
        "fid_infinity_min_n": float(res["counts"][0]),
        "fid_infinity_max_n": float(res["counts"][-1]),
        "fid_infinity_points": float(len(res["counts"])),
    }
