"""``ganbench compare``: effect size, Welch CI and p-value, seeds needed, on synthetic records."""

import json
import math

import numpy as np
import pytest
from scipy import stats as sps

from ganbench.cli import main
from ganbench.errors import ConfigError
from ganbench.reporting.compare import compare_runs, parse_selection
from ganbench.reporting.stats import compare, seeds_for_power
from tests.unit.test_leaderboard_significance import VALUES, write_records


def test_known_difference_its_ci_and_scipys_p(tmp_path):
    r = compare_runs(write_records(tmp_path), {"objective.loss": "good"}, {"objective.loss": "same1"})
    a, b = np.array(VALUES["good"]), np.array(VALUES["same1"])
    assert r["metric"] == "fid" and r["n_a"] == r["n_b"] == 5
    assert r["difference"] == pytest.approx(a.mean() - b.mean()) == pytest.approx(-10.0, abs=0.1)
    assert r["ci_low"] < r["difference"] < r["ci_high"] and r["ci_high"] < 0
    assert r["ci_low"] < -10.0 < r["ci_high"]  # the true difference of the generating means
    # the CI by hand (Welch-Satterthwaite degrees of freedom)
    va, vb = a.var(ddof=1) / 5, b.var(ddof=1) / 5
    dof = (va + vb) ** 2 / (va**2 / 4 + vb**2 / 4)
    half = sps.t.ppf(0.975, dof) * math.sqrt(va + vb)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((r["difference"] - half, r["difference"] + half))
    assert r["p_value"] == pytest.approx(sps.ttest_ind(a, b, equal_var=False).pvalue, rel=1e-12)
    assert r["better"] == "a"  # lower FID
    pooled = math.sqrt((4 * a.var(ddof=1) + 4 * b.var(ddof=1)) / 8)
    assert r["hedges_g"] == pytest.approx((1 - 3 / (4 * 10 - 9)) * (a.mean() - b.mean()) / pooled)
    assert r["seeds_per_arm_for_80_power"] == 2  # a huge effect: the minimum


def test_identical_configurations_are_not_significant(tmp_path):
    r = compare_runs(write_records(tmp_path), {"objective.loss": "same1"}, {"objective.loss": "same2"})
    assert r["p_value"] > 0.05 and r["ci_low"] < 0 < r["ci_high"]


def test_power_formula_by_hand():
    # n = ceil(2 (z_0.975 + z_0.8)^2 / g^2): z_0.975 = 1.959964, z_0.8 = 0.841621
    z = 1.959964 + 0.841621
    assert seeds_for_power(1.0) == math.ceil(2 * z**2) == 16
    assert seeds_for_power(0.5) == math.ceil(8 * z**2) == 63
    assert seeds_for_power(-0.5) == 63
    assert seeds_for_power(0.0) is None
    c = compare(np.array([1.0, 2.0, 3.0]), np.array([2.0, 3.0, 4.0]))
    assert c.seeds_per_arm_for_80_power == math.ceil(2 * z**2 / c.hedges_g**2)


def test_settings_that_differ_are_refused_with_the_differences(tmp_path):
    results = write_records(tmp_path, n_samples={"good": 500})
    with pytest.raises(ConfigError, match=r"eval.n_samples: a has 500; b has 1000"):
        compare_runs(results, {"objective.loss": "good"}, {"objective.loss": "same1"})


def test_unknown_keys_and_values_name_the_valid_ones(tmp_path, capsys):
    results = str(write_records(tmp_path))
    assert main(["compare", results, "--a", "objective.los=good", "--b", "objective.loss=same1"]) == 2
    assert "objective.loss" in capsys.readouterr().err
    assert main(["compare", results, "--a", "objective.loss=gud", "--b", "objective.loss=same1"]) == 2
    err = capsys.readouterr().err
    assert "good" in err and "same1" in err and "same2" in err
    assert main(["compare", results, "--a", "objective.loss=good", "--b", "objective.loss=same1",
                 "--metric", "fdi"]) == 2  # fmt: skip
    assert "fid" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_selection("--a", ["objective.loss"])


def test_an_arm_of_several_configurations_is_refused(tmp_path):
    results = write_records(tmp_path)
    with pytest.raises(ConfigError, match="the same 3 run"):
        compare_runs(results, {"data.name": "fashion-mnist"}, {"seed": "0"})
    with pytest.raises(ConfigError, match="objective.loss"):
        compare_runs(results, {"seed": "1"}, {"seed": "0"})


def test_cli_text_and_json(tmp_path, capsys):
    results = str(write_records(tmp_path))
    args = ["compare", results, "--a", "objective.loss=good", "--b", "objective.loss=same1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Hedges' g" in out and "95% CI" in out and "80% power" in out
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["difference"] == pytest.approx(np.mean(VALUES["good"]) - np.mean(VALUES["same1"]))
