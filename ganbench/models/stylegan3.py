"""StyleGAN3-T (Karras et al. 2021, "Alias-Free Generative Adversarial Networks") in NVIDIA's
parameter layout, pure PyTorch, fp32.

G(z, y) = synthesis(mapping(z, y)): the mapping network (pixel-normalised z, optionally
concatenated with a pixel-normalised label embedding, ``mapping_layers`` FC layers with learning-rate
multiplier 0.01, the tracked ``w_avg``) gives one w per layer; the synthesis network starts from
Fourier features (``SynthesisInput``: fixed random frequencies and phases, a learned affine of w
that rotates and translates them, initialised to the identity, and the user ``transform`` buffer
that the equivariance metrics set), then ``num_layers`` modulated 3×3 convolutions, each followed by
the filtered leaky ReLU (upsample ×``lrelu_upsampling`` with a Kaiser low-pass, bias, leaky ReLU,
clamp, low-pass and downsample to the layer's sampling rate), then a 1×1 modulated ToRGB and the
``output_scale``. Cutoffs, stopbands, sampling rates, sizes and widths follow the paper's schedule
(:func:`layer_schedule`, §3.2 and App. F); no noise inputs, no skip connections. Every layer
normalises its input by the EMA of its input magnitude (``magnitude_ema``), which, like ``w_avg``,
is updated when G runs in training mode without gradients (the trainer's D step, as NVIDIA's
``update_emas`` in the D pass).

The state dict has NVIDIA's ``training.networks_stylegan3.Generator`` keys, shapes and buffers, and
:func:`from_nvidia_kwargs` (registered in ``NVIDIA_NETWORKS``) builds it from that class's
constructor arguments; ``scripts/compare_nvidia_stylegan3.py`` checks the outputs against NVIDIA's.

The family's D is StyleGAN2's (``models/stylegan2.py``: residual, minibatch standard deviation,
projection on a mapped label), as NVIDIA's StyleGAN3 trains with ``networks_stylegan2.Discriminator``.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganbench.errors import ConfigError
from ganbench.evaluation.equivariance import check_eq_eval, equivariance_evaluation
from ganbench.models.family import ImageFamily
from ganbench.models.filters import design_lowpass_filter, filtered_lrelu
from ganbench.models.stylegan2 import StyleGAN2, StyleGAN2Discriminator
from ganbench.registries import MODELS, NVIDIA_NETWORKS

RESOLUTIONS = (16, 32, 64, 128, 256, 512, 1024)
EQ_EVAL_KEY = "eq_eval"  # model.g.eq_eval: the settings of the final equivariance evaluation


# ---------------------------------------------------------------------------------------------
# layers


class FullyConnectedLayer(nn.Module):
    """y = act(x (w·g)ᵀ + b·lr_mul), g = lr_mul/√in (equalised learning rate); ``lrelu``: slope 0.2,
    gain √2 (NVIDIA's bias_act)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        activation: str = "linear",
        lr_multiplier: float = 1.0,
        weight_init: float = 1.0,
        bias_init: float | list[float] = 0.0,
    ) -> None:
        super().__init__()
        self.activation = activation
        self.weight = nn.Parameter(torch.randn(out_features, in_features) * (weight_init / lr_multiplier))
        b = np.broadcast_to(np.asarray(bias_init, dtype=np.float32), [out_features])
        self.bias = nn.Parameter(torch.from_numpy(b / lr_multiplier))
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.addmm(self.bias[None] * self.bias_gain, x, (self.weight * self.weight_gain).t())
        if self.activation == "lrelu":
            x = F.leaky_relu(x, 0.2) * math.sqrt(2)
        return x


