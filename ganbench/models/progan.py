"""ProGAN (Karras, Aila, Laine & Lehtinen 2018, "Progressive growing of GANs for improved quality,
stability, and variation"), grown by the trainer's schedule (``train.growing``, docs/models.md).

G (Table 2): z → pixel norm → dense to 4×4 → conv 3×3, then per resolution a block "nearest
upsample ×2, conv 3×3, conv 3×3", every conv followed by LeakyReLU (0.2) and pixelwise feature
normalisation (§4.2); a 1×1 toRGB per resolution, linear output (no tanh, as in the paper).
D mirrors it: a 1×1 fromRGB per resolution, blocks "conv 3×3, conv 3×3, average-pool ×2", and at
4×4 minibatch standard deviation (§3), conv 3×3, dense, dense to the logit; no normalisation.
G's output is linear while training and clipped to [-1, 1] in eval mode (evaluation, samples).
Every layer has an equalised learning rate (§4.1). Channels: ``min(ch, 32·ch / resolution)``, the
paper's plan (512 up to 32×32, then halving) for ``ch = 512``; a smaller ``ch`` scales it.

During a fade-in (level L, α < 1) G blends the upsampled toRGB of the previous resolution with the
new block's toRGB, and D blends the new block's output with the previous fromRGB of the pooled
image, (1 − α)·old + α·new (Figure 2). All blocks are built up front; the ones above the current
level get no gradient (docs/models.md: what that means for Adam).

Conditioning (the descendants' way, since the paper is unconditional): ``acgan``, the authors' own
code (labels one-hot, concatenated to z; D with an auxiliary classifier) and ``projection`` (the same
G; a projection D, Miyato & Koyama 2018).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganbench.errors import ConfigError
from ganbench.models.base import DOutput
from ganbench.models.family import ImageFamily
from ganbench.models.growing import (
    EqualizedConv2d,
    EqualizedLinear,
    PixelNorm,
    check_growth,
    fade,
    to_resolution,
)
from ganbench.models.layers import MinibatchStdDev, require_labels
from ganbench.registries import LIPSCHITZ, MODELS

RESOLUTIONS = (8, 16, 32, 64, 128, 256, 512, 1024)
CONCAT_REASON = (
    "concat feeds one-hot maps into D's input layer, and a growing D has one input layer (fromRGB) "
    "per resolution; use acgan (the ProGAN authors' code) or projection"
)


def channel_plan(resolution: int, ch: int = 512) -> dict[int, int]:
    """Feature maps per resolution 4, 8, …, ``resolution``: ``min(ch, 32·ch / r)`` (at least 1)."""
    if resolution not in RESOLUTIONS:
        raise ValueError(
            f"progan: no {resolution}×{resolution} architecture (it grows from 4×4 by doubling); "
            f"supported: {', '.join(map(str, RESOLUTIONS))}"
        )
    if ch < 1:
        raise ValueError(f"ch must be >= 1, got {ch}")
    return {4 * 2**i: max(1, min(ch, 32 * ch // (4 * 2**i))) for i in range(int(math.log2(resolution)) - 1)}


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)


class _Growth:
    """The growing state both networks share: ``growth_resolutions``, ``set_growth``; the full
    network (last level, α = 1) until the trainer says otherwise."""

    growth_resolutions: tuple[int, ...]

    def _init_growth(self, resolution: int) -> None:
        self.resolution = resolution
        self.growth_resolutions = tuple(4 * 2**i for i in range(int(math.log2(resolution)) - 1))
        self.level, self.alpha = len(self.growth_resolutions) - 1, 1.0

    def set_growth(self, level: int, alpha: float) -> None:
        check_growth(self.growth_resolutions, level, alpha, type(self).__name__)
        self.level, self.alpha = level, 1.0 if level == 0 else float(alpha)


class ProGANGenerator(_Growth, nn.Module):
    def __init__(
        self,
        z_dim: int,
        resolution: int,
        channels: int = 3,
        conditioning: str = "none",
        num_classes: int | None = None,
        *,
        ch: int = 512,
        pixel_norm: bool = True,
        normalize_latents: bool = True,
    ) -> None:
        super().__init__()
        plan = self.plan(resolution, ch=ch)
        self._init_growth(resolution)
        self.z_dim, self.num_classes, self.conditioning = z_dim, num_classes, conditioning
        self.labelled = conditioning != "none"
        z_in = z_dim + (num_classes if self.labelled and num_classes else 0)
        norm: nn.Module = PixelNorm() if pixel_norm else nn.Identity()
        self.norm = norm
        self.latent_norm = PixelNorm() if normalize_latents else nn.Identity()
        c4 = plan[4]
        # the 4×4 "conv on the 1×1 latent" of the paper as a dense layer, gain √2/4 as in its code
        self.dense = EqualizedLinear(z_in, c4 * 16, gain=math.sqrt(2) / 4)
        self.conv4 = EqualizedConv2d(c4, c4, 3)
        self.blocks = nn.ModuleList()
        for r in self.growth_resolutions[1:]:
            self.blocks.append(
                nn.ModuleList(
                    [EqualizedConv2d(plan[r // 2], plan[r], 3), EqualizedConv2d(plan[r], plan[r], 3)]
                )
            )
        self.to_rgb = nn.ModuleList(
            EqualizedConv2d(plan[r], channels, 1, gain=1.0) for r in self.growth_resolutions
        )

    @staticmethod
    def plan(resolution: int, ch: int = 512, **_: Any) -> dict[int, int]:
        return channel_plan(resolution, ch)

    def _conv(self, conv: nn.Module, h: torch.Tensor) -> torch.Tensor:
        return self.norm(_lrelu(conv(h)))

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.labelled:
            y = require_labels(y, "this ProGAN generator")
            z = torch.cat([z, F.one_hot(y, self.num_classes).to(z.dtype)], dim=1)
        h = self.norm(_lrelu(self.dense(self.latent_norm(z)).view(len(z), -1, 4, 4)))
        h = self._conv(self.conv4, h)
        for block in self.blocks[: max(self.level - 1, 0)]:
            h = self._block(block, h)
        if self.level == 0:
            rgb = self.to_rgb[0](h)
        else:
            rgb = self.to_rgb[self.level](self._block(self.blocks[self.level - 1], h))
            if self.alpha < 1.0:  # the fade-in: the previous resolution's image, upsampled
                old = F.interpolate(self.to_rgb[self.level - 1](h), scale_factor=2, mode="nearest")
                rgb = fade(old, rgb, self.alpha)
        out = to_resolution(rgb, self.resolution)
        # linear output in training (the paper); images in [-1, 1] (the family contract) when
        # evaluated: clipped, as the authors' code clips when it converts its outputs to images
        return out if self.training else out.clamp(-1.0, 1.0)

    def _block(self, block: nn.ModuleList, h: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(h, scale_factor=2, mode="nearest")
        return self._conv(block[1], self._conv(block[0], h))


class ProGANDiscriminator(_Growth, nn.Module):
    """``equalized_lr`` None: equalised learning rate, except under a Lipschitz method that
    normalises D's weights (spectral norm), which then gets plain layers with He's initialisation
    (the family's ``d_kwargs``): σ(W) = 1 per layer times a run-time He constant would shrink D's
    output by that constant at every layer."""

    def __init__(
        self,
        resolution: int,
        channels: int = 3,
        conditioning: str = "none",
        num_classes: int | None = None,
        *,
        ch: int = 512,
        equalized_lr: bool | None = None,
        minibatch_std: bool = True,
        minibatch_std_group: int = 4,
    ) -> None:
        super().__init__()
        plan = self.plan(resolution, ch=ch)
        self._init_growth(resolution)
        self.num_classes, self.conditioning = num_classes, conditioning
        eq = True if equalized_lr is None else equalized_lr
        self.equalized_lr = eq
        conv, linear = (EqualizedConv2d, EqualizedLinear) if eq else (_he_conv, _he_linear)
        self.from_rgb = nn.ModuleList(conv(channels, plan[r], 1) for r in self.growth_resolutions)
        self.blocks = nn.ModuleList()
        for r in self.growth_resolutions[1:]:  # blocks[i] takes resolution r to r / 2
            self.blocks.append(nn.ModuleList([conv(plan[r], plan[r], 3), conv(plan[r], plan[r // 2], 3)]))
        c4 = plan[4]
        self.mbstd = MinibatchStdDev(minibatch_std_group) if minibatch_std else None
        self.conv4 = conv(c4 + (1 if minibatch_std else 0), c4, 3)
        self.dense = linear(c4 * 16, c4)
        self.head = _Head(c4, conditioning, num_classes, linear)

    @staticmethod
    def plan(resolution: int, ch: int = 512, **_: Any) -> dict[int, int]:
        return channel_plan(resolution, ch)

    def _block(self, i: int, h: torch.Tensor) -> torch.Tensor:
        a, b = self.blocks[i]
        return F.avg_pool2d(_lrelu(b(_lrelu(a(h)))), 2)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, return_aux: bool = False) -> Any:
        if self.conditioning != "none":
            y = require_labels(y, "this ProGAN discriminator")
        x = to_resolution(x, self.growth_resolutions[self.level])
        h = _lrelu(self.from_rgb[self.level](x))
        if self.level > 0:
            h = self._block(self.level - 1, h)
            if self.alpha < 1.0:  # the fade-in: the previous fromRGB of the pooled image
                old = _lrelu(self.from_rgb[self.level - 1](F.avg_pool2d(x, 2)))
                h = fade(old, h, self.alpha)
            for i in reversed(range(self.level - 1)):
                h = self._block(i, h)
        if self.mbstd is not None:
            h = self.mbstd(h)
        h = _lrelu(self.dense(_lrelu(self.conv4(h)).flatten(1)))
        logits, class_logits = self.head(h, y)
        return DOutput(logits, class_logits, h) if return_aux else logits


class _Head(nn.Module):
    """D's last dense layer to the logit (gain 1, as the paper's), plus by conditioning a projection
    term ⟨embed(y), h⟩ (Miyato & Koyama 2018) or an auxiliary classifier (the authors' code). Not
    the shared DiscriminatorHead: its plain linear layer would learn at another rate than the
    equalised layers around it."""

    def __init__(self, features: int, conditioning: str, num_classes: int | None, linear: Any) -> None:
        super().__init__()
        self.linear = linear(features, 1, gain=1.0)
        self.embed = nn.Embedding(num_classes, features) if conditioning == "projection" else None
        if self.embed is not None:
            nn.init.normal_(self.embed.weight, 0.0, 1.0 / math.sqrt(features))  # the logit's scale
        self.classifier = linear(features, num_classes, gain=1.0) if conditioning == "acgan" else None

    def forward(self, h: torch.Tensor, y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        logits = self.linear(h).squeeze(1)
        if self.embed is not None:
            logits = logits + (self.embed(y) * h).sum(1)
        return logits, self.classifier(h) if self.classifier is not None else None


def _he_conv(c_in: int, c_out: int, k: int) -> nn.Conv2d:
    conv = nn.Conv2d(c_in, c_out, k, padding=k // 2)
    nn.init.normal_(conv.weight, 0.0, math.sqrt(2) / math.sqrt(c_in * k * k))  # He's constant, static
    nn.init.zeros_(conv.bias)
    return conv


def _he_linear(f_in: int, f_out: int, gain: float = math.sqrt(2)) -> nn.Linear:
    lin = nn.Linear(f_in, f_out)
    nn.init.normal_(lin.weight, 0.0, gain / math.sqrt(f_in))
    nn.init.zeros_(lin.bias)
    return lin


@MODELS.register("progan")
class ProGAN(ImageFamily):
    """ProGAN; ``model.g``: ch, pixel_norm, normalize_latents; ``model.d``: ch, equalized_lr,
    minibatch_std(_group). Grows under ``train.growing``; without it, trains at full resolution."""

    name = "progan"
    generator = ProGANGenerator
    discriminator = ProGANDiscriminator
    resolutions = RESOLUTIONS
    conditionings = ("none", "acgan", "projection")
    unsupported = {"concat": CONCAT_REASON}
    grows = True  # its networks follow models/growing.py: train.growing may schedule them

    @classmethod
    def check_combination(cls, cfg: Any, d: dict[str, Any], where: str) -> None:
        lip = LIPSCHITZ.get(cfg.objective.lipschitz)
        if d.get("equalized_lr") and lip.normalises_d:
            raise ConfigError(
                f"{where}: model.d.equalized_lr: true cannot be combined with objective.lipschitz "
                f"{cfg.objective.lipschitz!r}: it fixes each weight's spectral norm to 1 and the equalised "
                f"layer then multiplies it by He's constant sqrt(2/fan_in), so D's Lipschitz bound "
                f"is no longer 1; leave equalized_lr unset (plain He-initialised layers under sn) or false"
            )

    @classmethod
    def d_kwargs(cls, cfg: Any) -> dict[str, Any]:
        d = dict(cfg.model.d)
        if d.get("equalized_lr") is None:
            d["equalized_lr"] = not LIPSCHITZ.get(cfg.objective.lipschitz).normalises_d
        return d
