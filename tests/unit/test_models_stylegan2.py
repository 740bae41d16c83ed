"""StyleGAN2 (ganbench/models/stylegan2.py) and path-length regularisation (objectives/path_length.py)."""

from __future__ import annotations

import math

import pytest
import torch

from ganbench.config import config_from_dict
from ganbench.errors import ConfigError
from ganbench.models.stylegan2 import (
    StyleGAN2,
    StyleGAN2Discriminator,
    StyleGAN2Generator,
    build_nvidia_generator,
    modulated_conv2d,
    setup_filter,
    upsample2d,
)
from ganbench.objectives.lipschitz import R1Penalty
from ganbench.objectives.losses import NonSaturating
from ganbench.objectives.objective import Objective, StepContext
from ganbench.objectives.path_length import PathLength, path_lengths
from ganbench.registries import NVIDIA_NETWORKS, TECHNIQUES

SMALL = dict(w_dim=8, mapping_layers=2, channel_base=64, channel_max=8)
NV_SMALL = dict(
    z_dim=8,
    c_dim=3,
    w_dim=8,
    img_resolution=8,
    img_channels=1,
    mapping_kwargs=dict(num_layers=2),
    synthesis_kwargs=dict(channel_base=64, channel_max=8),
)

# NVIDIA's G_ema.state_dict() for NV_SMALL, written from training/networks.py of stylegan2-ada-pytorch
# (SynthesisBlock: resample_filter buffer, const at 4², conv0 (up) / conv1 SynthesisLayers with their
# own resample_filter, weight, noise_const, noise_strength, bias, affine FC; torgb per block (skip);
# then the mapping network: w_avg, embed (c_dim > 0), fc0..fc{L-1}); the order is state_dict()'s
# (a module's parameters, then its buffers, then its children). scripts/compare_nvidia_stylegan2.py
# checks the same against NVIDIA's own module.
_LAYER = lambda p, c_in, r: [  # noqa: E731
    (f"{p}.weight", (8, c_in, 3, 3)),
    (f"{p}.noise_strength", ()),
    (f"{p}.bias", (8,)),
    (f"{p}.resample_filter", (4, 4)),
    (f"{p}.noise_const", (r, r)),
    (f"{p}.affine.weight", (c_in, 8)),
    (f"{p}.affine.bias", (c_in,)),
]
_TORGB = lambda p: [  # noqa: E731
    (f"{p}.weight", (1, 8, 1, 1)),
    (f"{p}.bias", (1,)),
    (f"{p}.affine.weight", (8, 8)),
    (f"{p}.affine.bias", (8,)),
]
EXPECTED_G = (
    [("synthesis.b4.const", (8, 4, 4)), ("synthesis.b4.resample_filter", (4, 4))]
    + _LAYER("synthesis.b4.conv1", 8, 4)
    + _TORGB("synthesis.b4.torgb")
    + [("synthesis.b8.resample_filter", (4, 4))]
    + _LAYER("synthesis.b8.conv0", 8, 8)
    + _LAYER("synthesis.b8.conv1", 8, 8)
    + _TORGB("synthesis.b8.torgb")
    + [
        ("mapping.w_avg", (8,)),
        ("mapping.embed.weight", (8, 3)),
        ("mapping.embed.bias", (8,)),
        ("mapping.fc0.weight", (8, 16)),
        ("mapping.fc0.bias", (8,)),
        ("mapping.fc1.weight", (8, 8)),
        ("mapping.fc1.bias", (8,)),
    ]
)


def _G(**kw: object) -> StyleGAN2Generator:
    torch.manual_seed(0)
    return StyleGAN2Generator(8, 8, 1, **{**SMALL, **kw})  # type: ignore[arg-type]


def test_demodulation_gives_unit_variance_outputs_for_unit_variance_inputs_and_weights() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 64, 16, 16, generator=g)
    weight = torch.randn(32, 64, 3, 3, generator=g)
    styles = torch.rand(4, 64, generator=g) * 3 + 0.1  # any positive styles: demodulation removes them
    out = modulated_conv2d(x, weight, styles, padding=1)
    inner = out[:, :, 1:-1, 1:-1]  # away from the zero padding
    assert inner.var().item() == pytest.approx(1.0, abs=0.05)
    per_map = inner.var(dim=(0, 2, 3))
    assert per_map.min().item() > 0.8 and per_map.max().item() < 1.2
    # without demodulation the variance follows the styles' scale
    raw = modulated_conv2d(x, weight, styles, padding=1, demodulate=False)[:, :, 1:-1, 1:-1]
    assert raw.var().item() > 10


