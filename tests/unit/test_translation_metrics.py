"""The translation metrics against scikit-image and hand-computed values on tiny images."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from ganbench.errors import SourceError
from ganbench.evaluation.inputs import EvalInputs
from ganbench.evaluation.metric import compute_metrics, get_metric, resample_fake


def _pair(seed: int = 0, n: int = 6, c: int = 1, size: int = 28) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    target = torch.randint(0, 256, (n, c, size, size), generator=g, dtype=torch.uint8)
    noise = torch.randint(-40, 41, target.shape, generator=g)
    fake = (target.to(torch.int32) + noise).clamp(0, 255).to(torch.uint8)
    return fake, target


def test_l1_and_psnr_by_hand_on_a_2x2_image() -> None:
    target = torch.tensor([[[[0, 100], [200, 255]]]], dtype=torch.uint8)
    fake = torch.tensor([[[[10, 100], [180, 255]]]], dtype=torch.uint8)
    out = compute_metrics(["l1", "psnr"], EvalInputs(fake_images=fake, target_images=target))
    assert out["l1"] == pytest.approx((10 + 0 + 20 + 0) / 4 / 255)
    mse = (10**2 + 20**2) / 4
    assert out["psnr"] == pytest.approx(10 * math.log10(255**2 / mse))


def test_psnr_of_an_exact_copy_is_infinite() -> None:
    _, target = _pair()
    assert compute_metrics(["psnr"], EvalInputs(fake_images=target, target_images=target))["psnr"] == math.inf


def test_psnr_and_ssim_equal_scikit_image() -> None:
    fake, target = _pair(n=5)
    out = compute_metrics(["psnr", "ssim"], EvalInputs(fake_images=fake, target_images=target))
    f, t = fake[:, 0].numpy(), target[:, 0].numpy()
    psnr = np.mean([peak_signal_noise_ratio(t[i], f[i], data_range=255) for i in range(len(f))])
    ssim = np.mean(
        [
            structural_similarity(
                f[i], t[i], gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
            )
            for i in range(len(f))
        ]
    )
    assert out["psnr"] == pytest.approx(psnr, rel=1e-12)
    assert out["ssim"] == pytest.approx(ssim, abs=1e-6)  # pytorch-msssim works in float32
    assert 0.5 < out["ssim"] < 0.99  # noisy copies: similar, not equal


def test_ssim_of_rgb_images_averages_channels_like_scikit_image() -> None:
    fake, target = _pair(n=3, c=3, size=32)
    out = compute_metrics(["ssim"], EvalInputs(fake_images=fake, target_images=target))
    f, t = fake.permute(0, 2, 3, 1).numpy(), target.permute(0, 2, 3, 1).numpy()
    ref = np.mean(
        [
            structural_similarity(
                f[i], t[i], gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                data_range=255, channel_axis=-1,
            )
            for i in range(len(f))
        ]
    )  # fmt: skip
    assert out["ssim"] == pytest.approx(ref, abs=1e-6)


def test_ssim_refuses_images_smaller_than_its_window() -> None:
    fake, target = _pair(size=8)
    with pytest.raises(SourceError, match="smaller than the 11×11 window"):
        compute_metrics(["ssim"], EvalInputs(fake_images=fake, target_images=target))


def test_a_translator_output_of_the_wrong_shape_is_named() -> None:
    fake, target = _pair()
    with pytest.raises(SourceError, match="a translator must return images of its target domain's size"):
        compute_metrics(["l1"], EvalInputs(fake_images=fake[..., :14, :14], target_images=target))


def test_classifier_score_is_the_fraction_assigned_to_the_target_class() -> None:
    logits = torch.tensor([[5.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 5.0], [0.0, 5.0, 0.0]])
    target = torch.tensor([0, 1, 1, 1])
    out = compute_metrics(["classifier_score"], EvalInputs(fake_logits=logits, target_labels=target))
    assert out["classifier_score"] == pytest.approx(3 / 4)
    with pytest.raises(SourceError, match="classifier has 3 classes"):
        compute_metrics(
            ["classifier_score"], EvalInputs(fake_logits=logits, target_labels=torch.tensor([0, 1, 2, 7]))
        )


def test_metrics_declare_their_direction_and_kind() -> None:
    assert get_metric("l1").outputs[0].better == "lower"
    for name in ("psnr", "ssim", "classifier_score"):
        assert get_metric(name).outputs[0].better == "higher"
        assert get_metric(name).data_kind == "translation"


def test_a_bootstrap_resamples_the_ground_truth_with_the_translated_images() -> None:
    fake, target = _pair(n=4)
    inputs = EvalInputs(fake_images=fake, target_images=target, target_labels=torch.arange(4))
    index = torch.tensor([3, 3, 0, 1])
    out = resample_fake(inputs, index)
    assert torch.equal(out.fake_images, fake[index]) and torch.equal(out.target_images, target[index])
    assert out.target_labels.tolist() == [3, 3, 0, 1]
