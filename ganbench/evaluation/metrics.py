"""The registered metrics: ``METRICS.get(name)(inputs, **params) -> dict[str, float]``.

Each function declares in ``needs`` the EvalInputs fields it reads; a missing one raises
SourceError naming the metric and the field. ``alternatives`` maps a needed field to another field
that can stand in for it (FID computes the real statistics from ``real_features`` when no cached
``real_stats`` are given). Parameters are keyword arguments with defaults, so
``ganbench.config.check_params`` can validate them from a recipe.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation import fid_infinity as _fid_inf
from ganbench.evaluation import frechet, inception_score, intra_fid, kid
from ganbench.evaluation import prdc as _prdc
from ganbench.evaluation.inputs import EvalInputs
from ganbench.registries import METRICS

MetricFn = Callable[..., dict[str, float]]


def _metric(name: str, needs: set[str], alternatives: dict[str, str] | None = None):
    """Register ``fn`` under ``name``, checking its inputs before it runs."""
    alternatives = alternatives or {}
    unknown = (needs | set(alternatives.values())) - {f.name for f in dataclasses.fields(EvalInputs)}
    if unknown:
        raise ValueError(f"metric {name!r}: unknown EvalInputs field(s) {sorted(unknown)}")

    def register(fn: MetricFn) -> MetricFn:
        @functools.wraps(fn)
        def checked(inputs: EvalInputs, **params) -> dict[str, float]:
            missing = [
                f
                for f in sorted(needs)
                if getattr(inputs, f) is None
                and (f not in alternatives or getattr(inputs, alternatives[f]) is None)
            ]
            if missing:
                alt = [f"{f} (or {alternatives[f]})" if f in alternatives else f for f in missing]
                raise SourceError(f"metric {name!r} needs {', '.join(alt)}, which the evaluation inputs lack")
            return fn(inputs, **params)

        checked.needs = frozenset(needs)  # type: ignore[attr-defined]
        checked.alternatives = dict(alternatives)  # type: ignore[attr-defined]
        METRICS.register(name)(checked)
        return checked

    return register


def _real_stats(inputs: EvalInputs):
    if inputs.real_stats is not None:
        return inputs.real_stats
    return frechet.feature_statistics(inputs.real_features, "real_features")


@_metric("fid", {"fake_features", "real_stats"}, {"real_stats": "real_features"})
def fid_metric(inputs: EvalInputs) -> dict[str, float]:
    """Fréchet distance of fake features to the real statistics (cached ``real_stats`` preferred)."""
    mu_r, sigma_r = _real_stats(inputs)
    mu_f, sigma_f = frechet.feature_statistics(inputs.fake_features, "fake_features")
    if len(mu_f) != len(mu_r):
        raise SourceError(f"fid: fake_features have {len(mu_f)} dimensions, the real statistics {len(mu_r)}")
    return {"fid": frechet.frechet_distance(mu_r, sigma_r, mu_f, sigma_f)}


@_metric("kid", {"fake_features", "real_features"})
def kid_metric(inputs: EvalInputs, num_subsets: int = 100, max_subset_size: int = 1000) -> dict[str, float]:
    """KID mean/std over ``num_subsets`` subsets of size min(N, M, max_subset_size), seeded."""
    res = kid.kernel_inception_distance(
        inputs.real_features, inputs.fake_features, num_subsets, max_subset_size, seed=inputs.seed
    )
    return {"kid": res["kid_mean"], "kid_std": res["kid_std"], "kid_subset_size": res["kid_subset_size"]}


@_metric("is", {"fake_logits"})
def is_metric(inputs: EvalInputs, splits: int = 10) -> dict[str, float]:
    """Inception Score of the fake logits over ``splits`` contiguous splits."""
    res = inception_score.inception_score(inputs.fake_logits, splits)
    return {"is": res["is_mean"], "is_std": res["is_std"], "is_splits": res["is_splits"]}


@_metric("prdc", {"fake_features", "real_features"})
def prdc_metric(
    inputs: EvalInputs,
    k_pr: int = 3,
    k_dc: int = 5,
    pr_inclusive: bool = True,
    max_block_bytes: int = _prdc.DEFAULT_MAX_BLOCK_BYTES,
) -> dict[str, float]:
    """Precision/recall (k_pr, ≤ when pr_inclusive) and density/coverage (k_dc, <), real vs fake."""
    return _prdc.prdc(inputs.real_features, inputs.fake_features, k_pr, k_dc, pr_inclusive, max_block_bytes)


@_metric("intra_fid", {"fake_features", "real_features", "fake_labels", "real_labels"})
def intra_fid_metric(inputs: EvalInputs) -> dict[str, float]:
    """Mean per-class FID; per-class values as ``intra_fid_class_<label>``."""
    res = intra_fid.intra_fid(
        inputs.real_features, inputs.real_labels, inputs.fake_features, inputs.fake_labels
    )
    out = {"intra_fid": res["intra_fid"]}
    out.update({f"intra_fid_class_{c}": v for c, v in res["per_class"].items()})
    return out


@_metric("fid_infinity", {"fake_features", "real_stats"}, {"real_stats": "real_features"})
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
