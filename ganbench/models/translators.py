"""The networks of image-to-image translation (Isola et al. 2017, Pix2Pix; Zhu et al. 2017, CycleGAN).

- :class:`UNetGenerator`: Pix2Pix's encoder–decoder with skip connections between mirrored layers
  (4×4 stride-2 convolutions, LeakyReLU 0.2 down, ReLU up, tanh out), down to a 1×1 bottleneck.
  Its noise is dropout in the decoder, which Pix2Pix keeps at test time (``test_dropout``).
- :class:`ResnetGenerator`: CycleGAN's (Johnson et al. 2016): c7s1-ngf, two stride-2 downs, n
  residual blocks, two ups, c7s1-C with reflection padding, instance norm, tanh out.
- :class:`PatchDiscriminator`: the PatchGAN, a fully convolutional D whose every output scores one
  patch of the input: ``receptive_field`` 1 (PixelGAN: 1×1 convolutions), 16, 70 (the paper's
  default) or 286 (the paper's "ImageGAN" at 256×256). It returns the map of patch logits,
  N×h×w; the adversarial losses average over it. Conditional (Pix2Pix) when built with
  ``cond_channels`` > 0: D(x, cond) scores the concatenated pair.

Norms: ``batch`` (Pix2Pix's default), ``instance`` (CycleGAN's; torch's InstanceNorm2d without
affine parameters or running statistics, as their code builds it) or ``none``.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

Norm = Literal["batch", "instance", "none"]
NORMS = ("batch", "instance", "none")
# receptive field → the number of stride-2 layers of the PatchGAN (n_layers in their code; 0 = pixel)
PATCH_LAYERS = {1: 0, 16: 1, 70: 3, 286: 5}


def norm_layer(norm: Norm, channels: int) -> nn.Module:
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "instance":
        return nn.InstanceNorm2d(channels)
    if norm == "none":
        return nn.Identity()
    raise ValueError(f"norm {norm!r}; valid choices: {', '.join(NORMS)}")


def init_normal(net: nn.Module, std: float = 0.02) -> nn.Module:
    """Pix2Pix/CycleGAN's init: conv weights N(0, 0.02), batch-norm gains N(1, 0.02), biases 0."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return net


class Dropout(nn.Module):
    """Dropout that can stay on in eval mode (Pix2Pix's noise at test time)."""

    def __init__(self, p: float, always: bool) -> None:
        super().__init__()
        self.p, self.always = p, always

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, self.p, training=self.training or self.always)


class UNetBlock(nn.Module):
    """One level of the U-Net: down, the inner levels, up; the output concatenates the input
    (the skip connection) except at the outermost level."""

    def __init__(
        self,
        outer: int,
        inner: int,
        sub: nn.Module | None,
        *,
        in_channels: int | None = None,
        out_channels: int | None = None,
        norm: Norm = "batch",
        dropout: Dropout | None = None,
    ) -> None:
        super().__init__()
        outermost, innermost = out_channels is not None, sub is None
        bias = norm == "instance"  # a conv before batch norm needs no bias (their code does the same)
        down_conv = nn.Conv2d(in_channels or outer, inner, 4, 2, 1, bias=bias)
        if outermost:
            down: list[nn.Module] = [down_conv]
            up: list[nn.Module] = [nn.ReLU(), nn.ConvTranspose2d(inner * 2, out_channels, 4, 2, 1), nn.Tanh()]
        elif innermost:
            down = [nn.LeakyReLU(0.2), down_conv]
            up = [nn.ReLU(), nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=bias), norm_layer(norm, outer)]
        else:
            down = [nn.LeakyReLU(0.2), down_conv, norm_layer(norm, inner)]
            up = [
                nn.ReLU(),
                nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=bias),
                norm_layer(norm, outer),
            ]
            if dropout is not None:
                up.append(dropout)
        self.outermost = outermost
        self.down, self.sub, self.up = nn.Sequential(*down), sub, nn.Sequential(*up)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.down(x)
        if self.sub is not None:
            h = self.sub(h)
        h = self.up(h)
        return h if self.outermost else torch.cat([x, h], 1)


