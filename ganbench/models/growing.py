"""What progressively grown networks share (Karras et al. 2018, "Progressive growing of GANs").

The growing contract, between the trainer's schedule and a family's networks:

* A network that grows has ``growth_resolutions`` (e.g. ``(4, 8, 16, 32)``, the last one the
  data's) and ``set_growth(level, alpha)``: ``level`` indexes ``growth_resolutions`` (the
  resolution being trained) and ``alpha`` in [0, 1] is the fade-in of that level's block
  (1 = fully in; level 0 is always 1).
* Both networks keep the *data's* resolution at their interface: G returns full-resolution images
  (its current-resolution output upsampled, nearest neighbour, so each pixel is a block of equal
  pixels) and D takes full-resolution images (average-pooled down to the current resolution).
  Real and fake therefore meet D through the same downsampling, the trainer, the data stream and
  the evaluation never see the current resolution, and an evaluation during growth scores the
  nearest-upsampled images at the target resolution.
* The growth state is a pure function of the training step (the schedule, ``training/growing.py``),
  so it is not saved in checkpoints: resume calls ``set_growth`` again from the step. During a
  fade-in the trainer blends the real images the same way as G's output ((1 − α)·the previous
  resolution upsampled + α·the current one), as the paper does; the networks need not.

The equalised-learning-rate layers (§4.1): weights are stored as N(0, 1) / lr_mul and scaled at
run time by ``lr_mul · gain / sqrt(fan_in)`` (He's constant), so Adam's per-parameter step sizes are
the same for every layer whatever its fan-in. ``lr_mul`` is StyleGAN's learning-rate multiplier of
the mapping network (0.01).
"""

from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import nn


@runtime_checkable
class Growable(Protocol):
    growth_resolutions: tuple[int, ...]

    def set_growth(self, level: int, alpha: float) -> None: ...


def grows(net: nn.Module) -> bool:
    """Whether ``net`` follows the growing contract."""
    return isinstance(net, Growable)


class EqualizedLinear(nn.Module):
    """Linear layer with equalised learning rate (runtime He scaling of N(0, 1) weights)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        gain: float = math.sqrt(2),
        lr_mul: float = 1.0,
        bias_init: float = 0.0,
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init) / lr_mul)) if bias else None
        self.scale = lr_mul * gain / math.sqrt(in_features)
        self.lr_mul = lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = self.bias * self.lr_mul if self.bias is not None else None
        return F.linear(x, self.weight * self.scale, b)

    def extra_repr(self) -> str:
        o, i = self.weight.shape
        return f"{i}, {o}, lr_mul={self.lr_mul:g}"


class EqualizedConv2d(nn.Module):
    """Conv layer with equalised learning rate; 'same' padding for odd kernels."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        bias: bool = True,
        gain: float = math.sqrt(2),
        padding: int | None = None,
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.scale = gain / math.sqrt(in_channels * kernel_size * kernel_size)
        self.padding = kernel_size // 2 if padding is None else padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)

    def extra_repr(self) -> str:
        o, i, k, _ = self.weight.shape
        return f"{i}, {o}, kernel_size={k}"


class PixelNorm(nn.Module):
    """Pixelwise feature vector normalisation (§4.2): each pixel's feature vector to unit mean square."""

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + self.eps)


def to_resolution(x: torch.Tensor, size: int) -> torch.Tensor:
    """Images to ``size``×``size`` the growing way: nearest upsampling (an integer factor) or average
    pooling, so that downsampling an upsampled image gives it back exactly."""
    s = x.shape[-1]
    if s == size:
        return x
    if s < size:
        return F.interpolate(x, scale_factor=size // s, mode="nearest")
    return F.avg_pool2d(x, s // size)


def fade(old: torch.Tensor, new: torch.Tensor, alpha: float) -> torch.Tensor:
    """The fade-in blend (1 − α)·old + α·new; exactly ``new`` at α = 1 and ``old`` at α = 0."""
    if alpha >= 1.0:
        return new
    if alpha <= 0.0:
        return old
    return torch.lerp(old, new, alpha)


def check_growth(resolutions: tuple[int, ...], level: int, alpha: float, who: str) -> None:
    if not 0 <= level < len(resolutions):
        raise ValueError(f"{who}: growth level {level} outside 0..{len(resolutions) - 1} ({resolutions})")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"{who}: fade-in alpha must be in [0, 1], got {alpha}")
