"""Metrics of image-to-image translation: translated images against their ground truth (paired
tasks) and against the class they should be (class-to-class tasks).

Every one reads uint8 images, so the numbers do not depend on how a translator scales its output:

- ``l1``: the mean absolute error per pixel and channel, on intensities scaled to [0, 1]
  (|a − b| / 255), the average over images. Pix2Pix trains with L1 on [-1, 1]: that loss is twice
  this number.
- ``psnr``: per image 10·log10(255² / MSE) in dB, the mean over images (the super-resolution
  protocol; an exact copy has infinite PSNR, and so does the mean). Computed by hand: it is the
  definition, no library needed.
- ``ssim``: SSIM (Wang et al. 2004) by ``pytorch_msssim.ssim``: an 11×11 Gaussian window of
  σ = 1.5, K₁ = 0.01, K₂ = 0.03, data range 255, the mean of the SSIM map over the valid window
  positions, per image and channel, then the mean over images. That is scikit-image's
  ``structural_similarity`` with ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False``
  (the tests check it).
- ``classifier_score``: the fraction of translated images that the feature extractor's classifier
  assigns to the class they should have (``target_labels``: the ground truth's class, or the
  target class of a class-to-class task). It is this suite's offline analogue of the Pix2Pix
  paper's FCN-score (a segmentation network trained on the target domain judging the outputs):
  here the shipped Fashion-MNIST classifier judges whether a translated sneaker is an ankle boot.
  It measures recognisability as the target class, not fidelity to the input.
"""

from __future__ import annotations

from typing import Any

import torch

from ganbench.errors import SourceError
from ganbench.evaluation.inputs import EvalInputs
from ganbench.evaluation.metric import Output, register_metric

SSIM_WIN = 11
SSIM_SIGMA = 1.5
BATCH = 512  # images per SSIM call: bounds the float32 working set


def _pairs(inputs: EvalInputs, metric: str) -> tuple[torch.Tensor, torch.Tensor]:
    fake, target = inputs.fake_images, inputs.target_images
    assert fake is not None and target is not None  # the metric's needs
    if fake.shape != target.shape:
        raise SourceError(
            f"{metric}: translated images {tuple(fake.shape)} and ground truth {tuple(target.shape)} "
            f"differ in shape; a translator must return images of its target domain's size"
        )
    return fake, target


def per_image_l1(fake: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean |fake − target| / 255 of each uint8 image pair (float64)."""
    diff = (fake.to(torch.int16) - target.to(torch.int16)).abs().to(torch.float64) / 255.0
    return diff.flatten(1).mean(1)


def per_image_psnr(fake: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """10·log10(255² / MSE) of each uint8 image pair (float64; inf for an exact copy)."""
    mse = (fake.to(torch.float64) - target.to(torch.float64)).square().flatten(1).mean(1)
    return 10.0 * torch.log10(255.0**2 / mse)  # mse = 0 gives inf, as the definition does


def per_image_ssim(fake: torch.Tensor, target: torch.Tensor, win_size: int = SSIM_WIN) -> torch.Tensor:
    """pytorch-msssim's SSIM of each uint8 image pair, averaged over channels (float64)."""
    from pytorch_msssim import ssim  # needed by this metric alone: imported on use

    h, w = fake.shape[-2:]
    if min(h, w) < win_size:
        raise SourceError(f"ssim: images of {h}×{w} are smaller than the {win_size}×{win_size} window")
    out = []
    for i in range(0, len(fake), BATCH):
        x, y = fake[i : i + BATCH].float(), target[i : i + BATCH].float()
        out.append(ssim(x, y, data_range=255, size_average=False, win_size=win_size, win_sigma=SSIM_SIGMA))
    return torch.cat(out).to(torch.float64)


@register_metric(
    "l1",
    needs={"fake_images", "target_images"},
    outputs=[Output("l1", "lower", display="L1")],
    data_kind="translation",
    order=60,
)
def l1(inputs: EvalInputs) -> dict[str, Any]:
    return {"l1": float(per_image_l1(*_pairs(inputs, "l1")).mean())}


@register_metric(
    "psnr",
    needs={"fake_images", "target_images"},
    outputs=[Output("psnr", "higher", display="PSNR (dB)")],
    data_kind="translation",
    order=61,
)
def psnr(inputs: EvalInputs) -> dict[str, Any]:
    return {"psnr": float(per_image_psnr(*_pairs(inputs, "psnr")).mean())}


@register_metric(
    "ssim",
    needs={"fake_images", "target_images"},
    outputs=[Output("ssim", "higher", display="SSIM"), Output("ssim_win_size", role="setting")],
    data_kind="translation",
    order=62,
)
def ssim(inputs: EvalInputs, win_size: int = SSIM_WIN) -> dict[str, Any]:
    if win_size < 3 or win_size % 2 == 0:
        raise SourceError(f"ssim: win_size must be an odd integer >= 3, got {win_size}")
    return {
        "ssim": float(per_image_ssim(*_pairs(inputs, "ssim"), win_size).mean()),
        "ssim_win_size": win_size,
    }


@register_metric(
    "classifier_score",
    needs={"fake_logits", "target_labels"},
    outputs=[Output("classifier_score", "higher", display="classifier score")],
    data_kind="translation",
    order=63,
)
def classifier_score(inputs: EvalInputs) -> dict[str, Any]:
    logits, target = inputs.fake_logits, inputs.target_labels
    assert logits is not None and target is not None
    if len(logits) != len(target):
        raise SourceError(
            f"classifier_score: {len(logits)} classified images but {len(target)} target classes"
        )
    if int(target.max()) >= logits.shape[1] or int(target.min()) < 0:
        raise SourceError(
            f"classifier_score: target classes span {int(target.min())}..{int(target.max())}, but the "
            f"extractor's classifier has {logits.shape[1]} classes"
        )
    hits = logits.argmax(1).cpu() == target.cpu()
    return {"classifier_score": float(hits.to(torch.float64).mean())}
