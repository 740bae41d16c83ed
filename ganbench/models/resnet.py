"""SNGAN's ResNet generator and discriminator (Miyato et al. 2018, appendix B; the conditional
versions of Miyato & Koyama 2018), and the residual blocks SAGAN and BigGAN build on.

G: linear z → s₀×s₀ map, up-blocks (BN → ReLU → 2× nearest upsample → 3×3 conv → BN → ReLU →
3×3 conv, learnable 1×1 shortcut), then BN → ReLU → 3×3 conv → tanh.
D: an "optimized" first block (conv → ReLU → conv → 2×2 average pool; shortcut pool → 1×1 conv),
then pre-activation down-blocks, ReLU, global *sum* pooling, linear; spectral norm on every layer.

Architectures (channel multipliers of ``ch``; the paper's defaults for ``ch``):
  32 (CIFAR-10): G 4×4, 3 blocks of 256; D 128 channels, down, down, –, –.
  48 (STL-10):   G 6×6, 512 → 256 → 128 → 64; D 64 → 128 → 256 → 512 (down) → 1024.
  64, 128 (the projection cGAN's ImageNet nets): G 16ch … ch; D ch … 16ch.
  28: the 32 architecture from a 7×7 start (7 → 14 → 28).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ganbench.models.base import DOutput
from ganbench.models.family import ImageFamily, resolution_plan
from ganbench.models.layers import (
    BatchNorm2d,
    ClassConditionalBatchNorm2d,
    DiscriminatorHead,
    InitScheme,
    MinibatchStdDev,
    SelfAttention,
    apply_spectral_norm,
    init_weights,
    one_hot_maps,
    require_labels,
)
from ganbench.registries import MODELS

Norm = Callable[[int], nn.Module]  # num_features -> a norm taking (x, cond)


# ---------------------------------------------------------------------------------------------
# blocks


class GBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, norm: Norm, upsample: bool = True) -> None:
        super().__init__()
        self.upsample = upsample
        self.bn1, self.bn2 = norm(c_in), norm(c_out)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1) if (c_in != c_out or upsample) else None

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        h = F.relu(self.bn1(x, cond))
        if self.upsample:
            h = F.interpolate(h, scale_factor=2, mode="nearest")
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h), cond)))
        return h + (self.shortcut(x) if self.shortcut is not None else x)


class DBlock(nn.Module):
    """Pre-activation residual down-block; ``first`` is SNGAN's optimized block (no activation on
    the raw image, shortcut pools before its 1×1 conv)."""

    def __init__(self, c_in: int, c_out: int, downsample: bool = True, first: bool = False) -> None:
        super().__init__()
        self.downsample, self.first = downsample, first
        self.conv1 = nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1) if (c_in != c_out or downsample or first) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else F.relu(x)
        h = self.conv2(F.relu(self.conv1(h)))
        if self.downsample:
            h = F.avg_pool2d(h, 2)
        s = x
        if self.first:
            s = self.shortcut(F.avg_pool2d(s, 2) if self.downsample else s)
        else:
            if self.shortcut is not None:
                s = self.shortcut(s)
            if self.downsample:
                s = F.avg_pool2d(s, 2)
        return h + s


# ---------------------------------------------------------------------------------------------
# architecture tables


@dataclass(frozen=True)
class GArch:
    bottom: int  # s₀
    ch: int  # default base channels
    mults: tuple[int, ...]  # channel multipliers: bottom map, then the output of each up-block


@dataclass(frozen=True)
class DArch:
    ch: int
    blocks: tuple[tuple[int, bool], ...]  # (channel multiplier, downsample) per block


def _g_layout(arch: GArch, ch: int) -> tuple[list[int], list[int]]:
    """(channels, side) of the bottom map and each block output."""
    chans = [m * ch for m in arch.mults]
    sides = [arch.bottom * 2**i for i in range(len(chans))]
    return chans, sides


def _d_layout(arch: DArch, ch: int, resolution: int) -> tuple[list[int], list[int]]:
    chans, sides, s = [], [], resolution
    for mult, down in arch.blocks:
        s = s // 2 if down else s
        chans.append(mult * ch)
        sides.append(s)
    return chans, sides


def _attention_index(attn_res: int, chans: list[int], sides: list[int], who: str) -> int | None:
    """Index of the first feature map of side ``attn_res`` (attention goes after it), or None."""
    if attn_res == 0:
        return None
    valid = sorted({s for s, c in zip(sides, chans, strict=True) if s % 2 == 0 and c >= 8})
    if attn_res not in valid:
        raise ValueError(
            f"attn_res={attn_res}: {who} has no feature map of that side for self-attention; "
            f"valid: {', '.join(map(str, valid)) or '(none at this width)'}, or 0 for none"
        )
    return sides.index(attn_res)


def generator_plan(
    table: dict[int, GArch],
    default_attn: dict[int, int],
    family: str,
    resolution: int,
    ch: int | None,
    attn_res: int | None,
) -> tuple[list[int], list[int], int | None]:
    """(channels, sides) of G's maps from the bottom up, and the index of the map followed by
    self-attention (None for none)."""
    arch = resolution_plan(table, resolution, family)
    if ch is not None and ch < 1:
        raise ValueError(f"ch must be >= 1, got {ch}")
    chans, sides = _g_layout(arch, ch or arch.ch)
    if attn_res is None:
        attn_res = default_attn.get(resolution, 0)
    # attention goes after an up-block: block outputs are maps 1.. of the layout
    at = _attention_index(attn_res, chans[1:], sides[1:], f"the {resolution}×{resolution} generator")
    return chans, sides, None if at is None else at + 1


def _g_norm(conditioning: str, num_classes: int | None) -> Norm:
    if conditioning in ("projection", "acgan"):
        return lambda c: ClassConditionalBatchNorm2d(c, num_classes)
    return BatchNorm2d


# ---------------------------------------------------------------------------------------------
# networks


class ResNetGenerator(nn.Module):
    """Class-conditional (``projection``/``acgan``) via class-conditional BN; ``concat`` appends
    one-hot y to z. ``attn_res`` > 0 adds SAGAN self-attention after the block of that side."""

    G_ARCH: ClassVar[dict[int, GArch]] = {
        28: GArch(7, 256, (1, 1, 1)),
        32: GArch(4, 256, (1, 1, 1, 1)),
        48: GArch(6, 64, (8, 4, 2, 1)),
        64: GArch(4, 64, (16, 8, 4, 2, 1)),
        128: GArch(4, 64, (16, 16, 8, 4, 2, 1)),
    }
    family: ClassVar[str] = "resnet"
    default_attn: ClassVar[dict[int, int]] = {}

    def __init__(
        self,
        z_dim: int,
        resolution: int,
        channels: int = 3,
        conditioning: str = "none",
        num_classes: int | None = None,
        *,
        ch: int | None = None,
        attn_res: int | None = None,
        sn: bool = False,
        init: InitScheme = "xavier",
    ) -> None:
        super().__init__()
        chans, sides, attn_at = self.plan(resolution, ch=ch, attn_res=attn_res)
        self.z_dim, self.num_classes, self.conditioning = z_dim, num_classes, conditioning
        self.concat = conditioning == "concat"
        self.class_bn = conditioning in ("projection", "acgan")
        norm = _g_norm(conditioning, num_classes)
        self.bottom, self.c0 = sides[0], chans[0]
        self.fc = nn.Linear(z_dim + (num_classes if self.concat else 0), chans[0] * sides[0] ** 2)
        self.blocks = nn.ModuleList(GBlock(a, b, norm) for a, b in zip(chans[:-1], chans[1:], strict=True))
        self.attn_at = attn_at
        self.attn = SelfAttention(chans[attn_at]) if attn_at is not None else None
        self.bn_out = BatchNorm2d(chans[-1])
        self.conv_out = nn.Conv2d(chans[-1], channels, 3, 1, 1)
        init_weights(self, init)
        if sn:
            apply_spectral_norm(
                self, skip=[m for m in self.modules() if isinstance(m, ClassConditionalBatchNorm2d)]
            )

    @classmethod
    def plan(
        cls, resolution: int, ch: int | None = None, attn_res: int | None = None, **_: Any
    ) -> tuple[list[int], list[int], int | None]:
        return generator_plan(cls.G_ARCH, cls.default_attn, cls.family, resolution, ch, attn_res)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        cond = None
        if self.concat:
            y = require_labels(y, f"this {self.family} generator")
            z = torch.cat([z, F.one_hot(y, self.num_classes).to(z.dtype)], dim=1)
        elif self.class_bn:
            cond = require_labels(y, f"this {self.family} generator")
        h = self.fc(z).view(len(z), self.c0, self.bottom, self.bottom)
        for i, block in enumerate(self.blocks, start=1):
            h = block(h, cond)
            if i == self.attn_at:
                h = self.attn(h)
        return torch.tanh(self.conv_out(F.relu(self.bn_out(h))))


class ResNetDiscriminator(nn.Module):
    """Spectral norm on every layer when ``sn`` (the default); ReLU + global sum pooling; the head
    adds projection / auxiliary-classifier outputs; ``concat`` appends one-hot maps to the input."""

    D_ARCH: ClassVar[dict[int, DArch]] = {
        28: DArch(128, ((1, True), (1, True), (1, False), (1, False))),
        32: DArch(128, ((1, True), (1, True), (1, False), (1, False))),
        48: DArch(64, ((1, True), (2, True), (4, True), (8, True), (16, False))),
        64: DArch(64, ((1, True), (2, True), (4, True), (8, True), (16, False))),
        128: DArch(64, ((1, True), (2, True), (4, True), (8, True), (16, True), (16, False))),
    }
    family: ClassVar[str] = "resnet"
    default_attn: ClassVar[dict[int, int]] = {}

    def __init__(
        self,
        resolution: int,
        channels: int = 3,
        conditioning: str = "none",
        num_classes: int | None = None,
        *,
        ch: int | None = None,
        attn_res: int | None = None,
        sn: bool = True,
        init: InitScheme = "xavier",
        minibatch_std: bool = False,
        minibatch_std_group: int = 4,
        minibatch_disc: bool = False,
        minibatch_disc_kernels: int = 100,
        minibatch_disc_dim: int = 5,
    ) -> None:
        super().__init__()
        chans, sides, attn_at = self.plan(resolution, ch=ch, attn_res=attn_res)
        self.num_classes, self.conditioning = num_classes, conditioning
        self.concat = conditioning == "concat"
        c_in = channels + (num_classes if self.concat else 0)
        downs = [down for _, down in self.D_ARCH[resolution].blocks]
        ins = [c_in] + chans[:-1]
        layout = zip(ins, chans, downs, strict=True)
        self.blocks = nn.ModuleList(DBlock(a, b, down, first=i == 0) for i, (a, b, down) in enumerate(layout))
        self.attn_at = attn_at
        self.attn = SelfAttention(chans[attn_at]) if attn_at is not None else None
        self.mbstd = MinibatchStdDev(minibatch_std_group) if minibatch_std else None
        feat = chans[-1] + (1 if minibatch_std else 0)
        self.head = DiscriminatorHead(
            feat, conditioning, num_classes, minibatch_disc, minibatch_disc_kernels, minibatch_disc_dim
        )
        init_weights(self, init)
        if sn:
            apply_spectral_norm(self)

    @classmethod
    def plan(
        cls, resolution: int, ch: int | None = None, attn_res: int | None = None, **_: Any
    ) -> tuple[list[int], list[int], int | None]:
        arch = resolution_plan(cls.D_ARCH, resolution, cls.family)
        if ch is not None and ch < 1:
            raise ValueError(f"ch must be >= 1, got {ch}")
        chans, sides = _d_layout(arch, ch or arch.ch, resolution)
        if attn_res is None:
            attn_res = cls.default_attn.get(resolution, 0)
        at = _attention_index(attn_res, chans, sides, f"the {resolution}×{resolution} discriminator")
        return chans, sides, at

    def features(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        if self.concat:
            y = require_labels(y, f"this {self.family} discriminator")
            x = torch.cat([x, one_hot_maps(y, self.num_classes, x.shape[2:], x.dtype)], dim=1)
        h = x
        for i, block in enumerate(self.blocks):
            h = block(h)
            if i == self.attn_at:
                h = self.attn(h)
        if self.mbstd is not None:
            h = self.mbstd(h)
        return F.relu(h).sum(dim=(2, 3))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, return_aux: bool = False) -> Any:
        h = self.features(x, y)
        logits, class_logits = self.head(h, y)
        return DOutput(logits, class_logits, h) if return_aux else logits


@MODELS.register("resnet")
class ResNetFamily(ImageFamily):
    """SNGAN ResNet; ``model.g``: ch, attn_res, sn, init; ``model.d``: ch, attn_res, sn, init,
    minibatch_std(_group), minibatch_disc(_kernels, _dim)."""

    name = "resnet"
    generator = ResNetGenerator
    discriminator = ResNetDiscriminator
    resolutions = (28, 32, 48, 64, 128)
    conditionings = ("none", "concat", "acgan", "projection")