class MappingNetwork(nn.Module):
    """z (and a label vector c) → ``num_ws`` copies of w; ``w_avg`` tracks the mean of w."""

    def __init__(
        self,
        z_dim: int,
        c_dim: int,
        w_dim: int,
        num_ws: int,
        num_layers: int = 2,
        lr_multiplier: float = 0.01,
        w_avg_beta: float = 0.998,
    ) -> None:
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = z_dim, c_dim, w_dim, num_ws
        self.num_layers, self.w_avg_beta = num_layers, w_avg_beta
        self.embed = FullyConnectedLayer(c_dim, w_dim) if c_dim > 0 else None
        features = [z_dim + (w_dim if c_dim > 0 else 0)] + [w_dim] * num_layers
        for i in range(num_layers):
            layer = FullyConnectedLayer(features[i], features[i + 1], "lrelu", lr_multiplier=lr_multiplier)
            setattr(self, f"fc{i}", layer)
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(
        self,
        z: torch.Tensor,
        c: torch.Tensor | None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        update_emas: bool = False,
    ) -> torch.Tensor:
        x = _pixel_norm(z.float())
        if self.embed is not None:
            if c is None:
                raise ValueError("this conditional StyleGAN3 generator needs labels y")
            x = torch.cat([x, _pixel_norm(self.embed(c.float()))], dim=1)
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        if update_emas:
            self.w_avg.copy_(x.detach().mean(0).lerp(self.w_avg, self.w_avg_beta))
        x = x[:, None].repeat(1, self.num_ws, 1)
        if truncation_psi != 1:
            cut = self.num_ws if truncation_cutoff is None else truncation_cutoff
            x[:, :cut] = self.w_avg.lerp(x[:, :cut], truncation_psi)
        return x


def _pixel_norm(x: torch.Tensor) -> torch.Tensor:
    return x * (x.square().mean(1, keepdim=True) + 1e-8).rsqrt()


