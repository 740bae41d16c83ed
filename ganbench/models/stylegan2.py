"""StyleGAN2 (Karras et al. 2020, "Analyzing and improving the image quality of StyleGAN"), config F,
in the parameter layout of NVIDIA's stylegan2-ada-pytorch (``training/networks.py``).

Our own pure-PyTorch implementation of the same mathematics: no custom CUDA ops, float32 always
(NVIDIA's ``force_fp32`` path; ``num_fp16_res`` is accepted and ignored), ``conv_clamp`` kept (NVIDIA
clamps regardless of the dtype). The module tree, parameter and buffer names and shapes are
NVIDIA's, so a ``G_ema.state_dict()`` of theirs loads into :class:`Generator` with ``strict=True``
(:data:`ganbench.registries.NVIDIA_NETWORKS` holds the builders).

- **Mapping** z → w: ``normalize_2nd_moment`` of z (and of a label embedding, concatenated), FC
  layers with a learning-rate multiplier (0.01), LeakyReLU 0.2 with gain √2; the moving average
  ``w_avg`` (β = ``w_avg_beta``) is tracked in training mode (under torchrun on the global batch:
  :func:`ganbench.models.layers.batch_mean`); truncation ψ on the first
  ``truncation_cutoff`` ws (None: all).
- **Synthesis**: a learned 4×4 constant; per layer a style (affine of w, bias init 1) that modulates
  the 3×3 weights, demodulation (each output feature map back to unit variance), per-pixel noise
  ×``noise_strength`` (modes random / const / none), bias, LeakyReLU·√2, clamp ±``conv_clamp``.
  Up-sampling is a transposed convolution followed by the [1, 3, 3, 1] FIR filter (``upfirdn2d``).
  ``skip`` (config F): each block adds its toRGB to the up-sampled image; ``orig``: toRGB at the end;
  ``resnet``: residual blocks scaled by √½.
- **D** (``resnet`` default): fromRGB at the input resolution, per block conv 3×3, conv 3×3 with
  down-sampling (FIR filter then stride 2) and a 1×1 down-sampled skip, both ×√½; the epilogue at 4²:
  minibatch stddev (``mbstd_group_size``, ``mbstd_num_channels``), conv, FC, output. Class-conditional
  D projects its output on a mapped label (``cmap``), as NVIDIA's.

ganbench's interface: ``G(z, y=None) -> image`` (clamped to [-1, 1] in eval mode; linear in
training, as NVIDIA's), ``G.z_dim``; ``y`` holds class indices (one-hot as NVIDIA's ``c``) or an
(N, c_dim) float ``c``; ``D(x, y=None) -> logits`` of shape (N,). Style mixing (``style_mixing_prob``)
applies in training mode only, as NVIDIA's loss does in every G and D pass.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ganbench.errors import ConfigError
from ganbench.evaluation.style import check_style_eval, style_evaluation
from ganbench.models.base import DOutput
from ganbench.models.family import ImageFamily
from ganbench.models.layers import batch_mean
from ganbench.registries import LIPSCHITZ, MODELS, NVIDIA_NETWORKS

RESOLUTIONS = tuple(2**i for i in range(2, 11))  # 4 .. 1024
ARCHITECTURES = ("orig", "skip", "resnet")
# activation -> its default gain (NVIDIA's bias_act.activation_funcs def_gain)
ACTIVATIONS = {"linear": 1.0, "relu": math.sqrt(2), "lrelu": math.sqrt(2)}


# --- the ops (NVIDIA's torch_utils/ops reference paths, rewritten) -----------------------------
def setup_filter(f: Sequence[float]) -> torch.Tensor:
    """The 2-D FIR filter of a 1-D one: outer product, normalised to sum 1 (4×4 for [1, 3, 3, 1])."""
    t = torch.as_tensor(f, dtype=torch.float32)
    t = torch.outer(t, t) if t.ndim == 1 else t
    return t / t.sum()


def upfirdn2d(
    x: torch.Tensor,
    f: torch.Tensor,
    up: int = 1,
    down: int = 1,
    pad: Sequence[int] = (0, 0, 0, 0),
    gain: float = 1.0,
) -> torch.Tensor:
    """Zero-insertion up-sampling, padding (x0, x1, y0, y1; negative crops), FIR filter ×gain, then
    keeping every ``down``-th pixel."""
    n, c, h, w = x.shape
    if up > 1:
        x = F.pad(x.reshape(n, c, h, 1, w, 1), [0, up - 1, 0, 0, 0, up - 1]).reshape(n, c, h * up, w * up)
    x0, x1, y0, y1 = pad
    x = F.pad(x, [max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)])
    x = x[:, :, max(-y0, 0) : x.shape[2] - max(-y1, 0), max(-x0, 0) : x.shape[3] - max(-x1, 0)]
    k = (f * gain).to(x.dtype).flip([0, 1])  # a convolution, not a correlation (the filters are symmetric)
    x = F.conv2d(x, k[None, None].expand(c, 1, *k.shape), groups=c)
    return x[:, :, ::down, ::down] if down > 1 else x


def upsample2d(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    fw = f.shape[-1]
    p0, p1 = (fw + 1) // 2, (fw - 2) // 2
    return upfirdn2d(x, f, up=2, pad=(p0, p1, p0, p1), gain=4.0)


def downsample2d(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    fw = f.shape[-1]
    p0, p1 = (fw - 1) // 2, (fw - 2) // 2
    return upfirdn2d(x, f, down=2, pad=(p0, p1, p0, p1))


def conv2d_resample(
    x: torch.Tensor,
    w: torch.Tensor,
    f: torch.Tensor,
    up: int = 1,
    down: int = 1,
    padding: int = 0,
    flip_weight: bool = True,
) -> torch.Tensor:
    """NVIDIA's ``conv2d_resample`` (up xor down by 2, or neither): the same paddings and order of
    filter and convolution, so the results agree to float rounding."""
    kw = w.shape[-1]
    fw = f.shape[-1]
    p0 = p1 = padding
    if up > 1:
        p0, p1 = p0 + (fw + up - 1) // 2, p1 + (fw - up) // 2
    if down > 1:
        p0, p1 = p0 + (fw - down + 1) // 2, p1 + (fw - down) // 2
    if not flip_weight and not (up > 1 and kw > 1):
        w = w.flip([2, 3])
    if kw == 1 and down > 1:
        return F.conv2d(upfirdn2d(x, f, down=down, pad=(p0, p1, p0, p1)), w)
    if kw == 1 and up > 1:
        return upfirdn2d(F.conv2d(x, w), f, up=up, pad=(p0, p1, p0, p1), gain=up**2)
    if down > 1:
        return F.conv2d(upfirdn2d(x, f, pad=(p0, p1, p0, p1)), w, stride=down)
    if up > 1:
        # transposed convolution (the weight flipped when flip_weight, NVIDIA's `not flip_weight`)
        wt = (w.flip([2, 3]) if flip_weight else w).transpose(0, 1)
        p0, p1 = p0 - (kw - 1), p1 - (kw - up)
        pt = max(min(-p0, -p1), 0)
        x = F.conv_transpose2d(x, wt, stride=up, padding=pt)
        return upfirdn2d(x, f, pad=(p0 + pt, p1 + pt, p0 + pt, p1 + pt), gain=up**2)
    return F.conv2d(x, w, padding=padding)


def bias_act(
    x: torch.Tensor,
    b: torch.Tensor | None,
    act: str = "linear",
    gain: float | None = None,
    clamp: float | None = None,
) -> torch.Tensor:
    """x + b, the activation, ×gain (default: the activation's), clamped to ±clamp."""
    if b is not None:
        x = x + b.reshape(1, -1, *([1] * (x.ndim - 2)))
    if act == "lrelu":
        x = F.leaky_relu(x, 0.2)
    elif act == "relu":
        x = F.relu(x)
    gain = ACTIVATIONS[act] if gain is None else gain
    if gain != 1:
        x = x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return x


def normalize_2nd_moment(x: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()


def modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    noise: torch.Tensor | None = None,
    up: int = 1,
    padding: int = 0,
    resample_filter: torch.Tensor | None = None,
    demodulate: bool = True,
    flip_weight: bool = True,
) -> torch.Tensor:
    """Modulation (input features ×style), the convolution, demodulation (×1/‖w·s‖ per output
    feature: unit-variance outputs for unit-variance inputs) and noise; NVIDIA's non-fused path,
    the same mathematics as their fused (grouped) one."""
    n = x.shape[0]
    dcoefs = None
    if demodulate:
        wmod = weight[None] * styles.reshape(n, 1, -1, 1, 1)
        dcoefs = (wmod.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()
    x = x * styles.reshape(n, -1, 1, 1)
    f = resample_filter if resample_filter is not None else weight.new_ones(1, 1)
    x = conv2d_resample(x, weight, f, up=up, padding=padding, flip_weight=flip_weight)
    if dcoefs is not None:
        x = x * dcoefs.reshape(n, -1, 1, 1)
    return x + noise if noise is not None else x


def _check_activation(activation: str) -> None:
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"activation {activation!r} is not supported; valid choices: {', '.join(ACTIVATIONS)}"
        )


# --- layers -------------------------------------------------------------------------------------
class FullyConnectedLayer(nn.Module):
    """Equalised-LR FC: weight N(0, 1)/lr_mul, scaled at run time by lr_mul/√in (bias by lr_mul)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        activation: str = "linear",
        lr_multiplier: float = 1.0,
        bias_init: float = 0.0,
    ) -> None:
        super().__init__()
        _check_activation(activation)
        self.activation = activation
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight * self.weight_gain
        b = self.bias * self.bias_gain if self.bias is not None else None
        if self.activation == "linear" and b is not None:
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return bias_act(x.matmul(w.t()), b, act=self.activation)


class Conv2dLayer(nn.Module):
    """Equalised-LR conv (weight gain 1/√(in·k²)) with optional up/down-sampling, bias, activation
    (gain ×``gain``) and clamp (±conv_clamp·gain)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        bias: bool = True,
        activation: str = "linear",
        up: int = 1,
        down: int = 1,
        resample_filter: Sequence[float] = (1, 3, 3, 1),
        conv_clamp: float | None = None,
    ) -> None:
        super().__init__()
        _check_activation(activation)
        self.activation, self.up, self.down, self.conv_clamp = activation, up, down, conv_clamp
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.padding = kernel_size // 2
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size**2)
        self.act_gain = ACTIVATIONS[activation]
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        w = self.weight * self.weight_gain
        x = conv2d_resample(
            x,
            w,
            self.resample_filter,
            up=self.up,
            down=self.down,
            padding=self.padding,
            flip_weight=self.up == 1,
        )
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias, act=self.activation, gain=self.act_gain * gain, clamp=clamp)