class UNetGenerator(nn.Module):
    """Pix2Pix's U-Net from ``in_channels`` to ``out_channels`` at ``resolution`` (a power of 2 ≥ 8).

    ``num_downs`` (default log2(resolution): a 1×1 bottleneck) halvings; channels ngf, 2ngf, 4ngf,
    then 8ngf. Dropout ``dropout`` (0.5) after the up-convolutions of the ``dropout_layers`` (3)
    innermost levels below the outermost one, as their 256×256 U-Net has (fewer when the U-Net is
    shallower); ``test_dropout`` keeps it on in eval mode, Pix2Pix's only noise source.
    """

    def __init__(
        self,
        resolution: int,
        in_channels: int,
        out_channels: int,
        *,
        ngf: int = 64,
        num_downs: int | None = None,
        norm: Norm = "batch",
        dropout: float = 0.5,
        dropout_layers: int = 3,
        test_dropout: bool = True,
    ) -> None:
        super().__init__()
        n = self.plan(resolution, ngf=ngf, num_downs=num_downs, dropout=dropout, norm=norm)
        channels = [ngf * min(2**i, 8) for i in range(n)]  # the outputs of the n down-convolutions
        block: nn.Module | None = None
        for level in range(n - 1, 0, -1):  # innermost first
            with_dropout = block is not None and level >= n - 1 - dropout_layers and dropout > 0
            block = UNetBlock(
                channels[level - 1],
                channels[level],
                block,
                norm=norm,
                dropout=Dropout(dropout, test_dropout) if with_dropout else None,
            )
        self.net = UNetBlock(
            channels[0], channels[0], block, in_channels=in_channels, out_channels=out_channels, norm=norm
        )
        self.in_channels, self.out_channels, self.num_downs = in_channels, out_channels, n
        init_normal(self)

    @staticmethod
    def plan(
        resolution: int,
        *,
        ngf: int = 64,
        num_downs: int | None = None,
        dropout: float = 0.5,
        norm: str = "batch",
    ) -> int:
        """The number of halvings, or a ValueError saying why the options cannot work."""
        if resolution < 8 or resolution & (resolution - 1):
            raise ValueError(
                f"the U-Net needs a power-of-2 resolution >= 8, got {resolution} (set data.resolution)"
            )
        most = int(math.log2(resolution))
        n = most if num_downs is None else num_downs
        if not 2 <= n <= most:
            raise ValueError(f"num_downs must be in 2..{most} at {resolution}×{resolution}, got {n}")
        if ngf < 1:
            raise ValueError(f"ngf must be >= 1, got {ngf}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if norm not in NORMS:
            raise ValueError(f"norm {norm!r}; valid choices: {', '.join(NORMS)}")
        return n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ResnetBlock(nn.Module):
    def __init__(self, channels: int, norm: Norm, dropout: float) -> None:
        super().__init__()
        bias = norm == "instance"
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            norm_layer(norm, channels),
            nn.ReLU(),
        ]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            norm_layer(norm, channels),
        ]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """CycleGAN's generator: c7s1-ngf, d(2ngf), d(4ngf), ``n_blocks`` × R(4ngf), u(2ngf), u(ngf),
    c7s1-C, tanh (6 blocks at 128×128, 9 at 256×256 in the paper)."""

    def __init__(
        self,
        resolution: int,
        in_channels: int,
        out_channels: int,
        *,
        ngf: int = 64,
        n_blocks: int = 9,
        norm: Norm = "instance",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.plan(resolution, ngf=ngf, n_blocks=n_blocks, norm=norm)
        bias = norm == "instance"
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, ngf, 7, bias=bias),
            norm_layer(norm, ngf),
            nn.ReLU(),
        ]
        c = ngf
        for _ in range(2):
            layers += [nn.Conv2d(c, 2 * c, 3, 2, 1, bias=bias), norm_layer(norm, 2 * c), nn.ReLU()]
            c *= 2
        layers += [ResnetBlock(c, norm, dropout) for _ in range(n_blocks)]
        for _ in range(2):
            layers += [
                nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1, bias=bias),
                norm_layer(norm, c // 2),
                nn.ReLU(),
            ]
            c //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(c, out_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.in_channels, self.out_channels = in_channels, out_channels
        init_normal(self)

    @staticmethod
    def plan(resolution: int, *, ngf: int = 64, n_blocks: int = 9, norm: str = "instance") -> None:
        if resolution % 4 or resolution < 8:
            raise ValueError(
                "the ResNet generator halves twice: the resolution must be a multiple of 4 >= 8, "
                f"got {resolution}"
            )
        if ngf < 1 or n_blocks < 0:
            raise ValueError(f"ngf must be >= 1 and n_blocks >= 0, got {ngf} and {n_blocks}")
        if norm not in NORMS:
            raise ValueError(f"norm {norm!r}; valid choices: {', '.join(NORMS)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """The PatchGAN (see the module docstring). ``D(x, cond=None)`` → N×h×w patch logits."""

    def __init__(
        self,
        resolution: int,
        channels: int,
        cond_channels: int = 0,
        *,
        ndf: int = 64,
        receptive_field: int = 70,
        norm: Norm = "batch",
    ) -> None:
        super().__init__()
        self.plan(resolution, ndf=ndf, receptive_field=receptive_field, norm=norm)
        n_layers = PATCH_LAYERS[receptive_field]
        c_in = channels + cond_channels
        bias = norm != "batch"
        if n_layers == 0:  # PixelGAN: 1×1 convolutions, each output sees one pixel
            layers: list[nn.Module] = [
                nn.Conv2d(c_in, ndf, 1), nn.LeakyReLU(0.2),
                nn.Conv2d(ndf, 2 * ndf, 1, bias=bias), norm_layer(norm, 2 * ndf), nn.LeakyReLU(0.2),
                nn.Conv2d(2 * ndf, 1, 1, bias=False),
            ]  # fmt: skip
        else:
            layers = [nn.Conv2d(c_in, ndf, 4, 2, 1), nn.LeakyReLU(0.2)]
            c = ndf
            for i in range(1, n_layers):
                c_out = ndf * min(2**i, 8)
                layers += [
                    nn.Conv2d(c, c_out, 4, 2, 1, bias=bias),
                    norm_layer(norm, c_out),
                    nn.LeakyReLU(0.2),
                ]
                c = c_out
            c_out = ndf * min(2**n_layers, 8)
            layers += [nn.Conv2d(c, c_out, 4, 1, 1, bias=bias), norm_layer(norm, c_out), nn.LeakyReLU(0.2)]
            layers += [nn.Conv2d(c_out, 1, 4, 1, 1)]
        self.net = nn.Sequential(*layers)
        self.cond_channels = cond_channels
        init_normal(self)

    @staticmethod
    def plan(resolution: int, *, ndf: int = 64, receptive_field: int = 70, norm: str = "batch") -> None:
        if receptive_field not in PATCH_LAYERS:
            choices = ", ".join(map(str, PATCH_LAYERS))
            raise ValueError(f"receptive_field {receptive_field}; valid choices: {choices} (pixels)")
        n_layers = PATCH_LAYERS[receptive_field]
        # the map must keep at least one output: stride-2 layers, then two 4×4 stride-1 convs (−1 each)
        if n_layers and resolution // 2**n_layers < 3:
            raise ValueError(
                f"a {receptive_field}×{receptive_field} PatchGAN halves {n_layers} times: "
                f"{resolution}×{resolution} images are too small (at least {3 * 2**n_layers}); "
                "choose a smaller receptive_field"
            )
        if ndf < 1:
            raise ValueError(f"ndf must be >= 1, got {ndf}")
        if norm not in NORMS:
            raise ValueError(f"norm {norm!r}; valid choices: {', '.join(NORMS)}")

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if self.cond_channels:
            if cond is None:
                raise ValueError("this PatchGAN is conditional (Pix2Pix): pass the input image as cond")
            x = torch.cat([cond, x], 1)
        return self.net(x).squeeze(1)


def receptive_field(net: nn.Module) -> int:
    """The receptive field, in input pixels, of one output of a chain of convolutions (computed from
    the layers: r ← (r − 1)·stride + kernel, from the last layer to the first)."""
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    r = 1
    for conv in reversed(convs):
        r = (r - 1) * conv.stride[0] + conv.kernel_size[0]
    return r
