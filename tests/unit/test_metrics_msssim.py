"""MS-SSIM diversity against direct ``pytorch_msssim.ms_ssim`` calls (a test dependency) on the same
pairs, known cases (identical images → 1, independent noise → low), the pair draws and the
evaluator's plumbing of the generated images."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganbench import registries as R
from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation import msssim as msssim_mod
from ganbench.evaluation.inputs import EvalInputs
from ganbench.evaluation.metric import output_info
from ganbench.evaluation.msssim import (
    ms_ssim_diversity,
    ms_ssim_of_pairs,
    ms_ssim_per_class,
    random_pairs,
    upsample_factor,
)

pytorch_msssim = pytest.importorskip("pytorch_msssim")


def _blobs(n: int, c: int, side: int, seed: int) -> torch.Tensor:
    """Smooth random uint8 images (low-frequency noise), so pairs differ in structure."""
    g = torch.Generator().manual_seed(seed)
    small = torch.rand(n, c, 7, 7, generator=g)
    big = torch.nn.functional.interpolate(small, size=(side, side), mode="bilinear", align_corners=False)
    return (big * 255).round().to(torch.uint8)


def test_upsample_factor_follows_the_package_constraint():
    assert upsample_factor(28, 28) == 6 and upsample_factor(32, 32) == 6  # 168, 192 > 160
    assert upsample_factor(64, 64) == 3 and upsample_factor(128, 96) == 2 and upsample_factor(256, 256) == 1
    assert upsample_factor(28, 28, win_size=7) == 4  # 112 > 96
    for side in (28, 32, 64, 100, 161):
        s = upsample_factor(side, side)
        assert side * s > 160 and (s == 1 or side * (s - 1) <= 160)


@pytest.mark.parametrize(("c", "side"), [(1, 28), (3, 32)])
def test_equals_direct_package_calls(c, side):
    images = _blobs(40, c, side, c)
    rng = np.random.default_rng(0)
    i, j = random_pairs(len(images), 30, rng)
    got = ms_ssim_of_pairs(images, i, j)
    s = upsample_factor(side, side)
    up = images.float().repeat_interleave(s, dim=2).repeat_interleave(s, dim=3)
    assert up.shape[-1] == side * s
    want = pytorch_msssim.ms_ssim(up[i], up[j], data_range=255, size_average=False).double()
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-7)
    # the nearest-neighbour upsampling is torch's own nearest interpolation at an integer factor
    near = torch.nn.functional.interpolate(images.float(), scale_factor=s, mode="nearest")
    assert torch.equal(near, up)
    # the metric's mean is the mean of those values, on the pairs drawn from the seed
    mean = ms_ssim_diversity(images, 30, seed=0)["mean"]
    assert mean == pytest.approx(float(want.mean()), rel=1e-6)


def test_large_images_are_not_upsampled(monkeypatch):
    images = _blobs(6, 3, 176, 5)
    i, j = np.array([0, 1, 2]), np.array([3, 4, 5])
    want = pytorch_msssim.ms_ssim(images[i].float(), images[j].float(), data_range=255, size_average=False)
    monkeypatch.setattr(msssim_mod, "BATCH_PAIRS", 2)  # batches do not change the values
    torch.testing.assert_close(ms_ssim_of_pairs(images, i, j), want.double(), rtol=1e-6, atol=1e-7)


def test_identical_images_score_one_and_noise_scores_low():
    one = _blobs(1, 1, 28, 7)
    same = one.repeat(20, 1, 1, 1)
    assert ms_ssim_diversity(same, 50)["mean"] == pytest.approx(1.0, abs=1e-5)
    noise = torch.randint(
        0, 256, (200, 1, 28, 28), generator=torch.Generator().manual_seed(1), dtype=torch.uint8
    )
    low = ms_ssim_diversity(noise, 100)["mean"]
    assert low < 0.1
    assert ms_ssim_diversity(_blobs(200, 1, 28, 8), 100)["mean"] > low  # smooth images share structure


def test_pairs_are_distinct_uniform_and_seeded():
    rng = np.random.default_rng(3)
    i, j = random_pairs(5, 20000, rng)
    assert (i != j).all()
    counts = np.bincount(i * 5 + j, minlength=25).reshape(5, 5)
    assert (np.diag(counts) == 0).all()
    off = counts[~np.eye(5, dtype=bool)]
    assert off.min() > 0.8 * 20000 / 20 and off.max() < 1.2 * 20000 / 20  # ~uniform over the 20 pairs
    images = _blobs(30, 1, 28, 9)
    assert ms_ssim_diversity(images, 20, seed=4) == ms_ssim_diversity(images, 20, seed=4)
    assert ms_ssim_diversity(images, 20, seed=4) != ms_ssim_diversity(images, 20, seed=5)


def test_per_class_protocol():
    a = _blobs(1, 1, 28, 10).repeat(10, 1, 1, 1)  # class 0: one image repeated (collapsed)
    b = torch.randint(0, 256, (10, 1, 28, 28), generator=torch.Generator().manual_seed(2), dtype=torch.uint8)
    images, labels = torch.cat([a, b]), torch.tensor([0] * 10 + [1] * 10)
    res = ms_ssim_per_class(images, labels, num_pairs=20, seed=0)
    assert res["per_class"][0] == pytest.approx(1.0, abs=1e-5) and res["per_class"][1] < 0.2
    assert res["mean"] == pytest.approx((res["per_class"][0] + res["per_class"][1]) / 2)
    # the pairs of each class, in label order, from one generator: replayed directly
    rng = np.random.default_rng(0)
    for c in (0, 1):
        members = np.nonzero(labels.numpy() == c)[0]
        i, j = random_pairs(len(members), 20, rng)
        direct = pytorch_msssim.ms_ssim(
            images[members[i]].float().repeat_interleave(6, 2).repeat_interleave(6, 3),
            images[members[j]].float().repeat_interleave(6, 2).repeat_interleave(6, 3),
            data_range=255,
            size_average=False,
        )
        assert res["per_class"][c] == pytest.approx(float(direct.double().mean()), rel=1e-6, abs=1e-7)
    with pytest.raises(SourceError, match="class 2 has 1 generated image"):
        ms_ssim_per_class(torch.cat([images, b[:1]]), torch.cat([labels, torch.tensor([2])]), 5)


def test_registered_metrics_and_errors():
    R.load_all()
    overall, per_class = R.METRICS.get("ms_ssim"), R.METRICS.get("ms_ssim_class")
    assert overall.needs == {"fake_images"} and per_class.needs == {"fake_images", "fake_labels"}
    assert per_class.needs_labels and not overall.needs_labels
    images = _blobs(20, 1, 28, 11)
    out = overall(EvalInputs(fake_images=images, seed=2), num_pairs=10)
    assert out == {
        "ms_ssim": pytest.approx(ms_ssim_diversity(images, 10, seed=2)["mean"], rel=1e-12),
        "ms_ssim_pairs": 10.0,
        "ms_ssim_upsample": 6.0,
    }
    out = per_class(EvalInputs(fake_images=images, fake_labels=torch.arange(20) % 2), num_pairs=5)
    assert set(out) == {"ms_ssim_class", "ms_ssim_class_0", "ms_ssim_class_1", "ms_ssim_pairs_per_class"}
    for key in out:
        assert output_info(key) is not None, key
    assert output_info("ms_ssim").better == "lower" and output_info("ms_ssim_class_1").role == "detail"
    assert output_info("ms_ssim_pairs").role == "setting" and output_info("ms_ssim_class").role == "score"
    with pytest.raises(SourceError, match="metric 'ms_ssim' needs fake_images"):
        overall(EvalInputs())
    with pytest.raises(SourceError, match="metric 'ms_ssim_class' needs fake_labels"):
        per_class(EvalInputs(fake_images=images))
    with pytest.raises(SourceError, match="expects uint8 images"):
        ms_ssim_diversity(images.float(), 5)
    with pytest.raises(ConfigError, match="win_size must be an odd integer"):
        ms_ssim_diversity(images, 5, win_size=4)
    with pytest.raises(ConfigError, match="num_pairs must be >= 1"):
        ms_ssim_diversity(images, 0)
    with pytest.raises(SourceError, match="at least 2 images"):
        ms_ssim_diversity(images[:1], 5)
    assert overall.check_params({"num_pairs": 50, "win_size": 7}, "eval.metric_params.ms_ssim")


# --- the evaluator hands the metric every generated image (EvalInputs.fake_images) ---------------


class _ClassImages(torch.nn.Module):
    """A conditional 'generator': class y gives a fixed smooth image plus noise scaled by z."""

    def __init__(self) -> None:
        super().__init__()
        self.z_dim, self.num_classes = 4, 10
        self.register_buffer("base", _blobs(10, 1, 28, 12).float() / 127.5 - 1)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return (self.base[y] + 0.3 * z[:, :1, None, None]).clamp(-1, 1)


def test_evaluate_gives_the_metric_every_generated_image(tmp_path):
    import ganbench

    images = _blobs(60, 1, 28, 13).numpy()
    ref = dict(real="fashion-mnist", split="test", n_real=200, batch_size=25, cache_dir=tmp_path)
    res = ganbench.evaluate(images, metrics=["ms_ssim"], metric_params={"ms_ssim": {"num_pairs": 40}}, **ref)
    # the scored images, in the order the source drew them (the preview holds all 60 here)
    assert len(res.preview) == 60 and sorted(res.preview.flatten(1).sum(1).tolist()) == sorted(
        torch.from_numpy(images).flatten(1).sum(1).tolist()
    )
    assert res.metrics["ms_ssim"] == pytest.approx(
        ms_ssim_diversity(res.preview, 40, seed=res.settings["seed"])["mean"], rel=1e-12
    )
    many = ganbench.evaluate(
        _blobs(100, 1, 28, 14).numpy(),
        metrics=["ms_ssim"],
        metric_params={"ms_ssim": {"num_pairs": 5}},
        **ref,
    )
    assert len(many.preview) == 64  # the image grid keeps its first PREVIEW images, no more
    # a conditional generator: the per-class metric gets the labelled set (as many per class as
    # reals of that class in the first n_real test images) and its images
    cond = ganbench.evaluate(
        _ClassImages(),
        n=50,
        metrics=["ms_ssim", "ms_ssim_class"],
        metric_params={"ms_ssim": {"num_pairs": 30}, "ms_ssim_class": {"num_pairs": 5}},
        **ref,
    )
    assert cond.provenance["n_fake_labelled"] == 200
    assert {f"ms_ssim_class_{c}" for c in range(10)} <= set(cond.metrics)
    assert cond.metrics["ms_ssim_class"] > cond.metrics["ms_ssim"]  # within a class the images are alike
