"""The metric sanity suite (ganbench validate-metrics) on a tiny image folder where the answers are
known: raw pixels (the identity extractor) of 8×8 images in three classes."""

from __future__ import annotations

import json

import numpy as np
import PIL.Image
import pytest
import torch

from ganbench.errors import ConfigError
from ganbench.evaluation import sanity
from tests.helpers.cli import refused

CLASSES = 3
PER_CLASS = {"train": 40, "test": 50}
N = 40  # images per set: at most the smallest held-out class (mode collapse keeps one class)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """root/{train,test}/<class>/*.png: each class a smooth pattern (a bright band at its own
    height) with per-image jitter, so classes are distinct modes and noise is off the data."""
    root = tmp_path_factory.mktemp("sanity")
    rng = np.random.default_rng(0)
    rows = np.arange(8)[:, None]
    for split, count in PER_CLASS.items():
        for c in range(CLASSES):
            (root / split / f"c{c}").mkdir(parents=True)
            for i in range(count):
                centre = 1.5 + 2.5 * c + rng.normal(0, 0.4)
                width = 1.2 + rng.uniform(0, 0.6)
                img = 40 + 180 * np.exp(-((rows - centre) ** 2) / (2 * width**2)) * np.ones((8, 8))
                img = img * rng.uniform(0.85, 1.15, size=(1, 8))
                PIL.Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "L").save(
                    root / split / f"c{c}" / f"{i:03d}.png"
                )
    return root


def run(folder, tmp_path, **kw):
    args = dict(n=N, n_real=100, root=str(folder), metrics=["fid", "vendi"], device="cpu", cache_dir=tmp_path)
    args.update(kw)
    return sanity.validate_metrics("identity", "imagefolder", **args)


def rows_by(result):
    return {(r["key"], r["corruption"]): r for r in result.rows}


def test_known_answers_in_pixel_space(folder, tmp_path):
    result = run(folder, tmp_path)
    rows = rows_by(result)
    assert result.config["held_out"] == "test" and result.config["metrics"] == ["fid", "vendi"]
    noise = rows[("fid", "noise")]
    # Gaussian noise: FD rises at every strength, from the clean set's value
    assert noise["strengths"] == [0, 8, 16, 32, 64] and noise["better"] == "lower"
    assert all(b > a for a, b in zip(noise["values"], noise["values"][1:])), noise["values"]
    assert noise["verdict"] == "ok" and noise["monotone"]
    assert noise["values"][-1] - noise["values"][0] > 2 * noise["noise_floor"]
    # every corruption starts from the same clean set: one value at strength 0 for a key
    assert len({r["values"][0] for r in result.rows if r["key"] == "fid"}) == 1
    # copies of the reference images look better than held-out ones to FD: the known failure
    assert rows[("fid", "memorisation")]["verdict"] == "WRONG WAY"
    # fewer distinct images or classes: lower Vendi diversity (higher is better: worse = lower)
    vendi = rows[("vendi", "mode_collapse")]
    assert vendi["better"] == "higher" and vendi["verdict"] == "ok", vendi["values"]
    dup = rows[("vendi", "duplicates")]
    assert dup["values"][-1] < dup["values"][0] and dup["verdict"] in ("ok", "not monotone")
    # ... and pixel noise is "diversity" to Vendi: it rises, the wrong way for a sample-quality check
    assert rows[("vendi", "noise")]["verdict"] == "WRONG WAY"
    collapse = rows[("fid", "mode_collapse")]
    assert collapse["values"][-1] > collapse["values"][0] and collapse["verdict"] in ("ok", "not monotone")
    # the noise floor is the distance between two clean sets, not zero
    assert rows[("fid", "noise")]["noise_floor"] > 0


def test_metrics_that_do_not_apply_are_named_with_their_reason(folder, tmp_path):
    result = run(folder, tmp_path, metrics=["fid", "is", "intra_fid"])
    assert result.config["metrics"] == ["fid"]
    assert "logits" in result.not_applicable["is"]  # raw pixels have no classifier logits
    assert "labelled" in result.not_applicable["intra_fid"]


def test_outputs_written_and_report(folder, tmp_path):
    result = run(folder, tmp_path, metrics=["fid"])
    paths = sanity.write_outputs(result, tmp_path / "out")
    record = json.loads(paths["json"].read_text())
    assert record["kind"] == "validate-metrics" and record["rows"] == json.loads(json.dumps(result.rows))
    csv = paths["csv"].read_text().splitlines()
    assert csv[0] == "extractor,metric,key,better,corruption,strength,value,noise_floor,verdict"
    assert len(csv) - 1 == sum(len(r["values"]) for r in result.rows)
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = sanity.text_report(result)
    assert "| fid" in text and "memorisation" in text and "WRONG WAY" in text


def test_verdicts():
    assert sanity.verdict([1, 2, 3], "lower", 0.5) == ("ok", True, 2.0)
    assert sanity.verdict([1, 3, 2.5], "lower", 0.5) == ("not monotone", False, 1.5)
    assert sanity.verdict([1, 1.2, 1.1], "lower", 0.5)[0] == "flat"
    assert sanity.verdict([3, 2, 1], "lower", 0.5)[0] == "WRONG WAY"
    # higher is better: falling is the right way
    assert sanity.verdict([0.9, 0.5, 0.1], "higher", 0.05) == ("ok", True, pytest.approx(0.8))
    assert sanity.verdict([1.0, float("nan")], "lower", 0.1)[0] == "not finite"


def test_corruptions_change_only_what_they_say():
    g = torch.Generator().manual_seed(0)
    held = torch.randint(0, 256, (60, 1, 4, 4), dtype=torch.uint8, generator=g)
    labels = torch.arange(60) % 3
    ref = torch.randint(0, 256, (30, 1, 4, 4), dtype=torch.uint8, generator=g)
    order = np.random.default_rng(0).permutation(60)
    pools = sanity.Pools(held, labels, ref, order[:20], order[20:])
    by_name = {c.name: c for c in sanity.CORRUPTIONS}
    for c in sanity.CORRUPTIONS:  # strength 0 is the clean set itself
        assert torch.equal(c.apply(pools, c.strengths[0], np.random.default_rng(1)), held[pools.base]), c.name
    collapsed = by_name["mode_collapse"].apply(pools, 1, np.random.default_rng(1))
    rows = [next(i for i in range(60) if torch.equal(held[i], x)) for x in collapsed]
    assert len(set(labels[rows].tolist())) == 1 and len(set(rows)) == 20  # one class, no repeats
    dropped = by_name["mode_dropping"].apply(pools, 0.7, np.random.default_rng(1))  # 1 of 3 kept
    rows = [next(i for i in range(60) if torch.equal(held[i], x)) for x in dropped]
    assert len(set(labels[rows].tolist())) == 1 and len(set(rows)) == 20
    dup = by_name["duplicates"].apply(pools, 0.5, np.random.default_rng(1))
    assert torch.equal(dup[:10], held[pools.base[:10]]) and torch.equal(dup[10:], held[pools.base[:10]])
    mem = by_name["memorisation"].apply(pools, 1, np.random.default_rng(1))
    assert all(any(torch.equal(x, r) for r in ref) for x in mem)


def test_settings_are_checked_before_any_image_is_read():
    with pytest.raises(ConfigError, match="unknown feature extractor 'nope'; valid choices:.*identity"):
        sanity.check_settings("nope", "fashion-mnist", 10, 100, "train", None, None)
    with pytest.raises(ConfigError, match="held-out 'train' is the reference split"):
        sanity.check_settings("identity", "fashion-mnist", 10, 100, "train", "train", None)
    with pytest.raises(ConfigError, match="2-D point datasets"):
        sanity.check_settings("identity", "fashion-mnist", 10, 100, "train", None, ["modes"])
    assert sanity.check_settings("identity", "fashion-mnist", 10, 100, "train", None, ["fid"])[0] == "test"


def test_cli_errors(capsys, folder):
    base = ["validate-metrics", "--extractor", "identity", "--reference", "fashion-mnist"]
    refused(
        capsys,
        ["validate-metrics", "--extractor", "nope", "--reference", "fashion-mnist"],
        "--extractor: unknown feature extractor 'nope'",
        "fmnist-classifier",
    )
    refused(
        capsys,
        ["validate-metrics", "--extractor", "identity", "--reference", "nope"],
        "--reference: unknown dataset 'nope'",
        "fashion-mnist",
    )
    refused(capsys, [*base, "--n", "1"], "--n must be >= 2")
    refused(capsys, [*base, "--n", "600", "--n-real", "500"], "--n-real (500) must be >= --n (600)")
    refused(capsys, [*base, "--metrics", "nope"], "--metrics: unknown metric 'nope'")
    refused(capsys, [*base, "--split", "val"], "--split 'val'", "valid choices: train, test")
    # too many images for the smallest held-out class: said before any scoring
    refused(
        capsys,
        [
            "validate-metrics",
            "--extractor",
            "identity",
            "--reference",
            "imagefolder",
            "--root",
            str(folder),
            "--n",
            "55",
            "--n-real",
            "100",
            "--no-progress",
        ],
        "--n 55: mode collapse keeps one class",
        "(test) has 50 images; lower --n to at most 50",
    )


def test_cli_prints_the_table_and_writes_the_files(capsys, folder, tmp_path, monkeypatch):
    from ganbench.cli import main

    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "vm"
    argv = [
        "validate-metrics",
        "--extractor",
        "identity",
        "--reference",
        "imagefolder",
        "--root",
        str(folder),
    ]
    argv += ["--n", str(N), "--n-real", "100", "--metrics", "fid", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "| metric" in text and "| fid" in text and "noise (fidelity" in text
    record = json.loads((out / "validate_metrics.json").read_text())
    assert record["config"]["n"] == N and record["config"]["metrics"] == ["fid"]
    assert {p.name for p in out.iterdir()} == {f"validate_metrics.{k}" for k in ("json", "csv", "png")}