def modulated_conv2d(
    x: torch.Tensor,
    w: torch.Tensor,
    s: torch.Tensor,
    demodulate: bool = True,
    padding: int = 0,
    input_gain: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-sample weights w·s (demodulated to unit output variance), as one grouped convolution.
    With ``demodulate`` w and s are first normalised to unit RMS (NVIDIA's fp16 safeguard, kept for
    identical numbers)."""
    n = x.shape[0]
    o, i, kh, kw = w.shape
    if demodulate:
        w = w * w.square().mean([1, 2, 3], keepdim=True).rsqrt()
        s = s * s.square().mean().rsqrt()
    w = w[None] * s[:, None, :, None, None]
    if demodulate:
        w = w * (w.square().sum([2, 3, 4]) + 1e-8).rsqrt()[:, :, None, None, None]
    if input_gain is not None:
        w = w * input_gain.expand(n, i)[:, None, :, None, None]
    x = F.conv2d(x.reshape(1, -1, *x.shape[2:]), w.reshape(-1, i, kh, kw), padding=padding, groups=n)
    return x.reshape(n, -1, *x.shape[2:])


class SynthesisInput(nn.Module):
    """Fourier features: ``channels`` sinusoids of random frequency (radius ≤ ``bandwidth``) and
    phase, sampled on a ``size``² grid at ``sampling_rate``, rotated and translated by an affine of
    w (initialised to the identity) and by the ``transform`` buffer (the inverse of a transform of
    the output image, the equivariance metrics' handle), then mixed by a learned matrix."""

    def __init__(self, w_dim: int, channels: int, size: int, sampling_rate: float, bandwidth: float) -> None:
        super().__init__()
        self.channels, self.size = channels, size
        self.sampling_rate, self.bandwidth = sampling_rate, bandwidth
        freqs = torch.randn(channels, 2)
        radii = freqs.square().sum(1, keepdim=True).sqrt()
        freqs /= radii * radii.square().exp().pow(0.25)  # uniform-ish density within the disc
        freqs *= bandwidth
        phases = torch.rand(channels) - 0.5
        self.weight = nn.Parameter(torch.randn(channels, channels))
        self.affine = FullyConnectedLayer(w_dim, 4, weight_init=0.0, bias_init=[1.0, 0.0, 0.0, 0.0])
        self.register_buffer("transform", torch.eye(3, 3))
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", phases)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        n = w.shape[0]
        t = self.affine(w)  # (r_c, r_s, t_x, t_y)
        t = t / t[:, :2].norm(dim=1, keepdim=True)  # a pure rotation
        m_r = torch.eye(3, device=w.device).repeat(n, 1, 1)
        m_r[:, 0, 0], m_r[:, 0, 1], m_r[:, 1, 0], m_r[:, 1, 1] = t[:, 0], -t[:, 1], t[:, 1], t[:, 0]
        m_t = torch.eye(3, device=w.device).repeat(n, 1, 1)
        m_t[:, 0, 2], m_t[:, 1, 2] = -t[:, 2], -t[:, 3]
        transforms = m_r @ m_t @ self.transform[None]
        phases = self.phases[None] + (self.freqs[None] @ transforms[:, :2, 2:]).squeeze(2)
        freqs = self.freqs[None] @ transforms[:, :2, :2]
        # fade out the frequencies a transform pushes above the band limit
        amplitudes = (
            1 - (freqs.norm(dim=2) - self.bandwidth) / (self.sampling_rate / 2 - self.bandwidth)
        ).clamp(0, 1)
        theta = torch.eye(2, 3, device=w.device)
        theta[0, 0] = theta[1, 1] = 0.5 * self.size / self.sampling_rate
        grid = F.affine_grid(theta[None], [1, 1, self.size, self.size], align_corners=False)
        x = (grid[:, :, :, None] @ freqs.permute(0, 2, 1)[:, None, None]).squeeze(3)  # N, H, W, C
        x = torch.sin((x + phases[:, None, None]) * (2 * math.pi)) * amplitudes[:, None, None]
        x = x @ (self.weight / math.sqrt(self.channels)).t()
        return x.permute(0, 3, 1, 2)


class SynthesisLayer(nn.Module):
    """Modulated conv → filtered leaky ReLU between the input's and the output's sampling rates
    (the ToRGB layer: 1×1, no demodulation, linear, no resampling)."""

    def __init__(
        self,
        w_dim: int,
        is_torgb: bool,
        is_critically_sampled: bool,
        in_channels: int,
        out_channels: int,
        in_size: int,
        out_size: int,
        in_sampling_rate: int,
        out_sampling_rate: int,
        in_cutoff: float,
        out_cutoff: float,
        in_half_width: float,
        out_half_width: float,
        conv_kernel: int = 3,
        filter_size: int = 6,
        lrelu_upsampling: int = 2,
        use_radial_filters: bool = False,
        conv_clamp: float | None = 256,
        magnitude_ema_beta: float = 0.999,
    ) -> None:
        super().__init__()
        self.is_torgb, self.in_channels, self.out_channels = is_torgb, in_channels, out_channels
        self.conv_kernel = 1 if is_torgb else conv_kernel
        self.conv_clamp, self.magnitude_ema_beta = conv_clamp, magnitude_ema_beta
        tmp_rate = max(in_sampling_rate, out_sampling_rate) * (1 if is_torgb else lrelu_upsampling)
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, self.conv_kernel, self.conv_kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.register_buffer("magnitude_ema", torch.ones([]))
        self.up_factor = int(round(tmp_rate / in_sampling_rate))
        self.down_factor = int(round(tmp_rate / out_sampling_rate))
        if in_sampling_rate * self.up_factor != tmp_rate or out_sampling_rate * self.down_factor != tmp_rate:
            raise ValueError(
                f"sampling rates {in_sampling_rate} → {out_sampling_rate} are not integer fractions "
                f"of the intermediate rate {tmp_rate} (lrelu_upsampling must be a positive integer)"
            )
        up_taps = filter_size * self.up_factor if self.up_factor > 1 and not is_torgb else 1
        down_taps = filter_size * self.down_factor if self.down_factor > 1 and not is_torgb else 1
        # None for one tap: register_buffer(None) keeps it out of the state dict, as NVIDIA's
        self.register_buffer(
            "up_filter", design_lowpass_filter(up_taps, in_cutoff, in_half_width * 2, tmp_rate)
        )
        radial = use_radial_filters and not is_critically_sampled
        self.register_buffer(
            "down_filter", design_lowpass_filter(down_taps, out_cutoff, out_half_width * 2, tmp_rate, radial)
        )
        pad_total = (out_size - 1) * self.down_factor + 1  # the size before downsampling
        pad_total -= (in_size + self.conv_kernel - 1) * self.up_factor  # the size after upsampling
        pad_total += up_taps + down_taps - 2  # what the filters remove
        pad_lo = (pad_total + self.up_factor) // 2  # the symmetric sample positions (App. C.3)
        self.padding = [pad_lo, pad_total - pad_lo, pad_lo, pad_total - pad_lo]
        self.out_size = out_size

    def forward(self, x: torch.Tensor, w: torch.Tensor, update_emas: bool = False) -> torch.Tensor:
        if update_emas:
            magnitude = x.detach().float().square().mean()
            self.magnitude_ema.copy_(magnitude.lerp(self.magnitude_ema, self.magnitude_ema_beta))
        styles = self.affine(w)
        if self.is_torgb:
            styles = styles / math.sqrt(self.in_channels * self.conv_kernel**2)
        x = modulated_conv2d(
            x,
            self.weight,
            styles,
            demodulate=not self.is_torgb,
            padding=self.conv_kernel - 1,
            input_gain=self.magnitude_ema.rsqrt(),
        )
        return filtered_lrelu(
            x,
            self.up_filter,
            self.down_filter,
            self.bias,
            up=self.up_factor,
            down=self.down_factor,
            padding=self.padding,
            gain=1.0 if self.is_torgb else math.sqrt(2),
            slope=1.0 if self.is_torgb else 0.2,
            clamp=self.conv_clamp,
        )


@dataclasses.dataclass(frozen=True)
class LayerSchedule:
    """Per layer 0..num_layers (the last is ToRGB; index 0 of the arrays is the input)."""

    cutoffs: np.ndarray  # f_c
    stopbands: np.ndarray  # f_t
    sampling_rates: np.ndarray  # s
    half_widths: np.ndarray  # f_h
    sizes: np.ndarray
    channels: np.ndarray


def layer_schedule(
    resolution: int,
    img_channels: int,
    channel_base: int = 32768,
    channel_max: int = 512,
    num_layers: int = 14,
    num_critical: int = 2,
    first_cutoff: float = 2,
    first_stopband: float = 2**2.1,
    last_stopband_rel: float = 2**0.3,
    margin_size: int = 10,
) -> LayerSchedule:
    """The paper's schedule (App. F, Fig. 4c): cutoff and stopband grow geometrically from the first
    layer's to the last's (cutoff at Nyquist, resolution/2) over the non-critical layers and stay
    there for the last ``num_critical``; each layer samples at the smallest power of two ≥ twice its
    stopband (capped at the resolution) with ``margin_size`` extra pixels each side."""
    last_cutoff = resolution / 2
    last_stopband = last_cutoff * last_stopband_rel
    exponents = np.minimum(np.arange(num_layers + 1) / (num_layers - num_critical), 1)
    cutoffs = first_cutoff * (last_cutoff / first_cutoff) ** exponents
    stopbands = first_stopband * (last_stopband / first_stopband) ** exponents
    sampling_rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, resolution))))
    half_widths = np.maximum(stopbands, sampling_rates / 2) - cutoffs
    sizes = sampling_rates + margin_size * 2
    sizes[-2:] = resolution
    channels = np.rint(np.minimum((channel_base / 2) / cutoffs, channel_max))
    channels[-1] = img_channels
    return LayerSchedule(cutoffs, stopbands, sampling_rates, half_widths, sizes, channels)