class MappingNetwork(nn.Module):
    """NVIDIA's MappingNetwork: z (and c) → ws (N × num_ws × w_dim, or N × w_dim when num_ws is None)."""

    def __init__(
        self,
        z_dim: int,
        c_dim: int,
        w_dim: int,
        num_ws: int | None,
        num_layers: int = 8,
        embed_features: int | None = None,
        layer_features: int | None = None,
        activation: str = "lrelu",
        lr_multiplier: float = 0.01,
        w_avg_beta: float | None = 0.995,
    ) -> None:
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = z_dim, c_dim, w_dim, num_ws
        self.num_layers, self.w_avg_beta = num_layers, w_avg_beta
        embed_features = (w_dim if embed_features is None else embed_features) if c_dim else 0
        layer_features = w_dim if layer_features is None else layer_features
        features = [z_dim + embed_features] + [layer_features] * (num_layers - 1) + [w_dim]
        if c_dim > 0:
            self.embed = FullyConnectedLayer(c_dim, embed_features)
        for idx in range(num_layers):
            layer = FullyConnectedLayer(
                features[idx], features[idx + 1], activation=activation, lr_multiplier=lr_multiplier
            )
            setattr(self, f"fc{idx}", layer)
        if num_ws is not None and w_avg_beta is not None:
            self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(
        self,
        z: torch.Tensor | None,
        c: torch.Tensor | None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        skip_w_avg_update: bool = False,
    ) -> torch.Tensor:
        x = normalize_2nd_moment(z.to(torch.float32)) if self.z_dim > 0 and z is not None else None
        if self.c_dim > 0:
            if c is None:
                raise ValueError("this class-conditional StyleGAN2 mapping network needs labels c")
            y = normalize_2nd_moment(self.embed(c.to(torch.float32)))
            x = torch.cat([x, y], dim=1) if x is not None else y
        assert x is not None
        for idx in range(self.num_layers):
            x = getattr(self, f"fc{idx}")(x)
        if self.w_avg_beta is not None and self.training and not skip_w_avg_update:
            with torch.no_grad():
                self.w_avg.copy_(batch_mean(x.detach()).lerp(self.w_avg, self.w_avg_beta))
        if self.num_ws is not None:
            x = x.unsqueeze(1).repeat([1, self.num_ws, 1])
        if truncation_psi != 1:
            x = truncate(x, self.w_avg, truncation_psi, truncation_cutoff)
        return x


