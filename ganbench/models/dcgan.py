"""DCGAN (Radford et al. 2016), following the paper's guidelines.

G: project z to a s₀×s₀ map, then stride-2 transposed convs (4×4) halving the channels, batch norm
and ReLU everywhere but the tanh output. D: stride-2 convs (4×4) doubling the channels, LeakyReLU
(0.2), batch norm everywhere but the input layer; weights N(0, 0.02). s₀ = 4, or 7 for 28×28
(7 → 14 → 28). D ends with a linear layer on the flattened s₀×s₀ map (the paper's final 4×4 conv).

Conditioning: ``concat`` (Mirza & Osindero 2014: one-hot y appended to z, and to D's input as
constant maps), ``acgan`` (G as concat; D gets a classifier head), ``projection`` (class-conditional
batch norm in G; projection head in D).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from ganbench.errors import ConfigError
from ganbench.models.base import DOutput
from ganbench.models.family import ImageFamily, resolution_plan
from ganbench.models.layers import (
    BatchNorm2d,
    ClassConditionalBatchNorm2d,
    DiscriminatorHead,
    InitScheme,
    MinibatchStdDev,
    init_weights,
    one_hot_maps,
    require_labels,
)
from ganbench.registries import LIPSCHITZ, MODELS

START = {28: 7, 32: 4, 64: 4, 128: 4}  # s₀, the side of G's first / D's last feature map
DNorm = Literal["batch", "layer", "instance", "none"]


def _plan(resolution: int, ch: int) -> tuple[int, list[int]]:
    """(s₀, channels per feature map from s₀ upwards): ch·2^(n−1), …, ch for n stride-2 steps."""
    s0 = resolution_plan(START, resolution, "dcgan")
    if ch < 1:
        raise ValueError(f"ch must be >= 1, got {ch}")
    n = int(math.log2(resolution // s0))
    return s0, [ch * 2 ** (n - 1 - i) for i in range(n)]


class DCGANGenerator(nn.Module):
    def __init__(
        self,
        z_dim: int,
        resolution: int,
        channels: int = 3,
        conditioning: str = "none",
        num_classes: int | None = None,
        *,
        ch: int = 64,
        init: InitScheme = "dcgan",
    ) -> None:
        super().__init__()
        s0, chans = self.plan(resolution, ch=ch)
        self.z_dim, self.num_classes, self.conditioning = z_dim, num_classes, conditioning
        self.concat = conditioning in ("concat", "acgan")
        self.class_bn = conditioning == "projection"
        z_in = z_dim + (num_classes if self.concat else 0)

        def norm(c: int) -> nn.Module:
            return ClassConditionalBatchNorm2d(c, num_classes) if self.class_bn else BatchNorm2d(c)

        self.s0, self.c0 = s0, chans[0]
        self.fc = nn.Linear(z_in, chans[0] * s0 * s0, bias=False)
        self.norms = nn.ModuleList([norm(chans[0])])
        self.ups = nn.ModuleList()
        for c_in, c_out in zip(chans[:-1], chans[1:], strict=True):
            self.ups.append(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False))
            self.norms.append(norm(c_out))
        self.out = nn.ConvTranspose2d(chans[-1], channels, 4, 2, 1)
        init_weights(self, init)

    @staticmethod
    def plan(resolution: int, ch: int = 64, **_: Any) -> tuple[int, list[int]]:
        return _plan(resolution, ch)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        cond = None
        if self.concat:
            y = require_labels(y, "this DCGAN generator")
            z = torch.cat([z, F.one_hot(y, self.num_classes).to(z.dtype)], dim=1)
        elif self.class_bn:
            cond = require_labels(y, "this DCGAN generator")
        h = self.fc(z).view(len(z), self.c0, self.s0, self.s0)
        h = F.relu(self.norms[0](h, cond))
        for up, norm in zip(self.ups, self.norms[1:], strict=True):
            h = F.relu(norm(up(h), cond))
        return torch.tanh(self.out(h))


def _d_norm(kind: str, c: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(c)
    if kind == "layer":
        return nn.GroupNorm(1, c)  # normalises over C×H×W per sample: layer norm for feature maps
    if kind == "instance":
        return nn.InstanceNorm2d(c, affine=True)
    return nn.Identity()


class DCGANDiscriminator(nn.Module):
    """``norm`` None means batch norm, except that the family picks layer norm under gradient
    penalties (Gulrajani et al. 2017: batch norm couples the samples the penalty treats as
    independent) and no norm under spectral normalisation (Miyato et al. 2018's standard CNN)."""

    def __init__(
        self,
        resolution: int,
        channels: int = 3,
        conditioning: str = "none",
        num_classes: int | None = None,
        *,
        ch: int = 64,
        norm: DNorm | None = None,
        init: InitScheme = "dcgan",
        minibatch_std: bool = False,
        minibatch_std_group: int = 4,
        minibatch_disc: bool = False,
        minibatch_disc_kernels: int = 100,
        minibatch_disc_dim: int = 5,
    ) -> None:
        super().__init__()
        s0, chans = self.plan(resolution, ch=ch)
        chans = chans[::-1]  # ch, 2ch, … going down
        norm = norm or "batch"
        self.num_classes, self.conditioning = num_classes, conditioning
        self.concat = conditioning == "concat"
        c_in = channels + (num_classes if self.concat else 0)
        layers: list[nn.Module] = [nn.Conv2d(c_in, chans[0], 4, 2, 1), nn.LeakyReLU(0.2)]
        for a, b in zip(chans[:-1], chans[1:], strict=True):
            layers += [nn.Conv2d(a, b, 4, 2, 1, bias=norm == "none"), _d_norm(norm, b), nn.LeakyReLU(0.2)]
        self.convs = nn.Sequential(*layers)
        self.mbstd = MinibatchStdDev(minibatch_std_group) if minibatch_std else None
        feat = (chans[-1] + (1 if minibatch_std else 0)) * s0 * s0
        self.head = DiscriminatorHead(
            feat, conditioning, num_classes, minibatch_disc, minibatch_disc_kernels, minibatch_disc_dim
        )
        init_weights(self, init)

    @staticmethod
    def plan(resolution: int, ch: int = 64, **_: Any) -> tuple[int, list[int]]:
        return _plan(resolution, ch)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, return_aux: bool = False) -> Any:
        if self.concat:
            y = require_labels(y, "this DCGAN discriminator")
            x = torch.cat([x, one_hot_maps(y, self.num_classes, x.shape[2:], x.dtype)], dim=1)
        h = self.convs(x)
        if self.mbstd is not None:
            h = self.mbstd(h)
        h = h.flatten(1)
        logits, class_logits = self.head(h, y)
        return DOutput(logits, class_logits, h) if return_aux else logits