class SynthesisNetwork(nn.Module):
    """ws (N × num_ws × w_dim) → images; layer ``L{i}_{size}_{channels}`` as NVIDIA names them."""

    def __init__(
        self,
        w_dim: int,
        img_resolution: int,
        img_channels: int,
        channel_base: int = 32768,
        channel_max: int = 512,
        num_layers: int = 14,
        num_critical: int = 2,
        first_cutoff: float = 2,
        first_stopband: float = 2**2.1,
        last_stopband_rel: float = 2**0.3,
        margin_size: int = 10,
        output_scale: float = 0.25,
        **layer_kwargs: Any,
    ) -> None:
        super().__init__()
        self.num_ws = num_layers + 2
        self.img_resolution, self.output_scale = img_resolution, output_scale
        sch = layer_schedule(
            img_resolution,
            img_channels,
            channel_base,
            channel_max,
            num_layers,
            num_critical,
            first_cutoff,
            first_stopband,
            last_stopband_rel,
            margin_size,
        )
        self.schedule = sch
        self.input = SynthesisInput(
            w_dim,
            int(sch.channels[0]),
            int(sch.sizes[0]),
            float(sch.sampling_rates[0]),
            float(sch.cutoffs[0]),
        )
        self.layer_names: list[str] = []
        for i in range(num_layers + 1):
            p = max(i - 1, 0)
            layer = SynthesisLayer(
                w_dim,
                is_torgb=i == num_layers,
                is_critically_sampled=i >= num_layers - num_critical,
                in_channels=int(sch.channels[p]),
                out_channels=int(sch.channels[i]),
                in_size=int(sch.sizes[p]),
                out_size=int(sch.sizes[i]),
                in_sampling_rate=int(sch.sampling_rates[p]),
                out_sampling_rate=int(sch.sampling_rates[i]),
                in_cutoff=float(sch.cutoffs[p]),
                out_cutoff=float(sch.cutoffs[i]),
                in_half_width=float(sch.half_widths[p]),
                out_half_width=float(sch.half_widths[i]),
                **layer_kwargs,
            )
            name = f"L{i}_{layer.out_size}_{layer.out_channels}"
            setattr(self, name, layer)
            self.layer_names.append(name)

    def forward(self, ws: torch.Tensor, update_emas: bool = False) -> torch.Tensor:
        x = self.input(ws[:, 0].float())
        for name, w in zip(self.layer_names, ws[:, 1:].float().unbind(1)):
            x = getattr(self, name)(x, w, update_emas=update_emas)
        return x * self.output_scale if self.output_scale != 1 else x