def test_upsampling_filter_keeps_a_constant_image_constant() -> None:
    f = setup_filter([1, 3, 3, 1])
    assert f.sum().item() == pytest.approx(1.0) and f.shape == (4, 4)
    up = upsample2d(torch.full((1, 2, 4, 4), 3.0), f)
    assert up.shape == (1, 2, 8, 8)
    assert torch.allclose(up[:, :, 1:-1, 1:-1], torch.tensor(3.0))  # the borders see the zero padding


def test_state_dict_keys_shapes_and_order_are_nvidias() -> None:
    G = NVIDIA_NETWORKS.get("training.networks.Generator")((), NV_SMALL)
    assert [(k, tuple(v.shape)) for k, v in G.state_dict().items()] == EXPECTED_G
    assert NVIDIA_NETWORKS.get("training.networks_stylegan2.Generator")((), NV_SMALL).state_dict().keys() == (
        G.state_dict().keys()
    )
    # ganbench's constructor builds the same layout (no embed when unconditional)
    ours = StyleGAN2Generator(8, 8, 1, "projection", 3, **SMALL)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == EXPECTED_G
    G.load_state_dict(ours.state_dict(), strict=True)


def test_nvidia_builder_refuses_unknown_kwargs_naming_them() -> None:
    with pytest.raises(ValueError, match="synthesis_kwargs.magic"):
        build_nvidia_generator((), {**NV_SMALL, "synthesis_kwargs": {"magic": 1}})
    with pytest.raises(ValueError, match="frobnicate"):
        build_nvidia_generator((), {**NV_SMALL, "frobnicate": True})
    with pytest.raises(ValueError, match="missing argument.*img_channels"):
        build_nvidia_generator((8, 3, 8, 8), {})
    with pytest.raises(ValueError, match="architecture 'fancy'"):
        build_nvidia_generator((), {**NV_SMALL, "synthesis_kwargs": {"architecture": "fancy"}})
    # positional arguments as NVIDIA's signature orders them
    G = build_nvidia_generator((8, 0, 8, 8, 1), {"synthesis_kwargs": {"channel_base": 64, "channel_max": 8}})
    assert (G.z_dim, G.c_dim, G.img_resolution, G.num_ws) == (8, 0, 8, 4)


def test_truncation_psi_zero_gives_w_avg() -> None:
    G = _G()
    with torch.no_grad():
        G.mapping.w_avg.normal_()
    G.eval()
    z = torch.randn(5, 8)
    ws = G.map_ws(z, truncation_psi=0.0)
    assert torch.allclose(ws, G.mapping.w_avg.expand_as(ws))
    ws_cut = G.map_ws(z, truncation_psi=0.0, truncation_cutoff=2)
    assert torch.allclose(ws_cut[:, :2], G.mapping.w_avg.expand(5, 2, 8))
    assert not torch.allclose(ws_cut[:, 2:], G.mapping.w_avg.expand(5, 2, 8))
    # truncated images are one image
    x = G(z, truncation_psi=0.0, noise_mode="const")
    assert torch.allclose(x, x[:1].expand_as(x), atol=1e-6)


def test_w_avg_tracks_in_training_mode_only() -> None:
    G = _G(w_avg_beta=0.5)
    z = torch.randn(16, 8)
    G.eval()
    G(z)
    assert torch.all(G.mapping.w_avg == 0)
    G.train()
    G(z)
    w = G.mapping(z, None, skip_w_avg_update=True)[:, 0].mean(0)
    assert torch.allclose(G.mapping.w_avg, 0.5 * w, atol=1e-6)


