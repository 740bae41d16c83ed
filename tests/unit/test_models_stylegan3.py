"""StyleGAN3-T (models/stylegan3.py, models/filters.py): the filter design, the filtered leaky ReLU,
NVIDIA's state-dict layout and layer schedule, the builder for NVIDIA's constructor arguments, the
EMAs and the family's validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ganbench.config import DataConfig, ModelConfig, RunConfig
from ganbench.errors import ConfigError
from ganbench.models.filters import design_lowpass_filter, filtered_lrelu, kaiser_sinc, upfirdn2d
from ganbench.models.stylegan3 import StyleGAN3Generator, from_nvidia_kwargs, layer_schedule
from ganbench.registries import NVIDIA_NETWORKS, load_all

load_all()

TINY = dict(w_dim=16, channel_base=256, channel_max=16, num_layers=3, num_critical=1, margin_size=2)

# NVIDIA's Generator(z_dim=8, c_dim=3, w_dim=16, img_resolution=16, img_channels=1, channel_base=256,
# channel_max=16, num_layers=3, num_critical=1, margin_size=2).state_dict(), printed from their code
NVIDIA_KEYS = [
    ("synthesis.input.weight", (16, 16)), ("synthesis.input.transform", (3, 3)),
    ("synthesis.input.freqs", (16, 2)), ("synthesis.input.phases", (16,)),
    ("synthesis.input.affine.weight", (4, 16)), ("synthesis.input.affine.bias", (4,)),
    ("synthesis.L0_20_16.weight", (16, 16, 3, 3)), ("synthesis.L0_20_16.bias", (16,)),
    ("synthesis.L0_20_16.magnitude_ema", ()), ("synthesis.L0_20_16.up_filter", (12,)),
    ("synthesis.L0_20_16.down_filter", (12,)), ("synthesis.L0_20_16.affine.weight", (16, 16)),
    ("synthesis.L0_20_16.affine.bias", (16,)), ("synthesis.L1_20_16.weight", (16, 16, 3, 3)),
    ("synthesis.L1_20_16.bias", (16,)), ("synthesis.L1_20_16.magnitude_ema", ()),
    ("synthesis.L1_20_16.up_filter", (12,)), ("synthesis.L1_20_16.down_filter", (12,)),
    ("synthesis.L1_20_16.affine.weight", (16, 16)), ("synthesis.L1_20_16.affine.bias", (16,)),
    ("synthesis.L2_16_16.weight", (16, 16, 3, 3)), ("synthesis.L2_16_16.bias", (16,)),
    ("synthesis.L2_16_16.magnitude_ema", ()), ("synthesis.L2_16_16.up_filter", (12,)),
    ("synthesis.L2_16_16.down_filter", (12,)), ("synthesis.L2_16_16.affine.weight", (16, 16)),
    ("synthesis.L2_16_16.affine.bias", (16,)), ("synthesis.L3_16_1.weight", (1, 16, 1, 1)),
    ("synthesis.L3_16_1.bias", (1,)), ("synthesis.L3_16_1.magnitude_ema", ()),
    ("synthesis.L3_16_1.affine.weight", (16, 16)), ("synthesis.L3_16_1.affine.bias", (16,)),
    ("mapping.w_avg", (16,)), ("mapping.embed.weight", (16, 3)), ("mapping.embed.bias", (16,)),
    ("mapping.fc0.weight", (16, 24)), ("mapping.fc0.bias", (16,)),
    ("mapping.fc1.weight", (16, 16)), ("mapping.fc1.bias", (16,)),
]  # fmt: skip

# NVIDIA's SynthesisNetwork(img_resolution, img_channels=3) layer_names with the default options
NVIDIA_LAYERS = {
    1024: ["L0_36_512", "L1_36_512", "L2_52_512", "L3_52_512", "L4_84_512", "L5_148_512", "L6_148_512",
           "L7_276_323", "L8_276_203", "L9_532_128", "L10_1044_81", "L11_1044_51", "L12_1044_32",
           "L13_1024_32", "L14_1024_3"],
    32: ["L0_36_512", "L1_36_512", "L2_36_512", "L3_36_512", "L4_36_512", "L5_52_512", "L6_52_512",
         "L7_52_512", "L8_52_512", "L9_52_512", "L10_52_512", "L11_52_512", "L12_52_512", "L13_32_512",
         "L14_32_3"],
}  # fmt: skip


@pytest.mark.parametrize(
    "numtaps,cutoff,width,fs", [(12, 2.0, 4.0, 16), (24, 5.6, 2.1, 64), (8, 8.0, 3.0, 32)]
)
def test_kaiser_design_equals_the_written_out_kaiser_windowed_sinc(numtaps, cutoff, width, fs):
    f = design_lowpass_filter(numtaps, cutoff, width, fs)
    ref = kaiser_sinc(numtaps, cutoff, width, fs)
    assert f.shape == (numtaps,) and f.dtype == torch.float32
    np.testing.assert_allclose(f.numpy(), ref, atol=1e-7)
    assert float(f.sum()) == pytest.approx(1.0, abs=1e-6)  # unit DC gain
    np.testing.assert_allclose(f.numpy(), f.numpy()[::-1], atol=1e-7)  # linear phase


def test_kaiser_sinc_hand_computed_two_taps():
    # two taps at ±0.5: sinc(c·0.5) equal both sides, and β = 0 (attenuation < 21 dB) → [0.5, 0.5]
    np.testing.assert_allclose(kaiser_sinc(2, 1.0, 0.1, 4), [0.5, 0.5])
    assert design_lowpass_filter(1, 1.0, 1.0, 4) is None


def test_radial_filter_is_symmetric_and_normalised():
    f = design_lowpass_filter(12, 2.0, 4.0, 16, radial=True)
    assert f.shape == (12, 12)
    assert float(f.sum()) == pytest.approx(1.0, abs=1e-6)
    torch.testing.assert_close(f, f.t())


def test_filtered_lrelu_without_resampling_is_bias_lrelu_gain_clamp():
    x = torch.randn(2, 3, 5, 5) * 4
    b = torch.tensor([0.5, -1.0, 2.0])
    out = filtered_lrelu(x, None, None, b, gain=math.sqrt(2), slope=0.2, clamp=3.0)
    ref = (F.leaky_relu(x + b[None, :, None, None], 0.2) * math.sqrt(2)).clamp(-3, 3)
    torch.testing.assert_close(out, ref)
    assert float(out.max()) == 3.0  # the clamp took part


def test_upfirdn2d_zero_insertion_and_gain():
    x = torch.arange(4.0).reshape(1, 1, 2, 2)
    up = upfirdn2d(x, None, up=2)
    torch.testing.assert_close(
        up[0, 0], torch.tensor([[0.0, 0, 1, 0], [0, 0, 0, 0], [2, 0, 3, 0], [0, 0, 0, 0]])
    )
    # a [1, 1] box after zero insertion with gain 4 (2 per axis) is nearest-neighbour ×2 upsampling
    nn_up = upfirdn2d(x, torch.ones(2) / 2, up=2, padding=(1, 0, 1, 0), gain=4)
    torch.testing.assert_close(nn_up, F.interpolate(x, scale_factor=2, mode="nearest"))


def test_state_dict_keys_and_shapes_equal_nvidias():
    G = StyleGAN3Generator(8, 16, 1, "projection", 3, **TINY)
    assert [(k, tuple(v.shape)) for k, v in G.state_dict().items()] == NVIDIA_KEYS


@pytest.mark.parametrize("resolution", sorted(NVIDIA_LAYERS))
def test_layer_schedule_gives_nvidias_layer_names(resolution):
    s = layer_schedule(resolution, 3)
    names = [f"L{i}_{int(s.sizes[i])}_{int(s.channels[i])}" for i in range(15)]
    assert names == NVIDIA_LAYERS[resolution]
    assert s.cutoffs[-1] == resolution / 2 and s.sampling_rates[-1] == resolution


def test_nvidia_builder_takes_their_kwargs_and_names_unsupported_ones():
    build = NVIDIA_NETWORKS.get("training.networks_stylegan3.Generator")
    kwargs = dict(z_dim=8, c_dim=3, w_dim=16, img_resolution=16, img_channels=1, channel_base=256,
                  channel_max=16, num_layers=3, num_critical=1, margin_size=2, num_fp16_res=4,
                  mapping_kwargs={"num_layers": 2})  # fmt: skip
    G = build((), kwargs)
    assert [(k, tuple(v.shape)) for k, v in G.state_dict().items()] == NVIDIA_KEYS
    positional = from_nvidia_kwargs((8, 3, 16, 16, 1), {k: kwargs[k] for k in ("channel_base", "channel_max",
                                    "num_layers", "num_critical", "margin_size")})  # fmt: skip
    assert list(positional.state_dict()) == [k for k, _ in NVIDIA_KEYS]
    with pytest.raises(ValueError, match=r"unsupported argument\(s\) fused_modconv, mapping_kwargs.foo"):
        build((), {**kwargs, "fused_modconv": True, "mapping_kwargs": {"foo": 1}})
    with pytest.raises(ValueError, match="missing argument"):
        build((), {"z_dim": 8})


def test_plan_rejects_bad_options_by_name():
    with pytest.raises(ValueError, match=r"num_layers \(2\) must exceed num_critical \(2\)"):
        StyleGAN3Generator.plan(32, num_layers=2)
    with pytest.raises(ValueError, match="conv_kernel must be odd"):
        StyleGAN3Generator.plan(32, conv_kernel=2)
    with pytest.raises(ValueError, match="unknown option.*fmap_base"):
        StyleGAN3Generator.plan(32, fmap_base=8)
    assert StyleGAN3Generator.plan(16, z_dim=8, channels=1, **TINY) == (16, 16, 16, 1)  # L0..L2 and ToRGB


def test_forward_shapes_range_transform_and_emas():
    torch.manual_seed(0)
    G = StyleGAN3Generator(8, 16, 1, **TINY)
    z = torch.randn(3, 8)
    G.train()
    out = G(z)  # with gradients (G's step): the EMAs stay
    assert out.shape == (3, 1, 16, 16) and out.requires_grad
    assert float(G.synthesis.L0_20_16.magnitude_ema) == 1.0 and float(G.mapping.w_avg.abs().sum()) == 0
    with torch.no_grad():  # the D step's fakes: the EMAs move, as NVIDIA's update_emas
        G(z)
    assert float(G.synthesis.L0_20_16.magnitude_ema) != 1.0 and float(G.mapping.w_avg.abs().sum()) > 0
    G.eval()
    with torch.no_grad():
        a = G(z)
        ws = G.map_latents(z)
        torch.testing.assert_close(G.synthesize_transformed(ws, torch.eye(3)), G.synthesis(ws))
        shifted = torch.eye(3)
        shifted[0, 2] = 0.25
        moved = G.synthesize_transformed(ws, shifted) - G.synthesis(ws)
    assert float(a.abs().max()) <= 1.0
    assert float(moved.abs().max()) > 1e-4
    torch.testing.assert_close(G.synthesis.input.transform, torch.eye(3))  # restored afterwards


def _cfg(**g) -> RunConfig:
    return RunConfig(
        data=DataConfig(name="fashion-mnist", resolution=32),
        model=ModelConfig(name="stylegan3", z_dim=8, g=g, d={"channel_base": 64, "channel_max": 16}),
    )


def test_family_validation_names_the_option():
    _cfg(**TINY, eq_eval={"samples": 8}).validate("r.yaml")
    with pytest.raises(ConfigError, match=r"r.yaml: model.g: conv_kernel must be odd"):
        _cfg(**TINY, conv_kernel=4).validate("r.yaml")
    with pytest.raises(ConfigError, match=r"model.g.eq_eval.metrics.*valid choices: eq_t, eq_t_frac, eq_r"):
        _cfg(**TINY, eq_eval={"metrics": ["eq_x"]}).validate("r.yaml")
    with pytest.raises(ConfigError, match="no 8×8 architecture; supported resolutions: 16, 32"):
        RunConfig(
            data=DataConfig(name="fashion-mnist", resolution=8), model=ModelConfig(name="stylegan3", g=TINY)
        ).validate("r.yaml")