# ---------------------------------------------------------------------------------------------
# the ganbench generator


def check_options(
    z_dim: int,
    resolution: int,
    *,
    w_dim: int,
    mapping_layers: int,
    mapping_lr_mul: float,
    w_avg_beta: float,
    channel_base: int,
    channel_max: int,
    num_layers: int,
    num_critical: int,
    first_cutoff: float,
    first_stopband: float,
    last_stopband_rel: float,
    margin_size: int,
    output_scale: float,
    conv_kernel: int,
    filter_size: int,
    lrelu_upsampling: int,
    use_radial_filters: bool,
    conv_clamp: float | None,
    magnitude_ema_beta: float,
    truncation_psi: float,
    img_channels: int = 3,
) -> LayerSchedule:
    """The schedule these options give, or a ValueError naming the first bad option."""
    positive = {
        "z_dim": z_dim,
        "w_dim": w_dim,
        "mapping_layers": mapping_layers,
        "channel_base": channel_base,
        "channel_max": channel_max,
        "conv_kernel": conv_kernel,
        "filter_size": filter_size,
        "lrelu_upsampling": lrelu_upsampling,
        "num_critical": num_critical,
    }
    for key, v in positive.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{key} must be a positive integer, got {v!r}")
    if num_layers <= num_critical:
        raise ValueError(
            f"num_layers ({num_layers}) must exceed num_critical ({num_critical}): the cutoff grows over "
            f"the layers before the critically sampled ones"
        )
    if conv_kernel % 2 != 1:
        raise ValueError(f"conv_kernel must be odd (a centred kernel), got {conv_kernel}")
    if margin_size < 0:
        raise ValueError(f"margin_size must be >= 0, got {margin_size}")
    for key, v in (
        ("mapping_lr_mul", mapping_lr_mul),
        ("output_scale", output_scale),
        ("first_cutoff", first_cutoff),
    ):
        if not v > 0:
            raise ValueError(f"{key} must be > 0, got {v}")
    if not first_stopband > first_cutoff:
        raise ValueError(f"first_stopband ({first_stopband}) must exceed first_cutoff ({first_cutoff})")
    if not last_stopband_rel > 1:
        raise ValueError(
            f"last_stopband_rel must be > 1 (the stopband above the cutoff), got {last_stopband_rel}"
        )
    if first_cutoff >= resolution / 2:
        raise ValueError(
            f"first_cutoff ({first_cutoff}) must be below the Nyquist frequency {resolution / 2}"
        )
    for key, v in (("w_avg_beta", w_avg_beta), ("magnitude_ema_beta", magnitude_ema_beta)):
        if not 0 <= v < 1:
            raise ValueError(f"{key} must be in [0, 1), got {v}")
    if conv_clamp is not None and not conv_clamp > 0:
        raise ValueError(f"conv_clamp must be > 0 or null (no clamp), got {conv_clamp}")
    if not 0 <= truncation_psi <= 1:
        raise ValueError(f"truncation_psi must be in [0, 1], got {truncation_psi}")
    if use_radial_filters not in (True, False):
        raise ValueError(f"use_radial_filters must be true or false, got {use_radial_filters!r}")
    sch = layer_schedule(
        resolution,
        img_channels,
        channel_base,
        channel_max,
        num_layers,
        num_critical,
        first_cutoff,
        first_stopband,
        last_stopband_rel,
        margin_size,
    )
    if (sch.channels[:-1] < 1).any():
        raise ValueError(f"channel_base {channel_base} leaves layers with no channels: raise channel_base")
    return sch


