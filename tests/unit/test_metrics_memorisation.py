"""Memorisation / authenticity (ganbench.evaluation.memorisation) on constructed cases.

- equal to a brute-force computation (full distance matrices, sklearn's float32 arithmetic) on small
  inputs, under a block budget far below the matrices' size;
- copies of training images: authenticity 0, ratio 0, Z_U far below 0;
- fresh samples of the training distribution: the inauthentic fraction is the chance rate the
  module derives (mutual nearest neighbours: 2/3 in 1-D, 0.6215 in 2-D);
- the closest pairs and their images through ``ganbench eval --pairs-figure``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from scipy.special import betainc

from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation.inputs import EvalInputs
from ganbench.evaluation.memorisation import chance_inauthentic_rate, memorisation
from ganbench.evaluation.metric import get_metric, output_info
from ganbench.evaluation.prdc import nearest_neighbours
from tests.helpers.cli import refused

TINY = 16 * 1024  # blocks of ~22 x 22 distances


def _brute(train: np.ndarray, fake: np.ndarray) -> dict:
    """The definition, from full distance matrices with sklearn's arithmetic (as prdc's reference)."""
    from sklearn.metrics import pairwise_distances

    tt = pairwise_distances(train, train)
    np.fill_diagonal(tt, np.inf)
    r = tt.min(axis=1).astype(np.float64)
    ft = pairwise_distances(fake, train)
    j = ft.argmin(axis=1)
    d = ft[np.arange(len(fake)), j].astype(np.float64)
    ratio = np.where(d == 0, 0.0, d / r[j])
    # U = #{(g, t): d(g) > r(t)} + ½ #{d(g) = r(t)}, counted pair by pair
    u = (d[:, None] > r[None, :]).sum() + 0.5 * (d[:, None] == r[None, :]).sum()
    m, n = len(d), len(r)
    return {
        "d": d,
        "j": j,
        "r": r,
        "authenticity": float((d > r[j]).mean()),
        "memorisation_ratio": float(np.median(ratio)),
        "meehan_zu": (u - m * n / 2) / math.sqrt(m * n * (m + n + 1) / 12),
        "order": np.argsort(d, kind="stable"),
    }


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,m,dim", [(120, 90, 3), (200, 150, 64), (60, 200, 512)])
def test_equals_brute_force(n, m, dim, dtype):
    rng = np.random.default_rng(n + m + dim)
    train = rng.standard_normal((n, dim)).astype(dtype)
    fake = (rng.standard_normal((m, dim)) * 1.05).astype(dtype)
    fake[:5] = train[10:15]  # a few exact copies
    fake[5:10] = train[20:25] + dtype(1e-3)  # near copies
    ref = _brute(train, fake)
    dist, index = nearest_neighbours(fake, train, 1, max_block_bytes=TINY)
    np.testing.assert_array_equal(index.numpy(), ref["j"])
    radius, _ = nearest_neighbours(train, None, 1, max_block_bytes=TINY)
    got = memorisation(train, fake, pairs=7, max_block_bytes=TINY)
    # an exact copy's distance is float64 rounding noise of the summation order (as in prdc, docs)
    scale = float(np.linalg.norm(train, axis=1).max())
    assert (dist.numpy()[:5] <= 1e-6 * scale).all() and (ref["d"][:5] <= 1e-6 * scale).all()
    if dtype == np.float32:
        # float32 features: bit-equal to sklearn (float64 products, rounded to float32)
        np.testing.assert_array_equal(dist.numpy()[5:].astype(np.float64), ref["d"][5:])
        np.testing.assert_array_equal(radius.numpy().astype(np.float64), ref["r"])
        assert got["memorisation_ratio"] == ref["memorisation_ratio"]
        assert {p["fake"] for p in got["pairs"][:5]} == set(range(5))
        assert [p["fake"] for p in got["pairs"][5:]] == ref["order"][5:7].tolist()
    else:
        # float64: the BLAS summation order differs from sklearn's in the last bits (of d², so
        # small distances carry an absolute error ~ 1e-8·‖x‖)
        np.testing.assert_allclose(dist.numpy()[5:], ref["d"][5:], rtol=1e-10, atol=1e-7 * scale)
        np.testing.assert_allclose(radius.numpy(), ref["r"], rtol=1e-10, atol=1e-7)
        assert got["memorisation_ratio"] == pytest.approx(ref["memorisation_ratio"], rel=1e-9)
        assert {p["fake"] for p in got["pairs"][:5]} == set(range(5))
        assert {p["fake"] for p in got["pairs"][5:7]} < set(range(5, 10))
    assert got["authenticity"] == ref["authenticity"]
    assert got["meehan_zu"] == pytest.approx(ref["meehan_zu"], rel=1e-12, abs=1e-12)
    copies = {p["fake"]: p for p in got["pairs"] if p["fake"] < 5}
    assert {k: p["train"] for k, p in copies.items()} == {k: 10 + k for k in range(5)}
    assert all(p["ratio"] < 1e-3 for p in copies.values())
    # one block holding everything gives the same numbers
    assert memorisation(train, fake, pairs=7) == got


def test_copies_of_training_images_are_all_inauthentic():
    rng = np.random.default_rng(1)
    train = rng.standard_normal((400, 16)).astype(np.float32)
    copies = train[rng.permutation(400)[:300]]
    got = memorisation(train, copies, max_block_bytes=TINY)
    assert got["authenticity"] == 0.0
    assert got["memorisation_ratio"] == 0.0
    assert got["meehan_zu"] < -15  # every copy is nearer than every leave-one-out distance
    # copies with noise far below the nearest-neighbour distances are still copies
    noisy = copies + np.float32(1e-3) * rng.standard_normal(copies.shape).astype(np.float32)
    got = memorisation(train, noisy, max_block_bytes=TINY)
    assert got["authenticity"] == 0.0 and 0 < got["memorisation_ratio"] < 0.01
    # training images that appear twice: their radius is 0, and a copy of one is still a copy (the
    # computed distances are rounding noise on both sides, set to 0, whichever path computed them)
    doubled = train.copy()
    doubled[200:260] = doubled[:60]
    got = memorisation(doubled, doubled[:60] * np.float32(1), max_block_bytes=TINY)
    assert got["authenticity"] == 0.0 and got["memorisation_ratio"] == 0.0
    assert all(p["distance"] == 0 and p["ratio"] == 0 for p in got["pairs"])
    raw_d, _ = nearest_neighbours(doubled[:60], doubled, 1, max_block_bytes=TINY)
    assert raw_d.max() > 0  # as computed: noise, not 0
    # half copies, half fresh: authenticity is half the fresh samples' rate
    fresh = rng.standard_normal((300, 16)).astype(np.float32)
    mixed = memorisation(train, np.concatenate([copies, fresh]), max_block_bytes=TINY)
    alone = memorisation(train, fresh, max_block_bytes=TINY)
    assert mixed["authenticity"] == pytest.approx(alone["authenticity"] / 2)


def test_chance_rate_formula():
    # 1-D: a point and its neighbour are mutual neighbours with probability 2/3 (lengths 2 vs 3)
    assert chance_inauthentic_rate(1) == pytest.approx(2 / 3, rel=1e-12)
    # 2-D: disc area / area of the union of two unit discs one apart (lens = 2π/3 − √3/2)
    lens = 2 * math.pi / 3 - math.sqrt(3) / 2
    assert chance_inauthentic_rate(2) == pytest.approx(math.pi / (2 * math.pi - lens), rel=1e-12)
    assert chance_inauthentic_rate(2) == pytest.approx(0.6215, abs=1e-4)
    rates = [chance_inauthentic_rate(d) for d in (1, 2, 3, 8, 64, 512)]
    assert all(a > b for a, b in zip(rates, rates[1:])) and rates[-1] == pytest.approx(0.5, abs=1e-6)
    assert betainc(1.0, 0.5, 0.75) == pytest.approx(0.5)  # the 1-D cap fraction
    with pytest.raises(ConfigError, match="dim must be >= 1"):
        chance_inauthentic_rate(0)


@pytest.mark.parametrize("dim", [1, 2])
def test_fresh_samples_hit_the_chance_rate(dim):
    # Gaussian training set and fresh samples from the same Gaussian: the inauthentic fraction is
    # the probability of mutual nearest neighbours (finite-n and tail effects are ~1 % at 4000)
    rng = np.random.default_rng(10 + dim)
    train = rng.standard_normal((4000, dim))
    fresh = rng.standard_normal((6000, dim))
    got = memorisation(train, fresh)
    inauthentic = 1 - got["authenticity"]
    assert inauthentic == pytest.approx(chance_inauthentic_rate(dim), abs=0.02)
    assert 0.4 < got["memorisation_ratio"] < 1.2  # far from copies' 0 (measured: 0.50 in 1-D, 0.8 in 2-D)
    assert abs(got["meehan_zu"]) < 4


def test_registered_metric_and_its_facts():
    metric = get_metric("memorisation")
    rng = np.random.default_rng(3)
    train = torch.from_numpy(rng.standard_normal((50, 4)).astype(np.float32))
    fake = torch.from_numpy(rng.standard_normal((40, 4)).astype(np.float32))
    out = metric(EvalInputs(real_features=train, fake_features=fake), pairs=3)
    direct = memorisation(train, fake, pairs=3)
    assert out["authenticity"] == direct["authenticity"]
    assert out["memorisation_pairs"] == direct["pairs"] and len(out["memorisation_pairs"]) == 3
    assert {"authenticity", "memorisation_ratio", "meehan_zu", "memorisation_pairs"} == set(out)
    assert output_info("authenticity").better == "higher" and output_info("authenticity").role == "score"
    assert output_info("memorisation_pairs").role == "detail"
    assert metric.bootstrap_skip is not None and metric.min_samples() == 2
    with pytest.raises(SourceError, match="needs fake_features"):
        metric(EvalInputs(real_features=train))
    with pytest.raises(ConfigError, match="pairs must be an integer >= 0"):
        memorisation(train, fake, pairs=-1)
    with pytest.raises(SourceError, match="feature dimensions differ"):
        memorisation(train, fake[:, :3])
    with pytest.raises(SourceError, match="real_features: needs at least 2 samples, got 1"):
        memorisation(train[:1], fake)
    with pytest.raises(ConfigError, match="max_block_bytes"):
        memorisation(train, fake, max_block_bytes=10)


def _fmnist_test(n: int) -> np.ndarray:
    from ganbench.config import DataConfig
    from ganbench.registries import DATASETS, load_all

    load_all()
    data = DATASETS.get("fashion-mnist")(DataConfig(name="fashion-mnist", split="test"))
    return torch.cat([x for x, _ in data.iter_uint8(100, limit=n)]).numpy()


def test_eval_pairs_figure_shows_the_copied_training_images(tmp_path, capsys):
    from ganbench.cli import main
    from ganbench.evaluation.sources import open_source

    real = _fmnist_test(300)
    fake = real[:60].copy()  # the first 60 reference images, copied
    np.save(tmp_path / "copies.npy", fake)
    png, out = tmp_path / "pairs.png", tmp_path / "r.json"
    argv = [
        "eval", str(tmp_path / "copies.npy"), "--reference", "fashion-mnist", "--split", "test",
        "--n-real", "300", "--metrics", "memorisation", "--metric-param", "memorisation.pairs=6",
        "--pairs-figure", str(png), "--out", str(out), "--no-progress",
    ]  # fmt: skip
    assert main(argv) == 0
    record = json.loads(out.read_text())
    assert record["metrics"]["authenticity"] == 0.0
    pairs = record["metrics"]["memorisation_pairs"]
    assert len(pairs) == 6 and all(p["distance"] < 1e-3 for p in pairs)
    # the source is read in a seeded order: generated sample k is file image order[k]
    order = open_source(str(tmp_path / "copies.npy")).indices(60, record["config"]["seed"])
    assert all(p["train"] == int(order[p["fake"]]) for p in pairs)
    assert png.exists() and png.stat().st_size > 1000

    from ganbench.config import DataConfig
    from ganbench.evaluation.memorisation import closest_pair_images
    from ganbench.registries import DATASETS

    data = DATASETS.get("fashion-mnist")(DataConfig(name="fashion-mnist", split="test"))
    gen, train = closest_pair_images(
        pairs, open_source(str(tmp_path / "copies.npy")), data, 60, record["config"]["seed"]
    )
    assert gen.shape == train.shape == (6, 1, 28, 28)
    assert torch.equal(gen, train)  # each copy beside the very training image it copies


def test_eval_pairs_figure_errors(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((10, 1, 28, 28), np.uint8))
    base = ["eval", str(tmp_path / "x.npy"), "--reference", "fashion-mnist"]
    refused(capsys, [*base, "--pairs-figure", str(tmp_path / "p.png")], "--pairs-figure", "memorisation")
    refused(
        capsys,
        [*base, "--metrics", "memorisation", "--pairs-figure", str(tmp_path)],
        "--pairs-figure",
        "is a folder",
    )


def test_prdc_progress_bar_counts_the_blocks(capsys, monkeypatch):
    from ganbench.evaluation import prdc as P
    from ganbench.evaluation.metric import compute_metrics

    bars = []
    original = P.progress_bar

    def spy(*args, **kwargs):
        bars.append(original(*args, **kwargs))
        return bars[-1]

    monkeypatch.setattr(P, "progress_bar", spy)

    rng = np.random.default_rng(0)
    real = rng.standard_normal((200, 8)).astype(np.float32)
    fake = rng.standard_normal((150, 8)).astype(np.float32)
    capsys.readouterr()
    quiet = P.prdc(real, fake, max_block_bytes=TINY)
    assert "prdc k-NN" not in capsys.readouterr().err  # a library call shows no bar by default
    loud = P.prdc(real, fake, max_block_bytes=TINY, progress=True)
    err = capsys.readouterr().err
    assert loud == quiet
    real_s, fake_s = P._prepare(real, "r"), P._prepare(fake, "f")
    total = P._knn_blocks(real_s, real_s, TINY) + P._knn_blocks(fake_s, fake_s, TINY)
    total += P._knn_blocks(real_s, fake_s, TINY)
    assert total > 30 and f"prdc k-NN:   0%|          | 0/{total}" in err
    assert bars[-1].n == bars[-1].total == total  # every block counted, the bar then cleared
    # inside an evaluation: the evaluation's progress setting decides
    inputs = EvalInputs(real_features=torch.from_numpy(real), fake_features=torch.from_numpy(fake))
    params = {"prdc": {"max_block_bytes": TINY}}
    compute_metrics(["prdc"], inputs, params, progress=False)
    assert "prdc k-NN" not in capsys.readouterr().err
    compute_metrics(["prdc"], inputs, params, progress=True)
    assert "prdc k-NN" in capsys.readouterr().err


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_equals_cpu():
    rng = np.random.default_rng(9)
    train = rng.standard_normal((500, 256)).astype(np.float32)
    fake = rng.standard_normal((400, 256)).astype(np.float32)
    fake[:30] = train[:30] + np.float32(1e-3)
    on_gpu = memorisation(
        torch.from_numpy(train).cuda(), torch.from_numpy(fake).cuda(), max_block_bytes=TINY * 64
    )
    on_cpu = memorisation(train, fake)
    assert on_gpu["authenticity"] == on_cpu["authenticity"] == _brute(train, fake)["authenticity"]
    assert [(p["fake"], p["train"]) for p in on_gpu["pairs"]] == [
        (p["fake"], p["train"]) for p in on_cpu["pairs"]
    ]
    # float64 sums in another order on the GPU: distances agree to float32 rounding
    assert [p["distance"] for p in on_gpu["pairs"]] == pytest.approx(
        [p["distance"] for p in on_cpu["pairs"]], rel=1e-6
    )