def test_noise_modes() -> None:
    G = _G()
    with torch.no_grad():  # noise strengths start at 0: make the noise visible
        for n, p in G.named_parameters():
            if n.endswith("noise_strength"):
                p.fill_(1.0)
    G.eval()
    z = torch.randn(3, 8)
    a, b = G(z, noise_mode="const"), G(z, noise_mode="const")
    assert torch.equal(a, b)
    r1, r2 = G(z, noise_mode="random"), G(z, noise_mode="random")
    assert (r1 - r2).abs().max() > 1e-3
    assert (G(z, noise_mode="none") - a).abs().max() > 1e-3
    with pytest.raises(ValueError, match="valid choices: random, const, none"):
        G(z, noise_mode="loud")


def test_style_mixing_in_training_passes_only() -> None:
    G = _G(style_mixing_prob=1.0)
    z = torch.randn(4, 8)
    torch.manual_seed(1)
    mixed = G.training_ws(z)
    assert not torch.allclose(mixed[:, 0], mixed[:, -1])  # a second latent from the crossover on
    G.eval()
    ws = G.map_ws(z)
    assert torch.allclose(ws[:, 0], ws[:, -1])
    assert torch.equal(G(z, noise_mode="const"), G(z, noise_mode="const"))


def test_conditional_g_and_d_take_class_indices_or_one_hot() -> None:
    G = StyleGAN2Generator(8, 8, 1, "projection", 3, **SMALL).eval()
    D = StyleGAN2Discriminator(8, 1, "projection", 3, channel_base=64, channel_max=8).eval()
    z, y = torch.randn(4, 8), torch.tensor([0, 1, 2, 1])
    x = G(z, y, noise_mode="const")
    assert x.shape == (4, 1, 8, 8) and x.abs().max() <= 1
    assert torch.equal(x, G(z, torch.nn.functional.one_hot(y, 3).float(), noise_mode="const"))
    logits = D(x, y)
    assert logits.shape == (4,)
    assert not torch.allclose(logits, D(x, torch.tensor([2, 2, 0, 0])))  # the projection sees the label
    with pytest.raises(ValueError, match="class-conditional"):
        G(z)


def test_plan_errors_name_the_option() -> None:
    with pytest.raises(ValueError, match="architecture 'wide'; valid choices: orig, skip, resnet"):
        StyleGAN2Generator.plan(32, architecture="wide")
    with pytest.raises(ValueError, match="no 48×48"):
        StyleGAN2Generator.plan(48)
    with pytest.raises(ValueError, match="truncation_cutoff must be in 1..8"):
        StyleGAN2Generator.plan(32, truncation_cutoff=9)
    with pytest.raises(ValueError, match="channel_base 16"):
        StyleGAN2Generator.plan(32, channel_base=16)
    with pytest.raises(ValueError, match="mbstd_num_channels"):
        StyleGAN2Discriminator.plan(32, channel_base=64, channel_max=8, mbstd_num_channels=3)
    assert StyleGAN2Generator.plan(32, channel_base=512, channel_max=64) == (64, 64, 32, 16)
    assert StyleGAN2Discriminator.plan(32, channel_base=512, channel_max=64) == (16, 32, 64, 64)


def _cfg(**over: object) -> object:
    d = {
        "data": {"name": "fashion-mnist", "resolution": 32},
        "model": {
            "name": "stylegan2",
            "z_dim": 16,
            "g": dict(SMALL),
            "d": {"channel_base": 64, "channel_max": 8},
        },
        "objective": {"loss": "nonsaturating", "lipschitz": "r1"},
    }
    for k, v in over.items():
        d[k] = {**d.get(k, {}), **v}  # type: ignore[dict-item]
    return config_from_dict(d)


def test_family_validation() -> None:
    _cfg().validate("t")  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="model.g: architecture 'wide'"):
        _cfg(model={"name": "stylegan2", "g": {**SMALL, "architecture": "wide"}}).validate("t")  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="does not support 'acgan'.*valid choices: none, projection"):
        _cfg(model={"name": "stylegan2", "conditioning": "acgan"}).validate("t")  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="objective.lipschitz 'sn'"):
        _cfg(objective={"lipschitz": "sn"}).validate("t")  # type: ignore[attr-defined]
    assert StyleGAN2.has_mapping_network and 4 not in StyleGAN2.resolutions