class StyleGAN3Generator(nn.Module):
    """G(z, y) = synthesis(mapping(z, y)) (module docstring). ``y``: class indices (one-hot into the
    mapping's label embedding) or N × c_dim label vectors. Training mode: no truncation, raw output;
    eval mode: ``truncation_psi``, output clamped to [-1, 1].

    Equivariance interface (:mod:`ganbench.evaluation.equivariance`): ``map_latents(z, y)`` and
    ``synthesize_transformed(ws, transform)``."""

    def __init__(
        self,
        z_dim: int,
        resolution: int,
        channels: int = 3,
        conditioning: str = "none",
        num_classes: int | None = None,
        *,
        w_dim: int = 512,
        mapping_layers: int = 2,
        mapping_lr_mul: float = 0.01,
        w_avg_beta: float = 0.998,
        channel_base: int = 32768,
        channel_max: int = 512,
        num_layers: int = 14,
        num_critical: int = 2,
        first_cutoff: float = 2,
        first_stopband: float = 2**2.1,
        last_stopband_rel: float = 2**0.3,
        margin_size: int = 10,
        output_scale: float = 0.25,
        conv_kernel: int = 3,
        filter_size: int = 6,
        lrelu_upsampling: int = 2,
        use_radial_filters: bool = False,
        conv_clamp: float | None = 256,
        magnitude_ema_beta: float = 0.999,
        truncation_psi: float = 1.0,
    ) -> None:
        super().__init__()
        synthesis = dict(
            channel_base=channel_base,
            channel_max=channel_max,
            num_layers=num_layers,
            num_critical=num_critical,
            first_cutoff=first_cutoff,
            first_stopband=first_stopband,
            last_stopband_rel=last_stopband_rel,
            margin_size=margin_size,
            output_scale=output_scale,
        )
        layer = dict(
            conv_kernel=conv_kernel,
            filter_size=filter_size,
            lrelu_upsampling=lrelu_upsampling,
            use_radial_filters=use_radial_filters,
            conv_clamp=conv_clamp,
            magnitude_ema_beta=magnitude_ema_beta,
        )
        self.plan(
            resolution,
            z_dim=z_dim,
            w_dim=w_dim,
            mapping_layers=mapping_layers,
            mapping_lr_mul=mapping_lr_mul,
            w_avg_beta=w_avg_beta,
            truncation_psi=truncation_psi,
            channels=channels,
            **synthesis,
            **layer,
        )
        self.z_dim, self.w_dim, self.resolution, self.img_channels = z_dim, w_dim, resolution, channels
        self.num_classes = num_classes if conditioning != "none" else None
        self.c_dim = self.num_classes or 0
        self.truncation_psi = truncation_psi
        self.synthesis = SynthesisNetwork(w_dim, resolution, channels, **synthesis, **layer)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(
            z_dim, self.c_dim, w_dim, self.num_ws, mapping_layers, mapping_lr_mul, w_avg_beta
        )

    @staticmethod
    def plan(resolution: int, z_dim: int = 512, channels: int = 3, **options: Any) -> tuple[int, ...]:
        """The per-layer channels (input Fourier features … ToRGB) this G would build, or a ValueError."""
        defaults = {n: p.default for n, p in _init_signature().parameters.items() if p.kind is p.KEYWORD_ONLY}
        unknown = sorted(set(options) - set(defaults))
        if unknown:
            raise ValueError(f"unknown option(s) {', '.join(unknown)}; valid: {', '.join(defaults)}")
        sch = check_options(z_dim, resolution, img_channels=channels, **{**defaults, **options})
        return tuple(int(c) for c in sch.channels)

    def labels(self, y: torch.Tensor | None) -> torch.Tensor | None:
        if self.c_dim == 0 or y is None:
            return None
        return F.one_hot(y.long(), self.c_dim).float() if y.ndim == 1 else y.float()

    def forward(
        self,
        z: torch.Tensor,
        y: torch.Tensor | None = None,
        truncation_psi: float | None = None,
        truncation_cutoff: int | None = None,
    ) -> torch.Tensor:
        # NVIDIA updates w_avg and the magnitude EMAs in the discriminator pass, where the fakes need
        # no gradient: here, training mode without autograd (the trainer's D step)
        update = self.training and not torch.is_grad_enabled()
        psi = (1.0 if self.training else self.truncation_psi) if truncation_psi is None else truncation_psi
        ws = self.mapping(z, self.labels(y), psi, truncation_cutoff, update_emas=update)
        out = self.synthesis(ws, update_emas=update)
        return out if self.training else out.clamp(-1.0, 1.0)

    # --- the equivariance interface ---------------------------------------------------------
    def map_latents(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.mapping(z, self.labels(y))

    def synthesize_transformed(self, ws: torch.Tensor, transform: torch.Tensor) -> torch.Tensor:
        """The images of ``ws`` with the Fourier features moved by the 3×3 ``transform`` (the inverse
        of the wanted transform of the output, in units of the image's width: NVIDIA's convention)."""
        with self.input_transform(transform):
            return self.synthesis(ws)

    @contextmanager
    def input_transform(self, transform: torch.Tensor) -> Iterator[None]:
        buf = self.synthesis.input.transform
        saved = buf.clone()
        buf.copy_(transform)
        try:
            yield
        finally:
            buf.copy_(saved)


def _init_signature() -> inspect.Signature:
    return inspect.signature(StyleGAN3Generator.__init__)


# ---------------------------------------------------------------------------------------------
# NVIDIA's constructor arguments

_MAPPING_KWARGS = {
    "num_layers": "mapping_layers",
    "lr_multiplier": "mapping_lr_mul",
    "w_avg_beta": "w_avg_beta",
}
_SYNTHESIS_KWARGS = (
    "channel_base",
    "channel_max",
    "num_layers",
    "num_critical",
    "first_cutoff",
    "first_stopband",
    "last_stopband_rel",
    "margin_size",
    "output_scale",
    "conv_kernel",
    "filter_size",
    "lrelu_upsampling",
    "use_radial_filters",
    "conv_clamp",
    "magnitude_ema_beta",
)
_IGNORED_KWARGS = ("num_fp16_res",)  # fp16 only changes the arithmetic on CUDA, not the parameters


@NVIDIA_NETWORKS.register("training.networks_stylegan3.Generator")
def from_nvidia_kwargs(init_args: tuple, init_kwargs: dict) -> StyleGAN3Generator:
    """A :class:`StyleGAN3Generator` whose state dict has the keys and shapes of NVIDIA's
    ``Generator(*init_args, **init_kwargs)``; ValueError naming unsupported arguments."""
    names = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs")
    if len(init_args) > len(names):
        raise ValueError(f"networks_stylegan3.Generator: {len(init_args)} positional arguments, at most 6")
    kw = {**dict(zip(names, init_args)), **init_kwargs}
    missing = [k for k in names[:5] if k not in kw]
    if missing:
        raise ValueError(f"networks_stylegan3.Generator: missing argument(s) {', '.join(missing)}")
    mapping = dict(kw.pop("mapping_kwargs", None) or {})
    bad_mapping = sorted(set(mapping) - set(_MAPPING_KWARGS))
    core = {k: kw.pop(k) for k in names[:5]}
    bad = sorted(set(kw) - set(_SYNTHESIS_KWARGS) - set(_IGNORED_KWARGS))
    if bad or bad_mapping:
        raise ValueError(
            "networks_stylegan3.Generator: unsupported argument(s) "
            + ", ".join(bad + [f"mapping_kwargs.{k}" for k in bad_mapping])
            + f"; supported: {', '.join(names[:5] + _SYNTHESIS_KWARGS)}, mapping_kwargs "
            f"({', '.join(_MAPPING_KWARGS)})"
        )
    options = {k: v for k, v in kw.items() if k in _SYNTHESIS_KWARGS}
    options.update({_MAPPING_KWARGS[k]: v for k, v in mapping.items()})
    c_dim = int(core["c_dim"])
    return StyleGAN3Generator(
        int(core["z_dim"]),
        int(core["img_resolution"]),
        int(core["img_channels"]),
        "projection" if c_dim else "none",
        c_dim or None,
        w_dim=int(core["w_dim"]),
        **options,
    )


# ---------------------------------------------------------------------------------------------
# the family


def _without_eq_eval(cfg: Any) -> Any:
    g = {k: v for k, v in cfg.model.g.items() if k != EQ_EVAL_KEY}
    return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, g=g))


