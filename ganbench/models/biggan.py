"""BigGAN (Brock et al. 2019).

G: the SNGAN ResNet generator with
  * a shared class embedding (``shared_dim``) instead of per-layer class tables,
  * skip-z / hierarchical latents (``hier``): z is split into one chunk for the first linear layer
    and one per block; each block's batch norms are conditioned on [embedding, z chunk] through
    linear projections (gain = 1 + W_g c, bias = W_b c),
  * self-attention, spectral norm and orthogonal init,
  * the truncation trick at sampling time: :func:`truncate` / ``G.sample_truncated``.
D: the ResNet discriminator with BigGAN's widths, self-attention, spectral norm, projection head.
Orthogonal regularisation is the ``ortho_reg`` technique; the EMA of G is ``train.ema_decay``
(BigGAN: 0.9999, started after 20k iterations).

Architectures (BigGAN-PyTorch's tables; channel multipliers of ``ch``):
  128: G 16,16,8,4,2,1 (ch 96), D 1,2,4,8,16,16 (ch 96), attention at 64.
  64:  G 16,16,8,4,2 (ch 64), D 1,2,4,8,16 (ch 64), attention at 32.
  32:  G 4,4,4,4 (ch 64), D 4,4,4,4 (ch 64), no attention (the reference CIFAR setting).
  28:  the 32 nets from a 7×7 start.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ganbench.models.family import ImageFamily, with_defaults
from ganbench.models.layers import (
    BatchNorm2d,
    InitScheme,
    LinearConditionalBatchNorm2d,
    SelfAttention,
    apply_spectral_norm,
    init_weights,
    require_labels,
)
from ganbench.models.resnet import DArch, GArch, GBlock, ResNetDiscriminator, generator_plan
from ganbench.registries import CONDITIONINGS, MODELS


def truncate(z: torch.Tensor, threshold: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """The truncation trick: resample every entry of ``z`` with |z| > threshold from N(0, 1) until
    none is left (a truncated normal, by rejection; deterministic given ``generator``)."""
    if threshold <= 0:
        raise ValueError(f"truncation threshold must be > 0, got {threshold}")
    z = z.clone()
    mask = z.abs() > threshold
    while mask.any():
        k = int(mask.sum())
        dev = generator.device if generator is not None else z.device
        z[mask] = torch.randn(k, generator=generator, device=dev).to(z)
        mask = z.abs() > threshold
    return z


def truncated_noise(
    n: int,
    z_dim: int,
    threshold: float,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    dev = generator.device if generator is not None else device
    z = torch.randn(n, z_dim, generator=generator, device=dev)
    return truncate(z, threshold, generator).to(device if device is not None else z.device)


class BigGANGenerator(nn.Module):
    G_ARCH: ClassVar[dict[int, GArch]] = {
        28: GArch(7, 64, (4, 4, 4)),
        32: GArch(4, 64, (4, 4, 4, 4)),
        64: GArch(4, 64, (16, 16, 8, 4, 2)),
        128: GArch(4, 96, (16, 16, 8, 4, 2, 1)),
    }
    family: ClassVar[str] = "biggan"
    default_attn: ClassVar[dict[int, int]] = {64: 32, 128: 64}

    def __init__(
        self,
        z_dim: int,
        resolution: int,
        channels: int = 3,
        conditioning: str = "none",
        num_classes: int | None = None,
        *,
        ch: int | None = None,
        shared_dim: int = 128,
        hier: bool = True,
        attn_res: int | None = None,
        sn: bool = True,
        init: InitScheme = "ortho",
    ) -> None:
        super().__init__()
        chans, sides, attn_at = self.plan(resolution, ch=ch, attn_res=attn_res, hier=hier, z_dim=z_dim)
        if shared_dim < 1:
            raise ValueError(f"shared_dim must be >= 1, got {shared_dim}")
        self.z_dim, self.num_classes, self.conditioning = z_dim, num_classes, conditioning
        self.conditional = CONDITIONINGS.get(conditioning).needs_labels
        self.hier = hier
        n_blocks = len(chans) - 1
        self.num_slots = n_blocks + 1 if hier else 1
        sizes = [len(c) for c in torch.arange(z_dim).tensor_split(self.num_slots)]
        self.shared = nn.Embedding(num_classes, shared_dim) if self.conditional else None
        cond_dims = [
            (shared_dim if self.conditional else 0) + (sizes[i + 1] if hier else 0) for i in range(n_blocks)
        ]
        self.bottom, self.c0 = sides[0], chans[0]
        self.fc = nn.Linear(sizes[0], chans[0] * sides[0] ** 2)
        self.blocks = nn.ModuleList()
        for a, b, cd in zip(chans[:-1], chans[1:], cond_dims, strict=True):
            norm = (lambda c, cd=cd: LinearConditionalBatchNorm2d(c, cd)) if cd else BatchNorm2d
            self.blocks.append(GBlock(a, b, norm))
        self.attn_at = attn_at
        self.attn = SelfAttention(chans[attn_at]) if attn_at is not None else None
        self.bn_out = BatchNorm2d(chans[-1])
        self.conv_out = nn.Conv2d(chans[-1], channels, 3, 1, 1)
        init_weights(self, init)
        if sn:
            # the shared embedding stays unnormalised, as in the reference code
            apply_spectral_norm(self, skip=[self.shared] if self.shared is not None else [])

    @classmethod
    def plan(
        cls,
        resolution: int,
        ch: int | None = None,
        attn_res: int | None = None,
        hier: bool = True,
        z_dim: int | None = None,
        **_: Any,
    ) -> tuple[list[int], list[int], int | None]:
        chans, sides, at = generator_plan(cls.G_ARCH, cls.default_attn, cls.family, resolution, ch, attn_res)
        slots = len(chans) if hier else 1
        if z_dim is not None and z_dim < slots:
            raise ValueError(
                f"hier=true splits z into {slots} chunks at {resolution}×{resolution}, so z_dim must be "
                f">= {slots} (BigGAN uses 120 at 128×128); got {z_dim}"
            )
        return chans, sides, at

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        zs = z.tensor_split(self.num_slots, dim=1)
        parts: list[torch.Tensor] = []
        if self.conditional:
            parts.append(self.shared(require_labels(y, "this BigGAN generator")))
        conds: list[torch.Tensor | None] = []
        for i in range(len(self.blocks)):
            c = parts + ([zs[i + 1]] if self.hier else [])
            conds.append(torch.cat(c, dim=1) if c else None)
        h = self.fc(zs[0]).view(len(z), self.c0, self.bottom, self.bottom)
        for i, (block, c) in enumerate(zip(self.blocks, conds, strict=True), start=1):
            h = block(h, c)
            if i == self.attn_at:
                h = self.attn(h)
        return torch.tanh(self.conv_out(F.relu(self.bn_out(h))))

    @torch.no_grad()
    def sample_truncated(
        self,
        n: int,
        truncation: float,
        y: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """``n`` images from truncated noise (|z| ≤ ``truncation``); labels ``y`` when conditional."""
        device = next(self.parameters()).device
        z = truncated_noise(n, self.z_dim, truncation, generator, device)
        return self(z, None if y is None else y.to(device))


@with_defaults(init="ortho")
class BigGANDiscriminator(ResNetDiscriminator):
    D_ARCH: ClassVar[dict[int, DArch]] = {
        28: DArch(64, ((4, True), (4, True), (4, False), (4, False))),
        32: DArch(64, ((4, True), (4, True), (4, False), (4, False))),
        64: DArch(64, ((1, True), (2, True), (4, True), (8, True), (16, False))),
        128: DArch(96, ((1, True), (2, True), (4, True), (8, True), (16, True), (16, False))),
    }
    family: ClassVar[str] = "biggan"
    default_attn: ClassVar[dict[int, int]] = {64: 32, 128: 64}


@MODELS.register("biggan")
class BigGAN(ImageFamily):
    """BigGAN; ``model.g``: ch, shared_dim, hier, attn_res, sn, init; ``model.d``: as the resnet
    family's D. Pair with the ``ortho_reg`` technique and ``train.ema_decay``."""

    name = "biggan"
    generator = BigGANGenerator
    discriminator = BigGANDiscriminator
    resolutions = (28, 32, 64, 128)
    conditionings = ("none", "acgan", "projection")
    unsupported = {
        "concat": "BigGAN conditions G through its shared class embedding in every batch norm and D "
        "by projection; use 'projection' (the paper's) or 'acgan'"
    }
