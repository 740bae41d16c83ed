"""The registered metrics: names, ``needs``, input checks, parameters and output keys."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganbench import registries as R
from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation.frechet import feature_statistics, fid_from_features, frechet_distance
from ganbench.evaluation.inputs import EvalInputs

R.load_all()

NEEDS = {
    "fid": {"fake_features", "real_stats"},
    "kid": {"fake_features", "real_features"},
    "is": {"fake_logits"},
    "prdc": {"fake_features", "real_features"},
    "intra_fid": {"fake_features", "real_features", "fake_labels", "real_labels"},
    "fid_infinity": {"fake_features", "real_stats"},
}


def _inputs(**kw) -> EvalInputs:
    g = torch.Generator().manual_seed(0)
    real = torch.randn(120, 6, generator=g)
    fake = torch.randn(100, 6, generator=g) * 1.2 + 0.3
    base = dict(
        real_features=real,
        fake_features=fake,
        real_stats=feature_statistics(real),
        fake_logits=torch.randn(100, 10, generator=g),
        real_labels=torch.arange(120) % 3,
        fake_labels=torch.arange(100) % 3,
        seed=5,
    )
    base.update(kw)
    return EvalInputs(**base)


@pytest.mark.parametrize("name", sorted(NEEDS))
def test_registered_with_needs_and_missing_input_errors(name):
    fn = R.METRICS.get(name)
    assert set(fn.needs) == NEEDS[name]
    for field in sorted(NEEDS[name]):
        blank = {field: None}
        if field == "real_stats":
            blank["real_features"] = None  # real_features would stand in for the cached stats
        with pytest.raises(SourceError, match=f"metric '{name}' needs {field}"):
            fn(_inputs(**blank))


def test_outputs_and_agreement_with_the_functions():
    inp = _inputs()
    fid = R.METRICS.get("fid")(inp)
    assert fid == {"fid": pytest.approx(fid_from_features(inp.real_features, inp.fake_features), rel=1e-12)}
    kid = R.METRICS.get("kid")(inp, num_subsets=10, max_subset_size=50)
    assert set(kid) == {"kid", "kid_std", "kid_subset_size"} and kid["kid_subset_size"] == 50
    assert R.METRICS.get("kid")(inp, num_subsets=10, max_subset_size=50) == kid  # seeded by inputs.seed
    assert R.METRICS.get("kid")(_inputs(seed=6), num_subsets=10, max_subset_size=50) != kid
    is_ = R.METRICS.get("is")(inp, splits=5)
    assert set(is_) == {"is", "is_std", "is_splits"} and is_["is"] > 1
    prdc = R.METRICS.get("prdc")(inp)
    assert {"precision", "recall", "density", "coverage", "pr_k", "dc_k", "pr_inclusive"} == set(prdc)
    intra = R.METRICS.get("intra_fid")(inp)
    assert set(intra) == {"intra_fid", "intra_fid_class_0", "intra_fid_class_1", "intra_fid_class_2"}
    inf = R.METRICS.get("fid_infinity")(inp, num_points=4, min_samples=20)
    assert (
        inf["fid_infinity_min_n"] == 20
        and inf["fid_infinity_max_n"] == 100
        and inf["fid_infinity_points"] == 4
    )


def test_fid_prefers_cached_real_stats():
    inp = _inputs()
    mu, sigma = inp.real_stats
    shifted = (mu + 1.0, sigma)  # cached stats that disagree with real_features: they must win
    got = R.METRICS.get("fid")(_inputs(real_stats=shifted))["fid"]
    assert got == pytest.approx(frechet_distance(*shifted, *feature_statistics(inp.fake_features)), rel=1e-12)
    assert got != pytest.approx(R.METRICS.get("fid")(inp)["fid"], rel=1e-3)
    # without cached stats the real features are used
    no_stats = R.METRICS.get("fid")(_inputs(real_stats=None))["fid"]
    assert no_stats == pytest.approx(R.METRICS.get("fid")(inp)["fid"], rel=1e-12)
    with pytest.raises(SourceError, match="fid: fake_features have 5 dimensions, the real statistics 6"):
        R.METRICS.get("fid")(_inputs(fake_features=torch.randn(50, 5)))


def test_params_validate_through_check_params():
    for name, params in {
        "kid": {"num_subsets": 10, "max_subset_size": 100},
        "is": {"splits": 5},
        "prdc": {"k_pr": 3, "k_dc": 5, "pr_inclusive": False, "max_block_bytes": 1 << 20},
        "fid_infinity": {"num_points": 5, "min_samples": 100},
    }.items():
        assert R.METRICS.get(name).check_params(params, f"eval.metric_params.{name}") == params
    with pytest.raises(ConfigError, match="unknown parameter.*'nearest_k'.*valid: k_pr, k_dc"):
        R.METRICS.get("prdc").check_params({"nearest_k": 3}, "eval.metric_params.prdc")
    with pytest.raises(ConfigError, match="unknown parameter"):
        R.METRICS.get("fid").check_params({"splits": 3}, "eval.metric_params.fid")


def test_numpy_features_work_too():
    inp = _inputs()
    np_inp = EvalInputs(real_features=inp.real_features.numpy(), fake_features=inp.fake_features.numpy())
    assert R.METRICS.get("prdc")(np_inp) == R.METRICS.get("prdc")(inp)
    assert np.isfinite(R.METRICS.get("kid")(np_inp, num_subsets=3)["kid"])


def test_compute_metrics_accepts_the_declared_substitutes():
    """The evaluator asks each metric what it needs: fid and fid_infinity get real_features where no
    cached real_stats are given (their documented substitute) instead of a 'needs real_stats' error."""
    from ganbench.evaluation.metric import compute_metrics

    params = {"fid_infinity": {"num_points": 3, "min_samples": 20}}
    with_stats = compute_metrics(["fid", "fid_infinity"], _inputs(), params)
    only_features = compute_metrics(["fid", "fid_infinity"], _inputs(real_stats=None), params)
    assert only_features["fid"] == pytest.approx(with_stats["fid"], rel=1e-12)
    assert only_features["fid_infinity"] == pytest.approx(with_stats["fid_infinity"], rel=1e-12)
    with pytest.raises(SourceError, match=r"metric 'fid' needs real_stats \(or real_features\)"):
        compute_metrics(["fid"], _inputs(real_stats=None, real_features=None))


def test_every_record_key_a_metric_writes_is_declared():
    """Direction, role and header come from the metric's declared outputs: a key it writes but did
    not declare would fall out of the leaderboard's defaults and of checkpoint selection."""
    from ganbench.evaluation.metric import output_info

    inp = _inputs()
    params = {"fid_infinity": {"num_points": 3, "min_samples": 20}}
    for name in sorted(NEEDS):
        keys = R.METRICS.get(name)(inp, **params.get(name, {}))
        undeclared = [k for k in keys if output_info(k) is None]
        assert not undeclared, (name, undeclared)
    assert output_info("fid").better == "lower" and output_info("precision").better == "higher"
    assert output_info("kid_std").role == "setting" and output_info("intra_fid_class_3").role == "detail"
