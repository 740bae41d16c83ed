"""Image preprocessing: any image → uint8 C×H×W at the configured size (torchvision.transforms.v2).

One function, :meth:`Preprocess.__call__`, handles single images and batches alike, so the in-memory
fast path (whole arrays at once) and the streaming path (one image per DataLoader item) give the
same pixels. The steps, in order:

1. centre crop to a square (side ``crop``, default the shorter side): CelebA, STL10 crops, folders;
2. resize to ``resolution`` × ``resolution`` with antialiasing;
3. channel conversion (RGB → L with ITU-R 601 luma weights, L → RGB by repetition).

Float images for training are ``u / 127.5 − 1``: the evaluator's quantisation
``(x·127.5 + 128).clamp(0, 255)`` (truncated) maps them back to exactly ``u``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import PIL.Image
import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from ganbench.errors import ConfigError

Interpolation = Literal["bilinear", "bicubic", "nearest"]
_MODES = {
    "bilinear": v2.InterpolationMode.BILINEAR,
    "bicubic": v2.InterpolationMode.BICUBIC,
    "nearest": v2.InterpolationMode.NEAREST,
}
_GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}


def to_uint8_chw(img: Any) -> torch.Tensor:
    """A PIL image, H×W(×C) uint8 array or C×H×W uint8 tensor as a plain uint8 C×H×W tensor (1 or 3
    channels). Palette, alpha and 16-bit images are converted by PIL to L or RGB (alpha dropped)."""
    if isinstance(img, PIL.Image.Image):
        if img.mode not in ("L", "RGB"):
            img = img.convert("L" if img.mode in _GREY_MODES else "RGB")
        return F.pil_to_tensor(img)
    if isinstance(img, np.ndarray):
        t = torch.from_numpy(np.ascontiguousarray(img))
        t = t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1)
    elif isinstance(img, torch.Tensor):
        t = img.unsqueeze(0) if img.ndim == 2 else img
    else:
        raise TypeError(f"expected a PIL image, numpy array or tensor, got {type(img).__name__}")
    if t.dtype != torch.uint8:
        if not t.is_floating_point():
            raise TypeError(f"integer images must be uint8, got {t.dtype}")
        # float tensors (e.g. FakeData through ToTensor) are taken as [0, 1]
        t = (t.clamp(0, 1) * 255).round().to(torch.uint8)
    if t.ndim != 3 or t.shape[0] not in (1, 3):
        raise TypeError(f"expected a 1- or 3-channel image, got shape {tuple(t.shape)}")
    return t.as_subclass(torch.Tensor).contiguous()


@dataclass(frozen=True)
class Preprocess:
    """Square crop → resize → channel conversion, on uint8 tensors ``[..., C, H, W]``."""

    resolution: int
    channels: int
    crop: int | None = None  # None: the shorter side of each image
    interpolation: Interpolation = "bilinear"

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        side = self.crop if self.crop is not None else min(h, w)
        if side > min(h, w):
            raise ConfigError(f"data.params.crop={side} is larger than the image ({h}×{w})")
        if (h, w) != (side, side):
            x = F.center_crop(x, [side, side])
        if side != self.resolution:
            # Resize in float32 and round ourselves: torch's native uint8 kernel is used only on CPUs
            # with AVX2, and may differ by one grey level from the float path on others.
            y = F.resize(
                x.float(), [self.resolution, self.resolution], _MODES[self.interpolation], antialias=True
            )
            x = y.round_().clamp_(0, 255).to(torch.uint8)
        if self.channels == 1 and x.shape[-3] == 3:
            x = F.rgb_to_grayscale(x, num_output_channels=1)
        elif self.channels == 3 and x.shape[-3] == 1:
            x = F.grayscale_to_rgb(x)
        return x.contiguous()

    def describe(self) -> dict[str, Any]:
        return {
            "resolution": self.resolution,
            "channels": self.channels,
            "crop": self.crop if self.crop is not None else "shorter side",
            "interpolation": self.interpolation,
            "antialias": True,
        }


def to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 images → float32 in [-1, 1] (``u / 127.5 − 1``)."""
    return x.to(torch.float32).div_(127.5).sub_(1.0)
