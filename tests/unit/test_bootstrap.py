"""Bootstrap confidence intervals over the generated samples (``eval.bootstrap: N``).

The coverage simulation checks what the percentile bootstrap over the generated set estimates: the
spread of the estimator at this n, so its interval covers the estimator's expectation E[FD^] (here
a Monte Carlo mean), not the population FD. FD^ is biased upwards at finite n (the sample mean and
covariance add about tr(Σ)/n and more); where that bias is large next to the estimator's spread
(d = 8, n = 200) the interval misses the population FD far more often than it misses E[FD^].
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest
import torch

from ganbench.config import EvalConfig, check_eval_config
from ganbench.errors import ConfigError
from ganbench.evaluation import frechet
from ganbench.evaluation.inputs import EvalInputs
from ganbench.evaluation.metric import bootstrap_metrics, get_metric, output_info

ROOT = Path(__file__).resolve().parents[2]


def _gaussians(d: int):
    """Real N(0, I) and fake N(0.5, diag(0.5..2)): diagonal covariances commute, so the population
    FD is ||δ||² + Σ (√a_i − √b_i)² in closed form."""
    mu_r, var_r = np.zeros(d), np.ones(d)
    mu_f, var_f = np.full(d, 0.5), np.linspace(0.5, 2.0, d)
    true_fd = float(((mu_f - mu_r) ** 2).sum() + ((np.sqrt(var_r) - np.sqrt(var_f)) ** 2).sum())
    return (mu_r, np.diag(var_r)), mu_f, np.sqrt(var_f), true_fd


def test_percentile_intervals_cover_the_estimators_expectation_at_about_the_nominal_rate(monkeypatch):
    # threadpoolctl's per-call library scan (~2 ms) would dominate a 4- to 8-d distance
    monkeypatch.setattr(frechet, "_one_blas_thread", contextlib.nullcontext)
    reps, n, resamples = 100, 200, 100
    rng = np.random.default_rng(0)
    rates = {}
    for d in (4, 8):
        real, mu_f, sd_f, true_fd = _gaussians(d)

        def draw() -> torch.Tensor:
            return torch.from_numpy(mu_f + rng.standard_normal((n, d)) * sd_f)  # noqa: B023

        stats = (frechet.feature_statistics(draw()) for _ in range(2000))
        estimates = [frechet.frechet_distance(*real, *s) for s in stats]
        expected = float(np.mean(estimates))  # E[FD^] at this n (Monte Carlo, standard error ~0.005)
        assert expected > true_fd  # the finite-sample bias the intervals carry
        hit_e = hit_t = 0
        for rep in range(reps):
            inputs = EvalInputs(fake_features=draw(), real_stats=real)
            ci, skipped = bootstrap_metrics(["fid"], inputs, None, resamples, seed=rep)
            lo, hi = ci["fid_ci_low"], ci["fid_ci_high"]
            assert lo < hi and not skipped
            hit_e += lo <= expected <= hi
            hit_t += lo <= true_fd <= hi
        rates[d] = hit_e / reps, hit_t / reps
    print("coverage (E[FD^], population FD):", rates)
    for d, (rate_e, _) in rates.items():
        assert 0.85 <= rate_e <= 0.99, f"d={d}: coverage of E[FD^] {rate_e} (nominal 0.95)"
    assert rates[8][1] < rates[8][0]  # the population FD is covered less often: the estimator's bias


def test_same_seed_same_interval_and_real_statistics_fixed():
    real, mu_f, sd_f, _ = _gaussians(4)
    x = torch.from_numpy(mu_f + np.random.default_rng(1).standard_normal((60, 4)) * sd_f)
    inputs = EvalInputs(fake_features=x, real_stats=real)
    a, _ = bootstrap_metrics(["fid"], inputs, None, 30, seed=7)
    b, _ = bootstrap_metrics(["fid"], inputs, None, 30, seed=7)
    c, _ = bootstrap_metrics(["fid"], inputs, None, 30, seed=8)
    assert a == b and a != c
    assert inputs.fake_features is x and torch.equal(inputs.fake_features, x)  # inputs not modified
    # a wider level gives a wider interval from the same resamples
    w, _ = bootstrap_metrics(["fid"], inputs, None, 30, seed=7, level=0.99)
    assert w["fid_ci_low"] <= a["fid_ci_low"] and w["fid_ci_high"] >= a["fid_ci_high"]


def test_ci_keys_are_declared_details_without_direction_and_label_metrics_are_skipped():
    info = output_info("fid_ci_low")
    assert info is not None and info.role == "detail" and info.better is None
    assert info.header == "fid CI low" and output_info("kid_ci_high").header == "kid CI high"
    assert output_info("kid_std_ci_low") is None  # only score keys get intervals
    assert get_metric("intra_fid").bootstrap_skip and get_metric("fid").bootstrap_skip is None


def test_a_record_from_evaluate_source_carries_the_intervals(tmp_path):
    from ganbench.evaluation.images import evaluate_source
    from ganbench.evaluation.sources import ArraySource
    from tests.unit.test_eval_sources import FakeImages, _images

    x, y = _images(40, 1, 6, seed=9), np.arange(40) % 3
    np.savez(tmp_path / "fake.npz", images=x, labels=y)
    cfg = EvalConfig(n_samples=30, metrics=["fid", "kid", "intra_fid"], extractor="identity", bootstrap=20)
    cfg.metric_params = {"kid": {"num_subsets": 5}}
    check_eval_config(cfg, "fashion-mnist")
    res = evaluate_source(ArraySource(str(tmp_path / "fake.npz")), FakeImages(), cfg, 0, cache_dir=tmp_path)
    m = res.metrics
    for key in ("fid", "kid"):
        assert m[f"{key}_ci_low"] < m[f"{key}_ci_high"]
    assert m["fid_ci_low"] <= m["fid"] * 1.5 and "intra_fid_ci_low" not in m and "kid_std_ci_low" not in m
    boot = res.provenance["bootstrap"]
    assert boot["resamples"] == 20 and boot["level"] == 0.95 and boot["method"] == "percentile"
    assert set(boot["skipped"]) == {"intra_fid"}
    again = evaluate_source(ArraySource(str(tmp_path / "fake.npz")), FakeImages(), cfg, 0, cache_dir=tmp_path)
    assert again.metrics == m
    plain_cfg = EvalConfig(n_samples=30, metrics=["fid"], extractor="identity")
    src = ArraySource(str(tmp_path / "fake.npz"))
    plain = evaluate_source(src, FakeImages(), plain_cfg, 0, cache_dir=tmp_path)
    assert "bootstrap" not in plain.provenance and set(plain.metrics) == {"fid"}


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"bootstrap": 5}, "eval.bootstrap must be >= 10"),
        ({"bootstrap": True}, "eval.bootstrap must be >= 10"),
        ({"bootstrap": 100, "bootstrap_level": 1.5}, "eval.bootstrap_level must be in"),
    ],
)
def test_too_few_resamples_are_refused_naming_the_key(kw, message):
    with pytest.raises(ConfigError, match=message):
        check_eval_config(EvalConfig(metrics=["fid"], **kw), "fashion-mnist", "recipe.yaml")


def test_bootstrap_is_refused_on_point_datasets():
    with pytest.raises(ConfigError, match="eval.bootstrap: bootstrap intervals are computed by the image"):
        check_eval_config(EvalConfig(metrics=["modes"], bootstrap=50), "ring8", "recipe.yaml")


def test_existing_run_ids_are_unchanged():
    from ganbench.runners.grid import load_grid

    grid = load_grid(ROOT / "recipes/grids/toy-3seeds.yaml")
    folders = {p.name for p in (ROOT / "results/toy-3seeds").iterdir() if p.is_dir()}
    assert {cfg.run_id for cfg in grid.runs} == folders


def test_the_api_and_the_command_pass_bootstrap(tmp_path, capsys):
    import io
    import json
    from contextlib import redirect_stdout

    import ganbench
    from ganbench.cli import main
    from ganbench.config import DataConfig
    from ganbench.registries import DATASETS, load_all

    load_all()
    if not DATASETS.get("fashion-mnist").present():
        pytest.skip("Fashion-MNIST files are not on this machine")
    data = DATASETS.get("fashion-mnist")(DataConfig(name="fashion-mnist", split="test"))
    np.save(tmp_path / "x.npy", data.images[:200].numpy())
    ref = dict(real="fashion-mnist", n_real=3000, batch_size=500)
    with pytest.raises(ConfigError, match="bootstrap must be >= 10"):
        ganbench.evaluate(str(tmp_path / "x.npy"), metrics=["fid"], bootstrap=5, **ref)
    result = ganbench.evaluate(str(tmp_path / "x.npy"), metrics=["fid"], bootstrap=20, **ref)
    assert result["fid_ci_low"] < result["fid_ci_high"] and result.settings["bootstrap"] == 20
    out = io.StringIO()
    argv = [str(tmp_path / "x.npy"), "--reference", "fashion-mnist", "--n-real", "3000"]
    argv += ["--batch-size", "500"]
    with redirect_stdout(out):
        assert main(["eval", *argv, "--metrics", "fid", "--bootstrap", "20", "--no-progress", "--json"]) == 0
    assert json.loads(out.getvalue())["metrics"] == result.metrics
    assert main(["eval", *argv, "--metrics", "fid", "--bootstrap", "5", "--no-progress"]) != 0
    assert "--bootstrap must be >= 10" in capsys.readouterr().err
