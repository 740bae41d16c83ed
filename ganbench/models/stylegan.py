"""StyleGAN (v1; Karras, Laine & Aila 2019, "A style-based generator architecture for GANs").

G = mapping network f: z → w (pixel norm of z, 8 equalised-LR FC layers with learning-rate
multiplier 0.01, LeakyReLU 0.2; §2) and a synthesis network g: a learned constant 4×4 input, two
3×3 convolutions per resolution, each followed by per-pixel noise (one map per layer, scaled by a
learned per-channel factor; §3.2), a bias, LeakyReLU, and AdaIN: instance normalisation, then the
style (y_s, y_b) = A(w) of a learned affine map of w per layer (§2, eq. 1). Upsampling is nearest
then the 3×3 conv then a [1, 2, 1] blur; D blurs before each downsampling (§2: "bilinear
up/downsampling", as the official ``networks_stylegan.py`` does it: ``blur2d`` around
``upscale2d_conv2d`` / ``conv2d_downscale2d``). The fused (transposed / strided) convolutions the
official code uses from 128² are not used: the same up/down sampling at every resolution.

- **Style mixing regularisation** (§3.1): in training mode, with probability ``style_mixing_prob``
  (0.9 in the paper) a second latent z₂ gives w₂, and the layers from a crossover point drawn
  uniformly among the layers of the current resolution on use w₂ (one draw per minibatch, as the
  official ``G_style``).
- **Truncation in W** (§2, appendix B): the mean w̄ is an EMA buffer of the batch means of w, updated
  in training mode (β = ``w_avg_beta``, 0.995 in the paper); in eval mode w' = w̄ + ψ(w − w̄) on the
  first ``truncation_cutoff`` layers (None: all). ψ = 1 (no truncation) is the default: the
  reported FIDs are untruncated, as the paper's.
- **Output**: the official synthesis output is linear; in eval mode G clamps it to [-1, 1] (what the
  official code does when it converts images to uint8), so every ganbench evaluation sees images in
  range. Training gives D the linear output.
- **Noise in eval mode**: fixed per-layer noise maps (buffers, drawn at construction, saved with the
  weights; the official ``randomize_noise=False``), so an evaluated sample is a function of z alone
  and a reported number depends on the evaluation seed only. Training draws fresh noise.
- **Progressive growing** by :mod:`ganbench.models.growing` (``set_growth(level, alpha)``): G blends
  the nearest-upsampled toRGB of the previous resolution into the new one and returns
  full-resolution images; D average-pools its input down to the current resolution and blends the
  new block's output with the fromRGB of the downsampled input. Never told otherwise, both run at
  the full resolution.
- **D**: the ProGAN/StyleGAN ``D_basic`` layout (fromRGB 1×1 per resolution; per block conv 3×3,
  blur, conv 3×3 then 2×2 average pool; at 4×4 minibatch standard deviation, conv 3×3, FC, FC);
  equalised learning rate throughout (plain He-initialised layers under spectral norm, as ProGAN's).
- **Conditioning**: ``none``, and ``projection`` the way the descendants do it (StyleGAN's official
  ``G_mapping`` label input, kept by StyleGAN2-ADA: a learned label embedding concatenated to z
  before the normalisation and the mapping; a projection head in D, Miyato & Koyama 2018).

Channels per resolution: ``nf(stage) = min(fmap_base / 2^stage, fmap_max)`` with stage = log2(res) − 1
(the paper's 8192 / 512: 512 channels up to 32², then halving).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ganbench.errors import ConfigError
from ganbench.evaluation.style import check_style_eval, style_evaluation
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
from ganbench.models.layers import MinibatchStdDev, batch_mean, require_labels
from ganbench.models.progan import _he_conv, _he_linear  # ProGAN's plain He-initialised layers (under sn)
from ganbench.registries import LIPSCHITZ, MODELS

RESOLUTIONS = (8, 16, 32, 64, 128, 256, 512, 1024)
LRELU_SLOPE = 0.2


def channels_at(resolution: int, fmap_base: int, fmap_max: int) -> int:
    """The official ``nf(stage)`` with fmap_decay 1: min(fmap_base / 2^stage, fmap_max)."""
    stage = int(math.log2(resolution)) - 1
    return max(1, min(int(fmap_base / 2**stage), fmap_max))


def growth_resolutions(resolution: int) -> tuple[int, ...]:
    if resolution not in RESOLUTIONS:
        supported = ", ".join(map(str, RESOLUTIONS))
        raise ValueError(f"stylegan: no {resolution}×{resolution} architecture; supported: {supported}")
    return tuple(2**i for i in range(2, int(math.log2(resolution)) + 1))


def _check_widths(fmap_base: int, fmap_max: int) -> None:
    if fmap_base < 1 or fmap_max < 1:
        raise ValueError(f"fmap_base and fmap_max must be >= 1, got {fmap_base} and {fmap_max}")


def check_generator_options(
    z_dim: int,
    w_dim: int,
    mapping_layers: int,
    mapping_lr_mul: float,
    fmap_base: int,
    fmap_max: int,
    style_mixing_prob: float,
    w_avg_beta: float,
    truncation_psi: float,
    truncation_cutoff: int | None,
    layers: int | None = None,
    resolution: int | None = None,
) -> None:
    """G's options, or a ValueError naming the option; ``layers`` (the styles of the resolution) checks
    the truncation cut-off when the resolution is known."""
    _check_widths(fmap_base, fmap_max)
    if w_dim < 1:
        raise ValueError(f"w_dim must be >= 1, got {w_dim}")
    if mapping_layers < 0:
        raise ValueError(f"mapping_layers must be >= 0, got {mapping_layers}")
    if mapping_layers == 0:
        if w_dim != z_dim:
            raise ValueError(
                f"mapping_layers 0 (no mapping network: w is the normalised z) needs w_dim == z_dim, "
                f"got w_dim {w_dim} and z_dim {z_dim}"
            )
        if style_mixing_prob > 0:
            raise ValueError(
                f"style_mixing_prob {style_mixing_prob}: style mixing regularisation mixes the outputs "
                "of the mapping network, and mapping_layers 0 builds none; set style_mixing_prob: 0 or "
                "mapping_layers >= 1"
            )
    if not mapping_lr_mul > 0:
        raise ValueError(f"mapping_lr_mul must be > 0, got {mapping_lr_mul}")
    if not 0.0 <= style_mixing_prob <= 1.0:
        raise ValueError(f"style_mixing_prob must be in [0, 1], got {style_mixing_prob}")
    if not 0.0 <= w_avg_beta < 1.0:
        raise ValueError(f"w_avg_beta must be in [0, 1), got {w_avg_beta}")
    if not 0.0 <= truncation_psi <= 1.0:
        raise ValueError(
            f"truncation_psi must be in [0, 1] (0: every sample is w̄, 1: no truncation), got {truncation_psi}"
        )
    if truncation_cutoff is not None:
        top = layers if layers is not None else 2 * len(growth_resolutions(RESOLUTIONS[-1]))
        if not 1 <= truncation_cutoff <= top:
            where = f" (the layers of a {resolution}² G)" if resolution else ""
            raise ValueError(
                f"truncation_cutoff must be in 1..{top}{where} or null (all), got {truncation_cutoff}"
            )


class Blur(nn.Module):
    """The official ``blur2d``: the separable [1, 2, 1] filter (normalised), per channel, zero padding."""

    def __init__(self) -> None:
        super().__init__()
        k = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer("kernel", (k[:, None] * k[None, :] / 16.0)[None, None], persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        return F.conv2d(x, self.kernel.to(x.dtype).expand(c, 1, 3, 3), padding=1, groups=c)


class NoiseInput(nn.Module):
    """Per-pixel noise, one map per layer broadcast over channels, times a learned per-channel scale
    (initialised to 0, as the official ``apply_noise``). Eval mode uses the fixed map ``const``."""

    def __init__(self, channels: int, resolution: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(channels))
        self.register_buffer("const", torch.randn(1, 1, resolution, resolution))

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        if noise is None:
            if self.training:
                noise = torch.randn(len(x), 1, *x.shape[2:], device=x.device, dtype=x.dtype)
            else:
                noise = self.const.to(x.dtype)
        return x + self.weight.view(1, -1, 1, 1).to(x.dtype) * noise


class AdaIN(nn.Module):
    """AdaIN(x, w) = y_s · (x − μ(x)) / σ(x) + y_b per channel, (y_s, y_b) = A(w) a learned affine map
    (eq. 1). As the official ``style_mod``: y_s is parameterised as 1 + (output of A), so a fresh
    layer starts at the identity style."""

    def __init__(self, channels: int, w_dim: int) -> None:
        super().__init__()
        self.affine = EqualizedLinear(w_dim, 2 * channels, gain=1.0)
        self.eps = 1e-8

    def style(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.affine(w)
        scale, bias = s.chunk(2, dim=1)
        return scale + 1.0, bias

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        x = F.instance_norm(x, eps=self.eps)
        scale, bias = self.style(w)
        return x * scale[:, :, None, None] + bias[:, :, None, None]


class LayerEpilogue(nn.Module):
    """The official ``layer_epilogue``: noise, bias, LeakyReLU, AdaIN."""

    def __init__(self, channels: int, resolution: int, w_dim: int) -> None:
        super().__init__()
        self.noise = NoiseInput(channels, resolution)
        self.bias = nn.Parameter(torch.zeros(channels))
        self.adain = AdaIN(channels, w_dim)

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        x = self.noise(x, noise) + self.bias.view(1, -1, 1, 1)
        return self.adain(F.leaky_relu(x, LRELU_SLOPE), w)


class SynthesisBlock(nn.Module):
    """One resolution of g: (4×4: the learned constant | nearest up, conv 3×3, blur), epilogue,
    conv 3×3, epilogue. Two layers, two styles."""

    def __init__(self, c_in: int, c_out: int, resolution: int, w_dim: int) -> None:
        super().__init__()
        self.first = resolution == 4
        if self.first:
            self.const = nn.Parameter(torch.ones(1, c_out, 4, 4))  # the official initialisation
        else:
            self.conv0 = EqualizedConv2d(c_in, c_out, 3, bias=False)
            self.blur = Blur()
        self.epi0 = LayerEpilogue(c_out, resolution, w_dim)
        self.conv1 = EqualizedConv2d(c_out, c_out, 3, bias=False)
        self.epi1 = LayerEpilogue(c_out, resolution, w_dim)

    def forward(
        self,
        x: torch.Tensor | None,
        w0: torch.Tensor,
        w1: torch.Tensor,
        noise: tuple[Any, Any] = (None, None),
    ) -> torch.Tensor:
        if self.first:
            x = self.const.expand(len(w0), -1, -1, -1)
        else:
            assert x is not None
            x = self.blur(self.conv0(F.interpolate(x, scale_factor=2, mode="nearest")))
        x = self.epi0(x, w0, noise[0])
        return self.epi1(self.conv1(x), w1, noise[1])


class MappingNetwork(nn.Module):
    """f: z (and a label embedding) → pixel norm → ``num_layers`` equalised FC layers (LeakyReLU)."""

    def __init__(
        self, z_dim: int, w_dim: int, num_layers: int, lr_mul: float, num_classes: int | None
    ) -> None:
        super().__init__()
        # the official label input: a dense map of the one-hot label with N(0, 1) weights, latent_size
        # wide, concatenated to z; an embedding is the same map
        self.embed = nn.Embedding(num_classes, z_dim) if num_classes else None
        self.norm = PixelNorm()
        dims = [z_dim * (2 if num_classes else 1)] + [w_dim] * num_layers
        self.layers = nn.ModuleList(EqualizedLinear(a, b, lr_mul=lr_mul) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(require_labels(y, "this conditional StyleGAN generator"))], dim=1)
        x = self.norm(z)
        for layer in self.layers:
            x = F.leaky_relu(layer(x), LRELU_SLOPE)
        return x


class StyleGANGenerator(nn.Module):
    """G(z, y) = g(f(z, y)); see the module docstring. The style-evaluation interface
    (:mod:`ganbench.evaluation.style`): ``mapping``, ``synthesis``, ``truncate``, ``w_avg``, ``num_ws``,
    ``layer_resolutions``, ``has_mapping_network``."""

    def __init__(
        self,
        z_dim: int,
        resolution: int,
        channels: int = 3,
        conditioning: str = "none",
        num_classes: int | None = None,
        *,
        w_dim: int = 512,
        mapping_layers: int = 8,
        mapping_lr_mul: float = 0.01,
        fmap_base: int = 8192,
        fmap_max: int = 512,
        style_mixing_prob: float = 0.9,
        w_avg_beta: float = 0.995,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
    ) -> None:
        super().__init__()
        self.plan(
            resolution,
            z_dim=z_dim,
            w_dim=w_dim,
            mapping_layers=mapping_layers,
            mapping_lr_mul=mapping_lr_mul,
            fmap_base=fmap_base,
            fmap_max=fmap_max,
            style_mixing_prob=style_mixing_prob,
            w_avg_beta=w_avg_beta,
            truncation_psi=truncation_psi,
            truncation_cutoff=truncation_cutoff,
        )
        self.z_dim, self.w_dim, self.resolution = z_dim, w_dim, resolution
        self.conditioning = conditioning
        self.num_classes = num_classes if conditioning != "none" else None
        self.has_mapping_network = mapping_layers > 0
        self.style_mixing_prob, self.w_avg_beta = style_mixing_prob, w_avg_beta
        self.truncation_psi, self.truncation_cutoff = truncation_psi, truncation_cutoff
        self.growth_resolutions = growth_resolutions(resolution)
        self.level, self.alpha = len(self.growth_resolutions) - 1, 1.0
        self.mapping = MappingNetwork(z_dim, w_dim, mapping_layers, mapping_lr_mul, self.num_classes)
        chans = [channels_at(r, fmap_base, fmap_max) for r in self.growth_resolutions]
        self.blocks = nn.ModuleList(
            SynthesisBlock(chans[max(i - 1, 0)], c, r, w_dim)
            for i, (r, c) in enumerate(zip(self.growth_resolutions, chans))
        )
        self.to_rgb = nn.ModuleList(EqualizedConv2d(c, channels, 1, gain=1.0) for c in chans)
        self.layer_resolutions = tuple(r for r in self.growth_resolutions for _ in range(2))
        self.num_ws = len(self.layer_resolutions)
        self.register_buffer("w_avg", torch.zeros(w_dim))

    @staticmethod
    def plan(
        resolution: int,
        z_dim: int = 512,
        w_dim: int = 512,
        mapping_layers: int = 8,
        mapping_lr_mul: float = 0.01,
        fmap_base: int = 8192,
        fmap_max: int = 512,
        style_mixing_prob: float = 0.9,
        w_avg_beta: float = 0.995,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        **_: Any,
    ) -> tuple[int, ...]:
        """The per-resolution channels this G would build, or a ValueError naming the option."""
        res = growth_resolutions(resolution)
        check_generator_options(
            z_dim,
            w_dim,
            mapping_layers,
            mapping_lr_mul,
            fmap_base,
            fmap_max,
            style_mixing_prob,
            w_avg_beta,
            truncation_psi,
            truncation_cutoff,
            layers=2 * len(res),
            resolution=resolution,
        )
        return tuple(channels_at(r, fmap_base, fmap_max) for r in res)

    # --- growing -------------------------------------------------------------------------------
    def set_growth(self, level: int, alpha: float) -> None:
        check_growth(self.growth_resolutions, level, alpha, "StyleGANGenerator")
        self.level, self.alpha = level, 1.0 if level == 0 else float(alpha)

    @property
    def active_ws(self) -> int:
        """The layers (styles) the current resolution uses."""
        return 2 * (self.level + 1)

    # --- the style interface -------------------------------------------------------------------
    def truncate(self, ws: torch.Tensor, psi: float, cutoff: int | None = None) -> torch.Tensor:
        """w̄ + ψ(w − w̄) on the first ``cutoff`` layers (None: all) of ws (N × num_ws × w_dim)."""
        if psi == 1.0:
            return ws
        cutoff = self.num_ws if cutoff is None else cutoff
        layer = torch.arange(self.num_ws, device=ws.device)[None, :, None]
        coef = torch.where(layer < cutoff, psi, 1.0).to(ws.dtype)
        return torch.lerp(self.w_avg.to(ws.dtype), ws, coef)

    def broadcast(self, w: torch.Tensor) -> torch.Tensor:
        return w[:, None].expand(-1, self.num_ws, -1)

    def synthesis(self, ws: torch.Tensor, noise: list[torch.Tensor | None] | None = None) -> torch.Tensor:
        """g(ws): ws N × num_ws × w_dim → full-resolution images (linear output). ``noise``: one map
        per layer (N or 1 × 1 × r × r), None entries (or None) for the mode's default."""
        noise = noise if noise is not None else [None] * self.num_ws
        x: torch.Tensor | None = None
        previous = None
        for i in range(self.level + 1):
            if i == self.level and self.alpha < 1.0:
                assert x is not None
                previous = F.interpolate(self.to_rgb[i - 1](x), scale_factor=2, mode="nearest")
            x = self.blocks[i](x, ws[:, 2 * i], ws[:, 2 * i + 1], (noise[2 * i], noise[2 * i + 1]))
        assert x is not None
        out = self.to_rgb[self.level](x)
        if previous is not None:
            out = fade(previous, out, self.alpha)
        return to_resolution(out, self.resolution)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        w = self.mapping(z, y)
        if self.training:
            with torch.no_grad():
                # the global batch's mean under torchrun (layers.batch_mean), as StyleGAN2's
                self.w_avg.copy_(
                    torch.lerp(batch_mean(w.detach()).to(self.w_avg.dtype), self.w_avg, self.w_avg_beta)
                )
        ws = self.broadcast(w)
        if self.training and self.style_mixing_prob > 0 and float(torch.rand(())) < self.style_mixing_prob:
            ws = self.mix(ws, self.mapping(torch.randn_like(z), y))
        if not self.training:
            ws = self.truncate(ws, self.truncation_psi, self.truncation_cutoff)
        out = self.synthesis(ws)
        return out if self.training else out.clamp(-1.0, 1.0)

    def mix(self, ws: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
        """Style mixing regularisation: the layers from a crossover drawn uniformly in
        1..active_ws − 1 (the official ``randint(1, cur_layers)``) take w2."""
        cutoff = int(torch.randint(1, max(self.active_ws, 2), ()))
        return mix_at(ws, self.broadcast(w2), cutoff)


def mix_at(ws: torch.Tensor, ws2: torch.Tensor, cutoff: int) -> torch.Tensor:
    """Layers < cutoff from ws, the rest from ws2."""
    layer = torch.arange(ws.shape[1], device=ws.device)[None, :, None]
    return torch.where(layer < cutoff, ws, ws2)


def _d_conv(equalized: bool, c_in: int, c_out: int, k: int) -> nn.Module:
    """D's convolutions (gain √2): equalised LR, or plain He-initialised ones (under spectral norm)."""
    return EqualizedConv2d(c_in, c_out, k) if equalized else _he_conv(c_in, c_out, k)


def _d_linear(equalized: bool, f_in: int, f_out: int, gain: float = math.sqrt(2)) -> nn.Module:
    return EqualizedLinear(f_in, f_out, gain=gain) if equalized else _he_linear(f_in, f_out, gain)


class DiscriminatorBlock(nn.Module):
    """conv 3×3, LeakyReLU, blur, conv 3×3 then 2×2 average pool, LeakyReLU (official D_basic)."""

    def __init__(self, c_in: int, c_out: int, equalized: bool = True) -> None:
        super().__init__()
        self.conv0 = _d_conv(equalized, c_in, c_in, 3)
        self.blur = Blur()
        self.conv1 = _d_conv(equalized, c_in, c_out, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.conv0(x), LRELU_SLOPE)
        x = F.avg_pool2d(self.conv1(self.blur(x)), 2)
        return F.leaky_relu(x, LRELU_SLOPE)


class StyleGANDiscriminator(nn.Module):
    """D_basic with progressive growing (see the module docstring); ``projection``: a label embedding's
    inner product with the last features is added to the logit. ``equalized_lr`` None: equalised
    learning rate, except under a Lipschitz method that normalises D's layers (spectral norm, the
    family's ``d_kwargs``), where plain He-initialised layers are used, as ProGAN's family does: a
    run-time He constant on a spectrally normalised weight would shrink every layer's norm below 1."""

    def __init__(
        self,
        resolution: int,
        channels: int = 3,
        conditioning: str = "none",
        num_classes: int | None = None,
        *,
        fmap_base: int = 8192,
        fmap_max: int = 512,
        minibatch_std_group: int = 4,
        equalized_lr: bool | None = None,
    ) -> None:
        super().__init__()
        self.plan(resolution, fmap_base=fmap_base, fmap_max=fmap_max, minibatch_std_group=minibatch_std_group)
        eq = True if equalized_lr is None else equalized_lr
        self.equalized_lr = eq
        self.resolution, self.conditioning = resolution, conditioning
        self.growth_resolutions = growth_resolutions(resolution)
        self.level, self.alpha = len(self.growth_resolutions) - 1, 1.0
        chans = [channels_at(r, fmap_base, fmap_max) for r in self.growth_resolutions]
        self.from_rgb = nn.ModuleList(_d_conv(eq, channels, c, 1) for c in chans)
        # blocks[i] takes resolution growth_resolutions[i] to the one below (i >= 1)
        self.blocks = nn.ModuleList(
            [nn.Identity()] + [DiscriminatorBlock(chans[i], chans[i - 1], eq) for i in range(1, len(chans))]
        )
        self.mbstd = MinibatchStdDev(minibatch_std_group)
        c0 = chans[0]
        self.conv = _d_conv(eq, c0 + 1, c0, 3)
        self.fc = _d_linear(eq, c0 * 16, c0)
        self.out = _d_linear(eq, c0, 1, gain=1.0)
        self.num_classes = num_classes if conditioning == "projection" else None
        self.embed = nn.Embedding(num_classes, c0) if self.num_classes else None

    @staticmethod
    def plan(
        resolution: int, fmap_base: int = 8192, fmap_max: int = 512, minibatch_std_group: int = 4, **_: Any
    ) -> tuple[int, ...]:
        res = growth_resolutions(resolution)
        _check_widths(fmap_base, fmap_max)
        if minibatch_std_group < 1:
            raise ValueError(f"minibatch_std_group must be >= 1, got {minibatch_std_group}")
        return tuple(channels_at(r, fmap_base, fmap_max) for r in res)

    def set_growth(self, level: int, alpha: float) -> None:
        check_growth(self.growth_resolutions, level, alpha, "StyleGANDiscriminator")
        self.level, self.alpha = level, 1.0 if level == 0 else float(alpha)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, return_aux: bool = False) -> Any:
        lv = self.level
        x = to_resolution(x, self.growth_resolutions[lv])
        h = F.leaky_relu(self.from_rgb[lv](x), LRELU_SLOPE)
        if lv > 0:
            h = self.blocks[lv](h)
            if self.alpha < 1.0:
                old = F.leaky_relu(self.from_rgb[lv - 1](F.avg_pool2d(x, 2)), LRELU_SLOPE)
                h = fade(old, h, self.alpha)
            for i in range(lv - 1, 0, -1):
                h = self.blocks[i](h)
        h = F.leaky_relu(self.conv(self.mbstd(h)), LRELU_SLOPE)
        feats = F.leaky_relu(self.fc(h.flatten(1)), LRELU_SLOPE)
        logits = self.out(feats).squeeze(1)
        if self.embed is not None:
            y = require_labels(y, "this projection StyleGAN discriminator")
            logits = logits + (self.embed(y) * feats).sum(1)
        return DOutput(logits, None, feats) if return_aux else logits