def test_path_length_is_refused_for_a_family_without_a_mapping_network() -> None:
    techniques = {"techniques": {"path_length": {}}}
    _cfg(objective=techniques).validate("t")  # type: ignore[attr-defined]
    with pytest.raises(
        ConfigError, match="path_length needs a generator with a mapping.*families that do: stylegan2"
    ):
        _cfg(model={"name": "dcgan", "g": {}, "d": {}}, objective=techniques)
    with pytest.raises(ConfigError, match="interval must be an integer >= 1"):
        TECHNIQUES.get("path_length")(interval=0)


def test_path_length_matches_its_definition() -> None:
    """a = ‖J_wᵀ y‖ with J the Jacobian of the images in the ws (averaged over the ws), checked
    against the explicit Jacobian; the penalty weight·(a − ā)² with ā = lerp(ā, mean a, decay), ×interval
    on the steps it acts on; its gradient reaches G's weights (double backward)."""
    G = _G()
    torch.manual_seed(3)
    z = torch.randn(2, 8)
    ws = G.map_ws(z).detach().requires_grad_(True)
    images = G.synthesis(ws, noise_mode="const")
    y = torch.randn_like(images) / math.sqrt(64)
    got = path_lengths(images, ws, y)
    for i in range(2):
        jac = torch.autograd.functional.jacobian(
            lambda w: G.synthesis(w[None], noise_mode="const")[0], ws[i].detach()
        )
        jty = torch.einsum("chw,chwld->ld", y[i], jac)  # (num_ws, w_dim)
        want = jty.square().sum(1).mean().sqrt()
        assert got[i].item() == pytest.approx(want.item(), rel=1e-4)
    term = PathLength(weight=2.0, interval=4, decay=0.1, batch_shrink=2)
    term.pl_mean = torch.tensor(0.5)
    torch.manual_seed(5)
    value = term.penalty(G, z, None)
    torch.manual_seed(5)  # the same ws, noise and y again, by hand
    ws2 = G.training_ws(z)
    img2 = G.synthesis(ws2)
    y2 = torch.randn_like(img2) / math.sqrt(64)
    a = path_lengths(img2, ws2, y2)
    mean = 0.5 + 0.1 * (a.mean().item() - 0.5)
    assert term.pl_mean.item() == pytest.approx(mean, rel=1e-5)
    assert value.item() == pytest.approx(2.0 * ((a - mean) ** 2).mean().item(), rel=1e-4)
    value.backward()
    grad = G.synthesis.b8.conv1.weight.grad
    assert grad is not None and grad.abs().sum() > 0
    # lazy: None off its steps; the G step's batch // batch_shrink and labels on them, ×interval
    ctx = StepContext(None, None, None, torch.zeros(6, 1, 8, 8), None, None, None, 4)  # type: ignore[arg-type]
    term.g_term(ctx)
    assert term.g_lazy_term(G, 3) is None
    assert term.g_lazy_term(G, 4) is not None and term._batch == 3


def test_path_length_state_round_trips() -> None:
    term = PathLength()
    term.pl_mean = torch.tensor(0.25)
    other = PathLength()
    other.load_state_dict(term.state_dict())
    assert other.pl_mean.item() == 0.25
    assert PathLength().g_interval == 4 and PathLength().weight == 2.0


def test_lazy_r1_on_a_stylegan2_d_matches_its_definition() -> None:
    torch.manual_seed(0)
    D = StyleGAN2Discriminator(8, 1, channel_base=64, channel_max=8, mbstd_group_size=2)
    real, fake = torch.randn(4, 1, 8, 8), torch.randn(4, 1, 8, 8)
    obj = Objective(NonSaturating(), R1Penalty(gamma=0.5, interval=16))
    assert obj.d_lazy_loss(D, real, None, fake, None, step=5)[0] is None
    loss, logs = obj.d_lazy_loss(D, real, None, fake, None, step=32)
    x = real.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(D(x).sum(), x)
    want = 0.25 * g.flatten(1).square().sum(1).mean() * 16
    assert loss is not None and loss.item() == pytest.approx(want.item(), rel=1e-5)
    assert logs["d_penalty"].item() == pytest.approx(want.item() / 16, rel=1e-5)
