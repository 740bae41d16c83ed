"""MS-SSIM diversity of generated images: the mean MS-SSIM (Wang et al. 2003) of random pairs of
generated images, computed by ``pytorch_msssim.ms_ssim``. Lower = the pairs look less alike = more
diverse (Odena et al. 2017 use it within a class to detect mode collapse); it says nothing of
fidelity (independent noise scores near 0).

Protocol (pinned, the choices recorded beside the numbers):

- ``ms_ssim``: ``num_pairs`` (5000) pairs over all generated images; ``ms_ssim_class``: within each
  class of the labelled samples, ``num_pairs`` (100, Odena et al.'s count per class) pairs per class,
  the mean over classes, per-class values as ``ms_ssim_class_<c>``.
- A pair is two distinct images i ≠ j drawn uniformly (i uniform, j uniform among the others), pairs
  independently (with replacement), from ``np.random.default_rng(seed)`` (the evaluation seed).
- ``ms_ssim(x, y, data_range=255, win_size=11, win_sigma=1.5)`` on the uint8 values as float32, the
  package's 5 scales and weights (Wang et al.'s), averaged over channels.
- Small images: the package requires the smaller side > (win_size − 1) · 2⁴ (its 4 downsamplings),
  whatever the number of scales, so at 28 × 28 or 32 × 32 only win_size = 1 would pass, and a
  one-pixel window has σ = 0, so its contrast-structure term is identically 1 (MS-SSIM would measure
  nothing). ganbench keeps the package's window and scales and instead upsamples both images by
  the smallest integer factor s that satisfies the constraint, by pixel replication (nearest
  neighbour: no new pixel values; 28 → 168 and 32 → 192 at s = 6, 64 → 192, 128 → 256), recorded as
  ``ms_ssim_upsample``. The five scales then span about 2 to 30 original pixels: from local texture
  to the whole image. A smaller ``win_size`` needs a smaller factor and is cheaper.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation.arrays import as_labels
from ganbench.evaluation.inputs import EvalInputs
from ganbench.evaluation.metric import Output, register_metric

NUM_PAIRS = 5000
NUM_PAIRS_PER_CLASS = 100
WIN_SIZE = 11
WIN_SIGMA = 1.5
BATCH_PAIRS = 100  # pairs per ms_ssim call: bounds the float32 working set of the upsampled images


def upsample_factor(height: int, width: int, win_size: int = WIN_SIZE) -> int:
    """The smallest integer s with min(H, W) · s > (win_size − 1) · 16 (pytorch_msssim's assertion)."""
    need = (win_size - 1) * 16
    return need // min(height, width) + 1


def random_pairs(n: int, num_pairs: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``num_pairs`` pairs (i, j) of distinct indices in 0..n−1, each uniform over ordered pairs."""
    if n < 2:
        raise SourceError(f"ms_ssim: needs at least 2 images to form a pair, got {n}")
    i = rng.integers(0, n, size=num_pairs)
    j = (i + rng.integers(1, n, size=num_pairs)) % n  # uniform over the n − 1 others
    return i, j


def _prepare(images: torch.Tensor, factor: int) -> torch.Tensor:
    x = images.to(torch.float32)
    if factor > 1:  # pixel replication: the same values, a larger grid
        x = x.repeat_interleave(factor, dim=-2).repeat_interleave(factor, dim=-1)
    return x


def ms_ssim_of_pairs(
    images: torch.Tensor,
    i: np.ndarray,
    j: np.ndarray,
    win_size: int = WIN_SIZE,
    win_sigma: float = WIN_SIGMA,
    factor: int | None = None,
) -> torch.Tensor:
    """MS-SSIM of each pair (images[i], images[j]) of uint8 N×C×H×W images (float64 CPU vector)."""
    # pytorch-msssim is needed by this metric alone: imported on use
    from pytorch_msssim import ms_ssim

    if win_size < 1 or win_size % 2 == 0:
        raise ConfigError(f"ms_ssim: win_size must be an odd integer >= 1, got {win_size}")
    factor = factor or upsample_factor(images.shape[-2], images.shape[-1], win_size)
    out = []
    for s in range(0, len(i), BATCH_PAIRS):
        a = _prepare(images[torch.as_tensor(i[s : s + BATCH_PAIRS])], factor)
        b = _prepare(images[torch.as_tensor(j[s : s + BATCH_PAIRS])], factor)
        out.append(
            ms_ssim(a, b, data_range=255, size_average=False, win_size=win_size, win_sigma=win_sigma).double()
        )
    return torch.cat(out).cpu() if out else torch.empty(0, dtype=torch.float64)


def _check_images(images: Any) -> torch.Tensor:
    if images is None:
        raise SourceError("ms_ssim: no generated images given")
    x = torch.as_tensor(images)
    if x.ndim != 4 or x.dtype != torch.uint8:
        raise SourceError(f"ms_ssim: expects uint8 images N×C×H×W, got {x.dtype} of shape {tuple(x.shape)}")
    return x


def ms_ssim_diversity(
    images: Any,
    num_pairs: int = NUM_PAIRS,
    seed: int = 0,
    win_size: int = WIN_SIZE,
    win_sigma: float = WIN_SIGMA,
) -> dict[str, float]:
    """Mean MS-SSIM over ``num_pairs`` random pairs of distinct images (overall)."""
    if num_pairs < 1:
        raise ConfigError(f"ms_ssim: num_pairs must be >= 1, got {num_pairs}")
    x = _check_images(images)
    i, j = random_pairs(len(x), num_pairs, np.random.default_rng(seed))
    values = ms_ssim_of_pairs(x, i, j, win_size, win_sigma)
    return {"mean": float(values.mean()), "upsample": upsample_factor(x.shape[-2], x.shape[-1], win_size)}


def ms_ssim_per_class(
    images: Any,
    labels: Any,
    num_pairs: int = NUM_PAIRS_PER_CLASS,
    seed: int = 0,
    win_size: int = WIN_SIZE,
    win_sigma: float = WIN_SIGMA,
) -> dict[str, Any]:
    """Mean MS-SSIM of ``num_pairs`` random pairs within each class (classes in label order, one
    generator for all of them), and the mean over classes."""
    if num_pairs < 1:
        raise ConfigError(f"ms_ssim_class: num_pairs must be >= 1, got {num_pairs}")
    x = _check_images(images)
    y = as_labels(labels, "fake_labels", len(x))
    rng = np.random.default_rng(seed)
    per_class: dict[int, float] = {}
    for c in torch.unique(y).tolist():
        members = torch.nonzero(y == c).flatten().numpy()
        if len(members) < 2:
            raise SourceError(f"ms_ssim_class: class {c} has {len(members)} generated image(s); needs 2")
        i, j = random_pairs(len(members), num_pairs, rng)
        per_class[c] = float(ms_ssim_of_pairs(x, members[i], members[j], win_size, win_sigma).mean())
    return {
        "mean": float(np.mean(list(per_class.values()))),
        "per_class": per_class,
        "upsample": upsample_factor(x.shape[-2], x.shape[-1], win_size),
    }


@register_metric(
    "ms_ssim",
    {"fake_images"},
    [
        Output("ms_ssim", "lower", display="MS-SSIM (lower: more diverse)"),
        Output("ms_ssim_pairs", role="setting"),
        Output("ms_ssim_upsample", role="setting"),
    ],
    order=78,
    bootstrap=(
        "the score already averages random pairs of generated images; duplicates would pair an "
        "image with itself"
    ),
)
def ms_ssim_metric(
    inputs: EvalInputs, num_pairs: int = NUM_PAIRS, win_size: int = WIN_SIZE, win_sigma: float = WIN_SIGMA
) -> dict[str, float]:
    """Mean MS-SSIM of random pairs of generated images; lower = more diverse."""
    res = ms_ssim_diversity(inputs.fake_images, num_pairs, inputs.seed, win_size, win_sigma)
    return {
        "ms_ssim": res["mean"],
        "ms_ssim_pairs": float(num_pairs),
        "ms_ssim_upsample": float(res["upsample"]),
    }


@register_metric(
    "ms_ssim_class",
    {"fake_images", "fake_labels"},
    [
        Output("ms_ssim_class", "lower", display="class MS-SSIM (lower: more diverse)"),
        Output("ms_ssim_class_*", "lower", role="detail"),
        Output("ms_ssim_pairs_per_class", role="setting"),
    ],
    order=79,
)
def ms_ssim_class_metric(
    inputs: EvalInputs,
    num_pairs: int = NUM_PAIRS_PER_CLASS,
    win_size: int = WIN_SIZE,
    win_sigma: float = WIN_SIGMA,
) -> dict[str, float]:
    """Mean over classes of the within-class MS-SSIM of generated pairs; per class as detail."""
    res = ms_ssim_per_class(
        inputs.fake_images, inputs.fake_labels, num_pairs, inputs.seed, win_size, win_sigma
    )
    out = {"ms_ssim_class": res["mean"], "ms_ssim_pairs_per_class": float(num_pairs)}
    out.update({f"ms_ssim_class_{c}": v for c, v in res["per_class"].items()})
    return out