@MODELS.register("stylegan3")
class StyleGAN3(ImageFamily):
    """StyleGAN3-T; ``model.g``: the options of :class:`StyleGAN3Generator` (NVIDIA's names;
    ``mapping_layers`` / ``mapping_lr_mul`` for its mapping_kwargs) and ``eq_eval`` (the final
    equivariance evaluation's settings, :func:`ganbench.evaluation.equivariance.check_eq_eval`);
    ``model.d``: StyleGAN2's D options (architecture, channel_base, channel_max, conv_clamp,
    mbstd_group_size, mbstd_num_channels, mapping_layers)."""

    name = "stylegan3"
    generator = StyleGAN3Generator
    discriminator = StyleGAN2Discriminator
    resolutions = RESOLUTIONS
    conditionings = ("none", "projection")
    unsupported: ClassVar[dict[str, str]] = {
        "concat": "StyleGAN3 feeds the label to the mapping network and to D by projection: use 'projection'",
        "acgan": "StyleGAN3's D has no auxiliary classifier: use 'projection'",
    }

    @classmethod
    def validate(cls, cfg: Any, where: str) -> None:
        check_eq_eval(cfg.model.g.get(EQ_EVAL_KEY), f"{where}: model.g.{EQ_EVAL_KEY}")
        cfg = _without_eq_eval(cfg)
        super().validate(cfg, where)
        if cfg.data.resolution is None:  # the option checks that hold at any resolution
            try:
                StyleGAN3Generator.plan(RESOLUTIONS[-1], z_dim=cfg.model.z_dim, **cfg.model.g)
            except ValueError as e:
                raise ConfigError(f"{where}: model.g: {e}") from None

    @classmethod
    def check_combination(cls, cfg: Any, d: dict[str, Any], where: str) -> None:
        StyleGAN2.check_combination(cfg, d, where)  # the same D: the same Lipschitz methods

    @classmethod
    def build(cls, cfg: Any, data: Any) -> tuple[nn.Module, nn.Module]:
        return super().build(_without_eq_eval(cfg), data)

    @classmethod
    def final_evaluation(cls, G: nn.Module, data: Any, cfg: Any, run_dir: Any, device: Any) -> dict[str, Any]:
        """EQ-T, EQ-T (fractional) and EQ-R of the reported G (``model.g.eq_eval``)."""
        return equivariance_evaluation(G, cfg.eval, run_dir, device, **(cfg.model.g.get(EQ_EVAL_KEY) or {}))