def truncate(ws: torch.Tensor, w_avg: torch.Tensor, psi: float, cutoff: int | None = None) -> torch.Tensor:
    """w̄ + ψ(w − w̄) on the first ``cutoff`` ws (None: all)."""
    if cutoff is None or ws.ndim == 2:
        return w_avg.lerp(ws, psi)
    layer = torch.arange(ws.shape[1], device=ws.device)[None, :, None]
    return torch.where(layer < cutoff, w_avg.lerp(ws, psi), ws)


NOISE_MODES = ("random", "const", "none")


def _check_noise_mode(noise_mode: str) -> None:
    if noise_mode not in NOISE_MODES:
        raise ValueError(f"noise_mode {noise_mode!r}; valid choices: {', '.join(NOISE_MODES)}")


class SynthesisLayer(nn.Module):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        kernel_size: int = 3,
        up: int = 1,
        use_noise: bool = True,
        activation: str = "lrelu",
        resample_filter: Sequence[float] = (1, 3, 3, 1),
        conv_clamp: float | None = None,
    ) -> None:
        super().__init__()
        _check_activation(activation)
        self.resolution, self.up, self.use_noise, self.activation = resolution, up, use_noise, activation
        self.conv_clamp = conv_clamp
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.padding = kernel_size // 2
        self.act_gain = ACTIVATIONS[activation]
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        if use_noise:
            self.register_buffer("noise_const", torch.randn(resolution, resolution))
            self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(
        self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "random", gain: float = 1.0
    ) -> torch.Tensor:
        styles = self.affine(w)
        noise = None
        if self.use_noise and noise_mode == "random":
            r = self.resolution
            noise = torch.randn(x.shape[0], 1, r, r, device=x.device, dtype=x.dtype) * self.noise_strength
        elif self.use_noise and noise_mode == "const":
            noise = self.noise_const * self.noise_strength
        x = modulated_conv2d(
            x,
            self.weight,
            styles,
            noise,
            up=self.up,
            padding=self.padding,
            resample_filter=self.resample_filter,
            flip_weight=self.up == 1,
        )
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias, act=self.activation, gain=self.act_gain * gain, clamp=clamp)


class ToRGBLayer(nn.Module):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        kernel_size: int = 1,
        conv_clamp: float | None = None,
    ) -> None:
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size**2)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False)
        return bias_act(x, self.bias, clamp=self.conv_clamp)