STYLE_EVAL_KEY = "style_eval"  # model.g.style_eval: the settings of the final style evaluation


def _without_style_eval(cfg: Any) -> Any:
    g = {k: v for k, v in cfg.model.g.items() if k != STYLE_EVAL_KEY}
    return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, g=g))


@MODELS.register("stylegan")
class StyleGAN(ImageFamily):
    """StyleGAN v1; ``model.g``: w_dim, mapping_layers, mapping_lr_mul, fmap_base, fmap_max,
    style_mixing_prob, w_avg_beta, truncation_psi, truncation_cutoff, style_eval (the final style
    evaluation's settings, :func:`ganbench.evaluation.style.check_style_eval`); ``model.d``:
    fmap_base, fmap_max, minibatch_std_group, equalized_lr."""

    name = "stylegan"
    generator = StyleGANGenerator
    discriminator = StyleGANDiscriminator
    resolutions = RESOLUTIONS
    conditionings = ("none", "projection")
    unsupported: ClassVar[dict[str, str]] = {
        "concat": "StyleGAN's descendants feed the label to the mapping network (an embedding concatenated "
        "to z) and to D by projection: use 'projection'",
        "acgan": "no StyleGAN descendant uses an auxiliary classifier D: use 'projection'",
    }
    has_mapping_network = True  # style mixing, truncation in W and PPL in W (evaluation/style.py)
    grows = True  # its networks follow models/growing.py: train.growing may schedule them

    @classmethod
    def validate(cls, cfg: Any, where: str) -> None:
        check_style_eval(cfg.model.g.get(STYLE_EVAL_KEY), f"{where}: model.g.{STYLE_EVAL_KEY}")
        cfg = _without_style_eval(cfg)
        super().validate(cfg, where)  # the options' types, and the plan when data.resolution is set
        if cfg.data.resolution is None:  # the range checks that need no resolution, still before any data
            options = {
                n: p.default
                for n, p in inspect.signature(StyleGANGenerator.__init__).parameters.items()
                if p.kind is p.KEYWORD_ONLY
            }
            try:
                check_generator_options(cfg.model.z_dim, **{**options, **cfg.model.g})
            except ValueError as e:
                raise ConfigError(f"{where}: model.g: {e}") from None

    @classmethod
    def check_combination(cls, cfg: Any, d: dict[str, Any], where: str) -> None:
        lip = cfg.objective.lipschitz
        if d.get("equalized_lr") and LIPSCHITZ.get(lip).normalises_d:
            raise ConfigError(
                f"{where}: model.d.equalized_lr: true cannot be combined with objective.lipschitz {lip!r}: "
                f"it normalises torch's own layers and would leave the equalised-learning-rate ones "
                f"unnormalised; leave equalized_lr unset (plain He-initialised layers under {lip}) or false"
            )

    @classmethod
    def d_kwargs(cls, cfg: Any) -> dict[str, Any]:
        d = dict(cfg.model.d)
        if d.get("equalized_lr") is None:
            d["equalized_lr"] = not LIPSCHITZ.get(cfg.objective.lipschitz).normalises_d
        return d

    @classmethod
    def build(cls, cfg: Any, data: Any) -> tuple[nn.Module, nn.Module]:
        return super().build(_without_style_eval(cfg), data)

    @classmethod
    def final_evaluation(cls, G: nn.Module, data: Any, cfg: Any, run_dir: Any, device: Any) -> dict[str, Any]:
        """The style evaluation (:mod:`ganbench.evaluation.style`): figures beside the record, the
        truncation sweep's metrics and the perceptual path lengths."""
        return style_evaluation(G, data, cfg.eval, run_dir, device, **(cfg.model.g.get(STYLE_EVAL_KEY) or {}))