@MODELS.register("dcgan")
class DCGAN(ImageFamily):
    """DCGAN; ``model.g``: ch, init; ``model.d``: ch, norm, init, minibatch_std(_group),
    minibatch_disc(_kernels, _dim)."""

    name = "dcgan"
    generator = DCGANGenerator
    discriminator = DCGANDiscriminator
    resolutions = tuple(START)
    conditionings = ("none", "concat", "acgan", "projection")

    @classmethod
    def check_combination(cls, cfg: Any, d: dict[str, Any], where: str) -> None:
        lip = cfg.objective.lipschitz
        if d.get("norm") == "batch" and LIPSCHITZ.get(lip).needs_input_gradients:
            raise ConfigError(
                f"{where}: model.d.norm: batch norm in D cannot be combined with objective.lipschitz "
                f"{lip!r}: the penalty needs per-sample input gradients and batch norm mixes the samples; "
                f"use norm: layer (as WGAN-GP does), instance or none"
            )

    @classmethod
    def d_kwargs(cls, cfg: Any) -> dict[str, Any]:
        d = dict(cfg.model.d)
        if d.get("norm") is None:
            lip = LIPSCHITZ.get(cfg.objective.lipschitz)
            d["norm"] = "layer" if lip.needs_input_gradients else "none" if lip.normalises_d else "batch"
        return d