class SynthesisBlock(nn.Module):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        img_channels: int,
        is_last: bool,
        architecture: str = "skip",
        resample_filter: Sequence[float] = (1, 3, 3, 1),
        conv_clamp: float | None = None,
        **layer_kwargs: Any,
    ) -> None:
        super().__init__()
        self.in_channels, self.w_dim, self.resolution = in_channels, w_dim, resolution
        self.img_channels, self.is_last, self.architecture = img_channels, is_last, architecture
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.num_conv = self.num_torgb = 0
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn(out_channels, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(
                in_channels,
                out_channels,
                w_dim=w_dim,
                resolution=resolution,
                up=2,
                resample_filter=resample_filter,
                conv_clamp=conv_clamp,
                **layer_kwargs,
            )
            self.num_conv += 1
        self.conv1 = SynthesisLayer(
            out_channels,
            out_channels,
            w_dim=w_dim,
            resolution=resolution,
            conv_clamp=conv_clamp,
            **layer_kwargs,
        )
        self.num_conv += 1
        if is_last or architecture == "skip":
            self.torgb = ToRGBLayer(out_channels, img_channels, w_dim=w_dim, conv_clamp=conv_clamp)
            self.num_torgb += 1
        if in_channels != 0 and architecture == "resnet":
            self.skip = Conv2dLayer(
                in_channels, out_channels, kernel_size=1, bias=False, up=2, resample_filter=resample_filter
            )

    def forward(
        self, x: torch.Tensor | None, img: torch.Tensor | None, ws: torch.Tensor, noise_mode: str = "random"
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        w_iter = iter(ws.unbind(dim=1))
        if self.in_channels == 0:
            x = self.const.unsqueeze(0).repeat([ws.shape[0], 1, 1, 1])
            x = self.conv1(x, next(w_iter), noise_mode)
        elif self.architecture == "resnet":
            assert x is not None
            y = self.skip(x, gain=math.sqrt(0.5))
            x = self.conv0(x, next(w_iter), noise_mode)
            x = y + self.conv1(x, next(w_iter), noise_mode, gain=math.sqrt(0.5))
        else:
            x = self.conv0(x, next(w_iter), noise_mode)
            x = self.conv1(x, next(w_iter), noise_mode)
        if img is not None:
            img = upsample2d(img, self.resample_filter)
        if self.is_last or self.architecture == "skip":
            y = self.torgb(x, next(w_iter))
            img = img + y if img is not None else y
        return x, img


def _channels(channel_base: int, channel_max: int, res: int) -> int:
    return min(channel_base // res, channel_max)


class SynthesisNetwork(nn.Module):
    def __init__(
        self,
        w_dim: int,
        img_resolution: int,
        img_channels: int,
        channel_base: int = 32768,
        channel_max: int = 512,
        num_fp16_res: int = 0,  # accepted for NVIDIA's kwargs; always float32 here
        **block_kwargs: Any,
    ) -> None:
        super().__init__()
        if img_resolution not in RESOLUTIONS:
            raise ValueError(f"img_resolution {img_resolution}: supported {', '.join(map(str, RESOLUTIONS))}")
        self.w_dim, self.img_resolution, self.img_channels = w_dim, img_resolution, img_channels
        self.block_resolutions = [2**i for i in range(2, int(math.log2(img_resolution)) + 1)]
        self.num_ws = 0
        layer_resolutions: list[int] = []
        for res in self.block_resolutions:
            in_channels = _channels(channel_base, channel_max, res // 2) if res > 4 else 0
            out_channels = _channels(channel_base, channel_max, res)
            is_last = res == img_resolution
            block = SynthesisBlock(
                in_channels,
                out_channels,
                w_dim=w_dim,
                resolution=res,
                img_channels=img_channels,
                is_last=is_last,
                **block_kwargs,
            )
            self.num_ws += block.num_conv + (block.num_torgb if is_last else 0)
            layer_resolutions += [res] * (block.num_conv + (block.num_torgb if is_last else 0))
            setattr(self, f"b{res}", block)
        self.layer_resolutions = tuple(layer_resolutions)

    def forward(self, ws: torch.Tensor, noise_mode: str = "random") -> torch.Tensor:
        _check_noise_mode(noise_mode)
        ws = ws.to(torch.float32)
        x = img = None
        w_idx = 0
        for res in self.block_resolutions:
            block = getattr(self, f"b{res}")
            x, img = block(x, img, ws.narrow(1, w_idx, block.num_conv + block.num_torgb), noise_mode)
            w_idx += block.num_conv
        assert img is not None
        return img


# --- generator ----------------------------------------------------------------------------------
def labels_to_c(y: torch.Tensor | None, c_dim: int, who: str) -> torch.Tensor | None:
    """NVIDIA's c: the one-hot of class indices y (N,), or an (N, c_dim) float c as given."""
    if c_dim == 0:
        return None
    if y is None:
        raise ValueError(f"{who} is class-conditional: pass labels y (a LongTensor of shape (N,))")
    if y.ndim == 2:
        return y.to(torch.float32)
    return F.one_hot(y.long(), c_dim).to(torch.float32)


class Generator(nn.Module):
    """NVIDIA's ``training.networks.Generator`` signature and module tree (``synthesis``, ``mapping``)
    with ganbench's forward: ``G(z, y=None, truncation_psi=None, truncation_cutoff=None,
    noise_mode="random")``; ψ None: ``self.truncation_psi`` in eval mode (1 unless set), 1 in training.

    The style-evaluation interface (:mod:`ganbench.evaluation.style`): ``map_ws``, ``truncate``,
    ``synthesis``, ``num_ws``, ``layer_resolutions``, ``has_mapping_network``."""

    has_mapping_network = True

    def __init__(
        self,
        z_dim: int,
        c_dim: int,
        w_dim: int,
        img_resolution: int,
        img_channels: int,
        mapping_kwargs: dict[str, Any] | None = None,
        synthesis_kwargs: dict[str, Any] | None = None,
        style_mixing_prob: float = 0.0,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
    ) -> None:
        super().__init__()
        self.c_dim, self.w_dim, self.img_resolution, self.img_channels = (
            c_dim,
            w_dim,
            img_resolution,
            img_channels,
        )
        self.z_dim = z_dim
        self.resolution = img_resolution
        self.synthesis = SynthesisNetwork(w_dim, img_resolution, img_channels, **(synthesis_kwargs or {}))
        self.num_ws = self.synthesis.num_ws
        self.layer_resolutions = self.synthesis.layer_resolutions
        self.mapping = MappingNetwork(z_dim, c_dim, w_dim, self.num_ws, **(mapping_kwargs or {}))
        self.style_mixing_prob = style_mixing_prob
        self.truncation_psi, self.truncation_cutoff = truncation_psi, truncation_cutoff

    @property
    def num_classes(self) -> int | None:
        return self.c_dim or None

    @property
    def w_avg(self) -> torch.Tensor:
        return self.mapping.w_avg

    def map_ws(self, z: torch.Tensor, y: torch.Tensor | None = None, **kwargs: Any) -> torch.Tensor:
        """ws = mapping(z, c) (N × num_ws × w_dim); kwargs: the mapping's (truncation, skip_w_avg_update)."""
        return self.mapping(z, labels_to_c(y, self.c_dim, "this StyleGAN2 generator"), **kwargs)

    def synthesize(self, ws: torch.Tensor) -> torch.Tensor:
        """The style evaluation's synthesis: constant noise, as NVIDIA's PPL metric."""
        return self.synthesis(ws, noise_mode="const")

    def truncate(self, ws: torch.Tensor, psi: float, cutoff: int | None = None) -> torch.Tensor:
        return ws if psi == 1 else truncate(ws, self.mapping.w_avg.to(ws.dtype), psi, cutoff)

    def mix(self, ws: torch.Tensor, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """Style mixing regularisation as NVIDIA's loss: with probability style_mixing_prob the ws from
        a cutoff drawn uniformly in 1..num_ws − 1 come from a second latent (w_avg not updated)."""
        if self.style_mixing_prob <= 0 or self.num_ws < 2 or float(torch.rand(())) >= self.style_mixing_prob:
            return ws
        cutoff = int(torch.randint(1, self.num_ws, ()))
        # torch.randn (not randn_like, the same numbers): under torchrun the trainer's per-sample
        # draws widen it to the global batch and slice it, so the second latents are the single
        # process's
        ws2 = self.map_ws(torch.randn(z.shape, dtype=z.dtype, device=z.device), y, skip_w_avg_update=True)
        layer = torch.arange(self.num_ws, device=ws.device)[None, :, None]
        return torch.where(layer < cutoff, ws, ws2)

    def training_ws(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The ws of a training pass: mapped (w_avg tracked) and style-mixed."""
        return self.mix(self.map_ws(z, y), z, y)

    def forward(
        self,
        z: torch.Tensor,
        y: torch.Tensor | None = None,
        truncation_psi: float | None = None,
        truncation_cutoff: int | None = None,
        noise_mode: str = "random",
    ) -> torch.Tensor:
        if self.training:
            return self.synthesis(self.training_ws(z, y), noise_mode=noise_mode)
        psi = self.truncation_psi if truncation_psi is None else truncation_psi
        cutoff = self.truncation_cutoff if truncation_cutoff is None else truncation_cutoff
        ws = self.map_ws(z, y, truncation_psi=psi, truncation_cutoff=cutoff)
        return self.synthesis(ws, noise_mode=noise_mode).clamp(-1.0, 1.0)


def check_generator_options(
    resolution: int,
    z_dim: int,
    w_dim: int,
    mapping_layers: int,
    mapping_lr_mul: float,
    channel_base: int,
    channel_max: int,
    architecture: str,
    conv_clamp: float | None,
    style_mixing_prob: float,
    w_avg_beta: float,
    truncation_psi: float,
    truncation_cutoff: int | None,
) -> int:
    """G's options, or a ValueError naming the option; returns num_ws."""
    if resolution not in RESOLUTIONS:
        raise ValueError(
            f"stylegan2: no {resolution}×{resolution} architecture; "
            f"supported: {', '.join(map(str, RESOLUTIONS))}"
        )
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture {architecture!r}; valid choices: {', '.join(ARCHITECTURES)}")
    if z_dim < 1 or w_dim < 1:
        raise ValueError(f"z_dim and w_dim must be >= 1, got {z_dim} and {w_dim}")
    if mapping_layers < 1:
        raise ValueError(f"mapping_layers must be >= 1 (NVIDIA's MappingNetwork), got {mapping_layers}")
    if not mapping_lr_mul > 0:
        raise ValueError(f"mapping_lr_mul must be > 0, got {mapping_lr_mul}")
    _check_widths(channel_base, channel_max, resolution)
    if conv_clamp is not None and not conv_clamp > 0:
        raise ValueError(f"conv_clamp must be > 0 or null (no clamping), got {conv_clamp}")
    if not 0.0 <= style_mixing_prob <= 1.0:
        raise ValueError(f"style_mixing_prob must be in [0, 1], got {style_mixing_prob}")
    if not 0.0 <= w_avg_beta < 1.0:
        raise ValueError(f"w_avg_beta must be in [0, 1), got {w_avg_beta}")
    if not 0.0 <= truncation_psi <= 1.0:
        raise ValueError(
            f"truncation_psi must be in [0, 1] (0: every sample is w̄, 1: none), got {truncation_psi}"
        )
    num_ws = 2 * int(math.log2(resolution)) - 2
    if truncation_cutoff is not None and not 1 <= truncation_cutoff <= num_ws:
        raise ValueError(
            f"truncation_cutoff must be in 1..{num_ws} (the ws of a {resolution}² G) or null, "
            f"got {truncation_cutoff}"
        )
    return num_ws


def _check_widths(channel_base: int, channel_max: int, resolution: int) -> None:
    if channel_max < 1 or channel_base // resolution < 1:
        raise ValueError(
            f"channel_base {channel_base} and channel_max {channel_max} give no channels at {resolution}² "
            f"(channels = min(channel_base // resolution, channel_max) must be >= 1)"
        )


class StyleGAN2Generator(Generator):
    """ganbench's constructor (``model.g`` options) for :class:`Generator`."""

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
        channel_base: int = 32768,
        channel_max: int = 512,
        architecture: str = "skip",
        conv_clamp: float | None = None,
        use_noise: bool = True,
        style_mixing_prob: float = 0.9,
        w_avg_beta: float = 0.995,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
    ) -> None:
        self.plan(
            resolution,
            z_dim=z_dim,
            w_dim=w_dim,
            mapping_layers=mapping_layers,
            mapping_lr_mul=mapping_lr_mul,
            channel_base=channel_base,
            channel_max=channel_max,
            architecture=architecture,
            conv_clamp=conv_clamp,
            style_mixing_prob=style_mixing_prob,
            w_avg_beta=w_avg_beta,
            truncation_psi=truncation_psi,
            truncation_cutoff=truncation_cutoff,
        )
        c_dim = num_classes if conditioning != "none" and num_classes else 0
        super().__init__(
            z_dim,
            c_dim,
            w_dim,
            resolution,
            channels,
            mapping_kwargs={
                "num_layers": mapping_layers,
                "lr_multiplier": mapping_lr_mul,
                "w_avg_beta": w_avg_beta,
            },
            synthesis_kwargs={
                "channel_base": channel_base,
                "channel_max": channel_max,
                "architecture": architecture,
                "conv_clamp": conv_clamp,
                "use_noise": use_noise,
            },
            style_mixing_prob=style_mixing_prob,
            truncation_psi=truncation_psi,
            truncation_cutoff=truncation_cutoff,
        )
        self.conditioning = conditioning

    @staticmethod
    def plan(
        resolution: int,
        z_dim: int = 512,
        w_dim: int = 512,
        mapping_layers: int = 8,
        mapping_lr_mul: float = 0.01,
        channel_base: int = 32768,
        channel_max: int = 512,
        architecture: str = "skip",
        conv_clamp: float | None = None,
        style_mixing_prob: float = 0.9,
        w_avg_beta: float = 0.995,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        **_: Any,
    ) -> tuple[int, ...]:
        """The channels per block resolution (4² first), or a ValueError naming the option."""
        check_generator_options(
            resolution,
            z_dim,
            w_dim,
            mapping_layers,
            mapping_lr_mul,
            channel_base,
            channel_max,
            architecture,
            conv_clamp,
            style_mixing_prob,
            w_avg_beta,
            truncation_psi,
            truncation_cutoff,
        )
        res = [2**i for i in range(2, int(math.log2(resolution)) + 1)]
        return tuple(_channels(channel_base, channel_max, r) for r in res)


# --- discriminator ------------------------------------------------------------------------------
class DiscriminatorBlock(nn.Module):
    def __init__(
        self,
        in_channels: int,
        tmp_channels: int,
        out_channels: int,
        resolution: int,
        img_channels: int,
        architecture: str = "resnet",
        activation: str = "lrelu",
        resample_filter: Sequence[float] = (1, 3, 3, 1),
        conv_clamp: float | None = None,
    ) -> None:
        super().__init__()
        self.in_channels, self.resolution, self.img_channels = in_channels, resolution, img_channels
        self.architecture = architecture
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        if in_channels == 0 or architecture == "skip":
            self.fromrgb = Conv2dLayer(
                img_channels, tmp_channels, 1, activation=activation, conv_clamp=conv_clamp
            )
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, 3, activation=activation, conv_clamp=conv_clamp)
        self.conv1 = Conv2dLayer(
            tmp_channels,
            out_channels,
            3,
            activation=activation,
            down=2,
            resample_filter=resample_filter,
            conv_clamp=conv_clamp,
        )
        if architecture == "resnet":
            self.skip = Conv2dLayer(
                tmp_channels, out_channels, 1, bias=False, down=2, resample_filter=resample_filter
            )

    def forward(
        self, x: torch.Tensor | None, img: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.in_channels == 0 or self.architecture == "skip":
            assert img is not None
            y = self.fromrgb(img)
            x = x + y if x is not None else y
            img = downsample2d(img, self.resample_filter) if self.architecture == "skip" else None
        assert x is not None
        if self.architecture == "resnet":
            y = self.skip(x, gain=math.sqrt(0.5))
            x = y + self.conv1(self.conv0(x), gain=math.sqrt(0.5))
        else:
            x = self.conv1(self.conv0(x))
        return x, img


class MinibatchStdLayer(nn.Module):
    """NVIDIA's: the stddev over groups of ``group_size`` samples (sample i in group i mod N/G), averaged
    over ``num_channels`` channel groups and the pixels, appended as feature maps. A batch the group
    size does not divide (NVIDIA's would fail) uses the largest group size below that divides it."""

    def __init__(self, group_size: int | None, num_channels: int = 1) -> None:
        super().__init__()
        self.group_size, self.num_channels = group_size, num_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = min(self.group_size, n) if self.group_size is not None else n
        while n % g:
            g -= 1
        f = self.num_channels
        y = x.reshape(g, -1, f, c // f, h, w)
        y = (y - y.mean(dim=0)).square().mean(dim=0)
        y = (y + 1e-8).sqrt().mean(dim=[2, 3, 4]).reshape(-1, f, 1, 1)
        return torch.cat([x, y.repeat(g, 1, h, w)], dim=1)


class DiscriminatorEpilogue(nn.Module):
    def __init__(
        self,
        in_channels: int,
        cmap_dim: int,
        resolution: int,
        img_channels: int,
        architecture: str = "resnet",
        mbstd_group_size: int | None = 4,
        mbstd_num_channels: int = 1,
        activation: str = "lrelu",
        conv_clamp: float | None = None,
    ) -> None:
        super().__init__()
        self.in_channels, self.cmap_dim, self.resolution, self.architecture = (
            in_channels,
            cmap_dim,
            resolution,
            architecture,
        )
        if architecture == "skip":
            self.fromrgb = Conv2dLayer(img_channels, in_channels, 1, activation=activation)
        self.mbstd = (
            MinibatchStdLayer(mbstd_group_size, mbstd_num_channels) if mbstd_num_channels > 0 else None
        )
        self.conv = Conv2dLayer(
            in_channels + mbstd_num_channels, in_channels, 3, activation=activation, conv_clamp=conv_clamp
        )
        self.fc = FullyConnectedLayer(in_channels * resolution**2, in_channels, activation=activation)
        self.out = FullyConnectedLayer(in_channels, 1 if cmap_dim == 0 else cmap_dim)

    def forward(
        self, x: torch.Tensor, img: torch.Tensor | None, cmap: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits N × 1, the features before ``out``)."""
        if self.architecture == "skip":
            x = x + self.fromrgb(img)
        if self.mbstd is not None:
            x = self.mbstd(x)
        feats = self.fc(self.conv(x).flatten(1))
        x = self.out(feats)
        if self.cmap_dim > 0:
            assert cmap is not None
            x = (x * cmap).sum(dim=1, keepdim=True) * (1 / math.sqrt(self.cmap_dim))
        return x, feats


class Discriminator(nn.Module):
    """NVIDIA's ``training.networks.Discriminator`` (signature and module tree); forward
    ``D(img, y=None, return_aux=False)`` → logits (N,) (or :class:`DOutput` with the epilogue's
    features)."""

    def __init__(
        self,
        c_dim: int,
        img_resolution: int,
        img_channels: int,
        architecture: str = "resnet",
        channel_base: int = 32768,
        channel_max: int = 512,
        num_fp16_res: int = 0,  # accepted for NVIDIA's kwargs; always float32 here
        conv_clamp: float | None = None,
        cmap_dim: int | None = None,
        block_kwargs: dict[str, Any] | None = None,
        mapping_kwargs: dict[str, Any] | None = None,
        epilogue_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.c_dim, self.img_resolution, self.img_channels = c_dim, img_resolution, img_channels
        self.block_resolutions = [2**i for i in range(int(math.log2(img_resolution)), 2, -1)]
        ch = {r: _channels(channel_base, channel_max, r) for r in [*self.block_resolutions, 4]}
        cmap_dim = (ch[4] if cmap_dim is None else cmap_dim) if c_dim else 0
        common = {"img_channels": img_channels, "architecture": architecture, "conv_clamp": conv_clamp}
        for res in self.block_resolutions:
            in_channels = ch[res] if res < img_resolution else 0
            block = DiscriminatorBlock(
                in_channels, ch[res], ch[res // 2], res, **(block_kwargs or {}), **common
            )
            setattr(self, f"b{res}", block)
        if c_dim > 0:
            self.mapping = MappingNetwork(0, c_dim, cmap_dim, None, w_avg_beta=None, **(mapping_kwargs or {}))
        self.b4 = DiscriminatorEpilogue(ch[4], cmap_dim, 4, **(epilogue_kwargs or {}), **common)

    def forward(self, img: torch.Tensor, y: torch.Tensor | None = None, return_aux: bool = False) -> Any:
        x = None
        for res in self.block_resolutions:
            x, img = getattr(self, f"b{res}")(x, img)
        cmap = (
            self.mapping(None, labels_to_c(y, self.c_dim, "this StyleGAN2 discriminator"))
            if self.c_dim
            else None
        )
        if x is None:  # a 4×4 D: the epilogue's input is the image's fromRGB... NVIDIA needs >= 8²
            raise ValueError("a StyleGAN2 discriminator needs img_resolution >= 8")
        logits, feats = self.b4(x, img, cmap)
        logits = logits.squeeze(1)
        return DOutput(logits, None, feats) if return_aux else logits


class StyleGAN2Discriminator(Discriminator):
    """ganbench's constructor (``model.d`` options) for :class:`Discriminator`; ``projection``
    conditioning is NVIDIA's cmap projection (a mapping network of the one-hot label)."""

    def __init__(
        self,
        resolution: int,
        channels: int = 3,
        conditioning: str = "none",
        num_classes: int | None = None,
        *,
        architecture: str = "resnet",
        channel_base: int = 32768,
        channel_max: int = 512,
        conv_clamp: float | None = None,
        mbstd_group_size: int = 4,
        mbstd_num_channels: int = 1,
        mapping_layers: int = 8,
    ) -> None:
        self.plan(
            resolution,
            architecture=architecture,
            channel_base=channel_base,
            channel_max=channel_max,
            conv_clamp=conv_clamp,
            mbstd_group_size=mbstd_group_size,
            mbstd_num_channels=mbstd_num_channels,
            mapping_layers=mapping_layers,
        )
        c_dim = num_classes if conditioning != "none" and num_classes else 0
        super().__init__(
            c_dim,
            resolution,
            channels,
            architecture=architecture,
            channel_base=channel_base,
            channel_max=channel_max,
            conv_clamp=conv_clamp,
            mapping_kwargs={"num_layers": mapping_layers},
            epilogue_kwargs={"mbstd_group_size": mbstd_group_size, "mbstd_num_channels": mbstd_num_channels},
        )
        self.resolution, self.conditioning = resolution, conditioning

    @staticmethod
    def plan(
        resolution: int,
        architecture: str = "resnet",
        channel_base: int = 32768,
        channel_max: int = 512,
        conv_clamp: float | None = None,
        mbstd_group_size: int = 4,
        mbstd_num_channels: int = 1,
        mapping_layers: int = 8,
        **_: Any,
    ) -> tuple[int, ...]:
        """D's channels per block resolution (input first, 4² last), or a ValueError naming the option."""
        if resolution not in RESOLUTIONS or resolution < 8:
            raise ValueError(
                f"stylegan2: no {resolution}×{resolution} discriminator; supported: "
                f"{', '.join(map(str, RESOLUTIONS[1:]))}"
            )
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture {architecture!r}; valid choices: {', '.join(ARCHITECTURES)}")
        _check_widths(channel_base, channel_max, resolution)
        if conv_clamp is not None and not conv_clamp > 0:
            raise ValueError(f"conv_clamp must be > 0 or null (no clamping), got {conv_clamp}")
        if mbstd_group_size < 1:
            raise ValueError(f"mbstd_group_size must be >= 1, got {mbstd_group_size}")
        c4 = _channels(channel_base, channel_max, 4)
        if mbstd_num_channels < 0 or (mbstd_num_channels and c4 % mbstd_num_channels):
            raise ValueError(
                f"mbstd_num_channels must be >= 0 (0: no minibatch stddev) and divide the {c4} channels "
                f"at 4², "
                f"got {mbstd_num_channels}"
            )
        if mapping_layers < 1:
            raise ValueError(
                f"mapping_layers (the label's mapping network in D) must be >= 1, got {mapping_layers}"
            )
        res = [2**i for i in range(int(math.log2(resolution)), 1, -1)]
        return tuple(_channels(channel_base, channel_max, r) for r in res)


# --- NVIDIA's generator classes -----------------------------------------------------------------
_MAPPING_KEYS = {
    "num_layers",
    "embed_features",
    "layer_features",
    "activation",
    "lr_multiplier",
    "w_avg_beta",
}
_SYNTHESIS_KEYS = {
    "channel_base",
    "channel_max",
    "num_fp16_res",
    "architecture",
    "resample_filter",
    "conv_clamp",
    "fp16_channels_last",
    "kernel_size",
    "use_noise",
    "activation",
    "channels_last",
}
_GENERATOR_ARGS = (
    "z_dim",
    "c_dim",
    "w_dim",
    "img_resolution",
    "img_channels",
    "mapping_kwargs",
    "synthesis_kwargs",
)


def build_nvidia_generator(init_args: tuple[Any, ...], init_kwargs: dict[str, Any]) -> Generator:
    """A :class:`Generator` for the constructor arguments of NVIDIA's ``training.networks.Generator``
    (stylegan2-ada-pytorch) or ``training.networks_stylegan2.Generator`` (stylegan3): its
    ``state_dict()`` has their ``G_ema.state_dict()``'s keys, shapes and buffers. Unknown or
    unsupported arguments are a ValueError naming them."""
    if len(init_args) > len(_GENERATOR_ARGS):
        raise ValueError(
            f"NVIDIA Generator: {len(init_args)} positional arguments, at most {len(_GENERATOR_ARGS)}"
        )
    kwargs = dict(zip(_GENERATOR_ARGS, init_args))
    twice = sorted(set(kwargs) & set(init_kwargs))
    if twice:
        raise ValueError(f"NVIDIA Generator: argument(s) given twice: {', '.join(twice)}")
    kwargs.update(init_kwargs)
    unknown = sorted(set(kwargs) - set(_GENERATOR_ARGS))
    missing = [k for k in _GENERATOR_ARGS[:5] if k not in kwargs]
    mapping = dict(kwargs.get("mapping_kwargs") or {})
    synthesis = dict(kwargs.get("synthesis_kwargs") or {})
    unknown += [f"mapping_kwargs.{k}" for k in sorted(set(mapping) - _MAPPING_KEYS)]
    unknown += [f"synthesis_kwargs.{k}" for k in sorted(set(synthesis) - _SYNTHESIS_KEYS)]
    if unknown or missing:
        parts = [f"unknown or unsupported argument(s): {', '.join(unknown)}"] if unknown else []
        parts += [f"missing argument(s): {', '.join(missing)}"] if missing else []
        raise ValueError(f"NVIDIA Generator: {'; '.join(parts)}")
    if synthesis.get("architecture", "skip") not in ARCHITECTURES:
        raise ValueError(
            f"NVIDIA Generator: synthesis_kwargs.architecture {synthesis['architecture']!r}; "
            f"valid choices: {', '.join(ARCHITECTURES)}"
        )
    for key in ("activation",):
        for where, d in (("mapping_kwargs", mapping), ("synthesis_kwargs", synthesis)):
            if key in d and d[key] not in ACTIVATIONS:
                raise ValueError(
                    f"NVIDIA Generator: {where}.{key} {d[key]!r} is not supported; "
                    f"valid: {', '.join(ACTIVATIONS)}"
                )
    for k in ("fp16_channels_last", "channels_last"):  # memory layout only: no effect on the weights
        synthesis.pop(k, None)
    if kwargs["img_resolution"] not in RESOLUTIONS:
        raise ValueError(
            f"NVIDIA Generator: img_resolution {kwargs['img_resolution']} is not a power of two in 4..1024"
        )
    return Generator(
        kwargs["z_dim"],
        kwargs["c_dim"],
        kwargs["w_dim"],
        kwargs["img_resolution"],
        kwargs["img_channels"],
        mapping_kwargs=mapping,
        synthesis_kwargs=synthesis,
    )


NVIDIA_NETWORKS.register("training.networks.Generator")(build_nvidia_generator)
NVIDIA_NETWORKS.register("training.networks_stylegan2.Generator")(build_nvidia_generator)


# --- the family ---------------------------------------------------------------------------------
STYLE_EVAL_KEY = "style_eval"  # model.g.style_eval: the settings of the final style evaluation


def _without_style_eval(cfg: Any) -> Any:
    g = {k: v for k, v in cfg.model.g.items() if k != STYLE_EVAL_KEY}
    return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, g=g))


@MODELS.register("stylegan2")
class StyleGAN2(ImageFamily):
    """StyleGAN2; ``model.g``: w_dim, mapping_layers, mapping_lr_mul, channel_base, channel_max,
    architecture (skip | orig | resnet), conv_clamp, use_noise, style_mixing_prob, w_avg_beta,
    truncation_psi, truncation_cutoff, style_eval; ``model.d``: architecture (resnet | orig | skip),
    channel_base, channel_max, conv_clamp, mbstd_group_size, mbstd_num_channels, mapping_layers."""

    name = "stylegan2"
    generator = StyleGAN2Generator
    discriminator = StyleGAN2Discriminator
    resolutions = RESOLUTIONS[1:]  # D's blocks need at least one down-sampling (NVIDIA's too)
    conditionings = ("none", "projection")
    unsupported: ClassVar[dict[str, str]] = {
        "concat": "StyleGAN2 feeds the label to G's mapping network (an embedding of the one-hot label "
        "concatenated to z) and to D by projection on a mapped label: use 'projection'",
        "acgan": "StyleGAN2 has no auxiliary classifier D: use 'projection'",
    }
    has_mapping_network = True  # style mixing, truncation, PPL (evaluation/style.py)
    supports_path_length = True  # G.training_ws and G.synthesis(ws) (objectives/path_length.py)
    packs_d_input = True

    @classmethod
    def validate(cls, cfg: Any, where: str) -> None:
        check_style_eval(cfg.model.g.get(STYLE_EVAL_KEY), f"{where}: model.g.{STYLE_EVAL_KEY}")
        super().validate(_without_style_eval(cfg), where)

    @classmethod
    def build(cls, cfg: Any, data: Any) -> tuple[nn.Module, nn.Module]:
        return super().build(_without_style_eval(cfg), data)

    @classmethod
    def check_combination(cls, cfg: Any, d: dict[str, Any], where: str) -> None:
        lip = cfg.objective.lipschitz
        if LIPSCHITZ.get(lip).normalises_d:
            raise ConfigError(
                f"{where}: objective.lipschitz {lip!r}: StyleGAN2's D has equalised-learning-rate layers "
                f"of its own, which {lip} would leave unnormalised; use r1 (the paper's), gp or none"
            )

    @classmethod
    def final_evaluation(cls, G: nn.Module, data: Any, cfg: Any, run_dir: Any, device: Any) -> dict[str, Any]:
        """The style evaluation (:mod:`ganbench.evaluation.style`): figures, truncation sweep, PPL."""
        return style_evaluation(G, data, cfg.eval, run_dir, device, **(cfg.model.g.get(STYLE_EVAL_KEY) or {}))
