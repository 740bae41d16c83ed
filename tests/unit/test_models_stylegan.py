"""The StyleGAN (v1) family: AdaIN, truncation, style mixing, noise inputs, the mapping network's
learning-rate multiplier, fade-in at α = 0 / 1 for G and D, shapes at every level, conditioning and
validation."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from ganbench.config import DataConfig, ModelConfig, ObjectiveConfig, RunConfig, load_config
from ganbench.data.base import DataSource
from ganbench.errors import ConfigError
from ganbench.models.growing import to_resolution
from ganbench.models.layers import has_spectral_norm
from ganbench.models.stylegan import (
    AdaIN,
    Blur,
    StyleGANDiscriminator,
    StyleGANGenerator,
    channels_at,
    mix_at,
)
from ganbench.registries import LIPSCHITZ, MODELS, load_all

load_all()

SMALL = {"w_dim": 16, "mapping_layers": 2, "fmap_base": 64, "fmap_max": 16}


def small_g(res: int = 32, channels: int = 1, **kw) -> StyleGANGenerator:
    torch.manual_seed(0)
    return StyleGANGenerator(16, res, channels, **{**SMALL, **kw})


def small_d(res: int = 32, channels: int = 1, **kw) -> StyleGANDiscriminator:
    torch.manual_seed(1)
    return StyleGANDiscriminator(res, channels, **{"fmap_base": 64, "fmap_max": 16, **kw})


# --- AdaIN ------------------------------------------------------------------------------------


def test_adain_normalises_each_channel_then_applies_the_style() -> None:
    torch.manual_seed(0)
    adain = AdaIN(6, 8)
    torch.nn.init.normal_(adain.affine.weight)  # a non-trivial style map
    torch.nn.init.normal_(adain.affine.bias)
    x = torch.randn(3, 6, 5, 5) * torch.rand(1, 6, 1, 1) * 7 + torch.randn(1, 6, 1, 1) * 4
    w = torch.randn(3, 8)
    out = adain(x, w)
    scale, bias = adain.style(w)
    # per sample and channel: mean = y_b, std (biased) = y_s
    torch.testing.assert_close(out.mean(dim=(2, 3)), bias, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out.std(dim=(2, 3), unbiased=False), scale.abs(), atol=1e-4, rtol=1e-4)
    # the style is the affine map of w with y_s = 1 + A_s(w) (the official style_mod)
    s = F.linear(w, adain.affine.weight * adain.affine.scale, adain.affine.bias)
    torch.testing.assert_close(scale, s[:, :6] + 1)
    torch.testing.assert_close(bias, s[:, 6:])
    # the input's per-channel statistics are gone: an affine change of x per channel changes nothing
    x2 = x * torch.rand(1, 6, 1, 1).add(0.5) + torch.randn(1, 6, 1, 1)
    torch.testing.assert_close(adain(x2, w), out, atol=1e-4, rtol=1e-4)


def test_blur_is_the_normalised_121_filter() -> None:
    x = torch.zeros(1, 2, 5, 5)
    x[0, 1, 2, 2] = 16.0
    out = Blur()(x)
    expected = torch.tensor([[1.0, 2, 1], [2, 4, 2], [1, 2, 1]])
    torch.testing.assert_close(out[0, 1, 1:4, 1:4], expected)
    assert out[0, 0].abs().max() == 0 and float(out.sum()) == pytest.approx(16.0)


# --- mapping network ----------------------------------------------------------------------------


def test_mapping_layers_have_the_learning_rate_multiplier() -> None:
    G = StyleGANGenerator(32, 16, 1, w_dim=32, mapping_layers=8)
    layers = G.mapping.layers
    assert len(layers) == 8
    for layer in layers:
        assert layer.lr_mul == 0.01
        # stored N(0, 1)/lr_mul, run-time weight = stored · lr_mul · √2/√fan_in: He's variance 2/fan_in
        runtime = layer.weight * layer.scale
        assert float(runtime.detach().var()) == pytest.approx(2 / 32, rel=0.1)
        assert float(layer.weight.detach().std()) == pytest.approx(100, rel=0.1)


def test_the_mapping_normalises_z() -> None:
    G = small_g()
    z = torch.randn(4, 16)
    torch.testing.assert_close(G.mapping(z * 5.0), G.mapping(z), atol=1e-5, rtol=1e-4)


# --- truncation -------------------------------------------------------------------------------


def test_truncation_psi_zero_returns_w_avg_and_one_is_the_identity() -> None:
    G = small_g()
    G.w_avg.copy_(torch.randn(16))
    ws = torch.randn(5, G.num_ws, 16)
    out = G.truncate(ws, 0.0)
    torch.testing.assert_close(out, G.w_avg.expand_as(ws))
    assert torch.equal(G.truncate(ws, 1.0), ws)
    half = G.truncate(ws, 0.5, cutoff=3)  # only the first 3 styles move, half-way to w̄
    torch.testing.assert_close(half[:, :3], (ws[:, :3] + G.w_avg) / 2)
    assert torch.equal(half[:, 3:], ws[:, 3:])


def test_psi_zero_generator_draws_one_image() -> None:
    G = small_g(truncation_psi=0.0).eval()
    G.w_avg.copy_(torch.randn(16))
    with torch.no_grad():
        x = G(torch.randn(4, 16))
    torch.testing.assert_close(x, x[:1].expand_as(x))
    with torch.no_grad():
        untruncated = small_g().eval()(torch.randn(4, 16))
    assert float((untruncated - untruncated[:1]).abs().max()) > 0.01


def test_w_avg_is_an_ema_of_batch_means_in_training_only() -> None:
    G = small_g(style_mixing_prob=0.0)
    before = G.w_avg.clone()
    z = torch.randn(8, 16)
    with torch.no_grad():
        G(z)
        expected = torch.lerp(G.mapping(z).mean(0), before, 0.995)
    torch.testing.assert_close(G.w_avg, expected)
    G.eval()
    with torch.no_grad():
        G(z)
    torch.testing.assert_close(G.w_avg, expected)  # eval mode leaves it


# --- style mixing ---------------------------------------------------------------------------------


def test_mix_at_takes_the_second_styles_from_the_crossover() -> None:
    ws, ws2 = torch.zeros(2, 8, 4), torch.ones(2, 8, 4)
    out = mix_at(ws, ws2, 3)
    assert torch.equal(out[:, :3], ws[:, :3]) and torch.equal(out[:, 3:], ws2[:, 3:])


def test_style_mixing_crossover_is_uniform_over_the_current_layers() -> None:
    G = small_g()
    G.set_growth(1, 1.0)  # 8×8: 4 active styles → crossover in 1..3
    torch.manual_seed(0)
    ws, w2 = torch.zeros(1, G.num_ws, 16), torch.ones(1, 16)
    cuts = [int((G.mix(ws, w2)[0, :, 0] == 0).sum()) for _ in range(600)]
    counts = torch.bincount(torch.tensor(cuts), minlength=G.num_ws)
    assert counts[0] == 0 and counts[4:].sum() == 0
    assert all(abs(int(c) - 200) < 50 for c in counts[1:4])


def test_style_mixing_in_training_mode_changes_the_layers_after_the_crossover() -> None:
    """With probability 1, G's training forward equals synthesis(mix of w1 and the second w) at the
    crossover it drew: replay its random draws."""
    G = small_g(style_mixing_prob=1.0)
    for block in G.blocks:  # noise off: the replay compares styles only
        block.epi0.noise.weight.data.zero_()
        block.epi1.noise.weight.data.zero_()
    z = torch.randn(3, 16)
    torch.manual_seed(5)
    with torch.no_grad():
        x = G(z)
    torch.manual_seed(5)
    torch.rand(())  # the mixing decision
    z2 = torch.randn_like(z)
    cut = int(torch.randint(1, G.active_ws, ()))
    with torch.no_grad():
        expected = G.synthesis(mix_at(G.broadcast(G.mapping(z)), G.broadcast(G.mapping(z2)), cut))
        unmixed = G.synthesis(G.broadcast(G.mapping(z)))
    torch.testing.assert_close(x, expected)
    assert float((x - unmixed).abs().max()) > 1e-3


# --- noise --------------------------------------------------------------------------------------


def test_noise_changes_fine_detail_only() -> None:
    """Same w, different noise: a small change, mostly at high frequency; a different w: a large one.
    As in a trained G, the constant input holds a layout (at initialisation it is uniform, so the
    instance norm of the first layer would see the noise alone) and the noise strengths are small."""
    G = small_g()
    torch.nn.init.normal_(G.blocks[0].const)
    for block in G.blocks:
        for epi in (block.epi0, block.epi1):
            epi.noise.weight.data.fill_(0.1)
    n = 16
    w1, w2 = G.broadcast(G.mapping(torch.randn(n, 16))), G.broadcast(G.mapping(torch.randn(n, 16)))

    def noise() -> list[torch.Tensor]:
        return [torch.randn(n, 1, r, r) for r in G.layer_resolutions]

    with torch.no_grad():
        a, b, c = G.synthesis(w1, noise()), G.synthesis(w1, noise()), G.synthesis(w2, noise())
    by_noise, by_w = (a - b).abs().mean(), (a - c).abs().mean()
    assert by_noise < 0.35 * by_w

    # the finest layers' noise is per-pixel detail: it barely moves the 4×4 averages (the layout)
    fine = noise()
    other = [m if r < 32 else torch.randn_like(m) for m, r in zip(fine, G.layer_resolutions)]
    with torch.no_grad():
        diff = G.synthesis(w1, fine) - G.synthesis(w1, other)
    assert float(diff.abs().mean()) > 0
    assert F.avg_pool2d(diff, 8).abs().mean() < 0.25 * diff.abs().mean()
    for block in G.blocks:  # zero noise strengths: noise has no effect at all
        block.epi0.noise.weight.data.zero_()
        block.epi1.noise.weight.data.zero_()
    with torch.no_grad():
        assert torch.equal(G.synthesis(w1, noise()), G.synthesis(w1, noise()))


def test_eval_mode_noise_is_fixed_training_noise_is_fresh() -> None:
    G = small_g(style_mixing_prob=0.0)
    for block in G.blocks:
        block.epi1.noise.weight.data.fill_(0.5)
    z = torch.randn(2, 16)
    with torch.no_grad():
        assert not torch.equal(G(z), G(z))
        G.eval()
        assert torch.equal(G(z), G(z))


# --- growing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("res", [8, 16, 32, 64])
def test_shapes_at_every_level(res: int) -> None:
    G, D = small_g(res, 3), small_d(res, 3)
    assert G.growth_resolutions == tuple(2**i for i in range(2, int(math.log2(res)) + 1))
    assert G.num_ws == 2 * len(G.growth_resolutions)
    z = torch.randn(4, 16)
    for level, r in enumerate(G.growth_resolutions):
        for alpha in (0.0, 0.5, 1.0):
            G.set_growth(level, alpha)
            D.set_growth(level, alpha)
            with torch.no_grad():
                x = G(z)
                assert x.shape == (4, 3, res, res)
                # nearest upsampling from the current resolution: constant k×k blocks
                k = res // r
                torch.testing.assert_close(x, F.interpolate(x[:, :, ::k, ::k], scale_factor=k))
                assert D(x).shape == (4,)
                out = D(x, return_aux=True)
                assert out.features.shape == (4, channels_at(4, 64, 16))


def _eval_g() -> StyleGANGenerator:
    G = small_g(32).eval()
    for block in G.blocks:  # noise on (fixed maps in eval mode), so every layer is exercised
        block.epi0.noise.weight.data.fill_(0.2)
        block.epi1.noise.weight.data.fill_(0.2)
    return G


def test_generator_fade_in_alpha_zero_is_the_previous_resolution_upsampled() -> None:
    G = _eval_g()
    z = torch.randn(4, 16)
    with torch.no_grad():
        ws = G.broadcast(G.mapping(z))
        for level in (1, 2, 3):
            G.set_growth(level - 1, 1.0)
            previous = G.synthesis(ws)
            G.set_growth(level, 0.0)
            torch.testing.assert_close(G.synthesis(ws), previous)
            G.set_growth(level, 1.0)
            new = G.synthesis(ws)
            assert float((new - previous).abs().max()) > 1e-3
            # α = 1: the new block's toRGB alone
            h = None
            for i in range(level + 1):
                h = G.blocks[i](h, ws[:, 2 * i], ws[:, 2 * i + 1])
            torch.testing.assert_close(new, to_resolution(G.to_rgb[level](h), 32))
            G.set_growth(level, 0.5)
            torch.testing.assert_close(G.synthesis(ws), (new + previous) / 2, atol=1e-5, rtol=1e-4)
        G.set_growth(1, 0.0)  # G(z) in eval mode is the same images, clamped to [-1, 1]
        torch.testing.assert_close(G(z), G.synthesis(ws).clamp(-1, 1))


def test_discriminator_fade_in_alpha_zero_is_the_previous_resolution() -> None:
    D = small_d(32)
    x = torch.randn(8, 1, 32, 32)
    with torch.no_grad():
        for level in (1, 2, 3):
            D.set_growth(level - 1, 1.0)
            previous = D(x)
            D.set_growth(level, 0.0)
            torch.testing.assert_close(D(x), previous, atol=1e-5, rtol=1e-4)
            D.set_growth(level, 1.0)
            new = D(x)
            assert float((new - previous).abs().max()) > 1e-4
            # α = 1: fromRGB at the new resolution, then the new block (the old fromRGB unused)
            D.from_rgb[level - 1].weight.data.add_(1.0)
            torch.testing.assert_close(D(x), new)
            D.from_rgb[level - 1].weight.data.sub_(1.0)


def test_set_growth_rejects_bad_levels() -> None:
    G = small_g()
    with pytest.raises(ValueError, match="growth level 4 outside 0..3"):
        G.set_growth(4, 1.0)
    with pytest.raises(ValueError, match="alpha must be in"):
        G.set_growth(1, 1.5)


def test_untold_networks_run_at_full_resolution() -> None:
    G, D = small_g(16), small_d(16)
    assert G.level == D.level == len(G.growth_resolutions) - 1 and G.alpha == D.alpha == 1.0


# --- the family -----------------------------------------------------------------------------


class Images(DataSource):
    kind = "images"

    def __init__(self, res: int, channels: int = 1, num_classes: int | None = 10) -> None:
        self.sample_shape = (channels, res, res)
        self.num_classes = num_classes


def cfg(cond: str = "none", g=None, d=None, resolution: int | None = 32, **objective) -> RunConfig:
    return RunConfig(
        data=DataConfig(name="fashion-mnist", resolution=resolution),
        model=ModelConfig(name="stylegan", z_dim=16, conditioning=cond, g={**SMALL, **(g or {})}, d=d or {}),
        objective=ObjectiveConfig(**{"lipschitz": "r1", **objective}),
    )


def test_family_builds_and_projection_conditioning_uses_the_labels() -> None:
    c = cfg("projection", d={"fmap_base": 64, "fmap_max": 16}).validate()
    G, D = MODELS.get("stylegan").build(c, Images(32))
    assert G.num_classes == 10 and G.mapping.embed.num_embeddings == 10
    G.eval()
    z = torch.randn(3, 16)
    with torch.no_grad():
        a, b = G(z, torch.tensor([0, 1, 2])), G(z, torch.tensor([3, 4, 5]))
        assert float((a - b).abs().max()) > 1e-3
        assert not torch.allclose(D(a, torch.tensor([0, 1, 2])), D(a, torch.tensor([3, 4, 5])))
    with pytest.raises(ValueError, match="class-conditional"):
        G(z)


@pytest.mark.parametrize("cond,why", [("concat", "mapping network"), ("acgan", "auxiliary classifier")])
def test_rejected_conditionings_give_the_reason(cond: str, why: str) -> None:
    with pytest.raises(ConfigError, match=f"does not support '{cond}'.*{why}.*projection"):
        cfg(cond).validate("recipe.yaml")


def test_spectral_norm_uses_plain_he_layers_and_normalises_them_all() -> None:
    c = cfg(lipschitz="sn", d={"fmap_base": 64, "fmap_max": 16}).validate()
    _, D = MODELS.get("stylegan").build(c, Images(32))
    assert not D.equalized_lr
    D = LIPSCHITZ.get("sn")().prepare(D)
    layers = [m for m in D.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert len(layers) == 4 + 2 * 3 + 3 and all(has_spectral_norm(m) for m in layers)
    assert D(torch.randn(2, 1, 32, 32)).shape == (2,)
    _, D_r1 = MODELS.get("stylegan").build(cfg(d={"fmap_base": 64, "fmap_max": 16}).validate(), Images(32))
    assert D_r1.equalized_lr
    with pytest.raises(
        ConfigError, match="model.d.equalized_lr: true cannot be combined with objective.lipschitz 'sn'"
    ):
        cfg(lipschitz="sn", d={"equalized_lr": True}).validate("recipe.yaml")


@pytest.mark.parametrize("resolution", [32, None])
@pytest.mark.parametrize("psi", [-0.1, 1.5])
def test_truncation_psi_outside_unit_interval_fails_validation(psi: float, resolution: int | None) -> None:
    with pytest.raises(ConfigError, match=r"recipe.yaml: model.g: truncation_psi must be in \[0, 1\]"):
        cfg(g={"truncation_psi": psi}, resolution=resolution).validate("recipe.yaml")


def test_style_mixing_without_a_mapping_network_fails_validation() -> None:
    with pytest.raises(ConfigError, match="model.g: style_mixing_prob 0.9: .*mapping_layers 0 builds none"):
        cfg(g={"mapping_layers": 0, "w_dim": 16}).validate("recipe.yaml")
    G, _ = MODELS.get("stylegan").build(
        cfg(g={"mapping_layers": 0, "w_dim": 16, "style_mixing_prob": 0.0}).validate(), Images(32)
    )
    assert not G.has_mapping_network


def test_truncation_cutoff_range_names_the_layers() -> None:
    with pytest.raises(ConfigError, match=r"truncation_cutoff must be in 1..8 \(the layers of a 32² G\)"):
        cfg(g={"truncation_cutoff": 9}).validate("recipe.yaml")


def test_style_eval_options_are_validated_and_not_passed_to_the_network() -> None:
    c = cfg(g={"style_eval": {"psis": [1.0, 0.5], "ppl_samples": 200}}).validate()
    G, _ = MODELS.get("stylegan").build(c, Images(32))
    assert isinstance(G, StyleGANGenerator)
    with pytest.raises(
        ConfigError, match=r"model.g.style_eval.psis: truncation ψ must be in \[0, 1\], got 1.2"
    ):
        cfg(g={"style_eval": {"psis": [1.2]}}).validate("recipe.yaml")
    with pytest.raises(ConfigError, match="model.g.style_eval"):
        cfg(g={"style_eval": {"ppl_sample": 10}}).validate("recipe.yaml")
    with pytest.raises(ConfigError, match="ppl_samples must be 0 .off. or >= 100"):
        cfg(g={"style_eval": {"ppl_samples": 10}}).validate("recipe.yaml")
    with pytest.raises(
        ConfigError, match="ppl_distance: 'l2'; valid choices: auto, lpips, fmnist-classifier"
    ):
        cfg(g={"style_eval": {"ppl_distance": "l2"}}).validate("recipe.yaml")


def test_gradient_penalties_reach_the_input_through_every_layer() -> None:
    """R1 (the paper's) needs per-sample input gradients: no layer mixes samples except the minibatch
    stddev, whose gradient is shared by construction."""
    D = small_d(16)
    x = torch.randn(4, 1, 16, 16, requires_grad=True)
    (g,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    assert g.shape == x.shape and float(g.detach().abs().sum()) > 0
    g.square().sum().backward()
    assert all(p.grad is not None for p in D.from_rgb[-1].parameters())


# --- the recipes ---------------------------------------------------------------------------------

RECIPES = Path(__file__).resolve().parents[2] / "recipes"


@pytest.mark.parametrize("name", ["fmnist/stylegan.yaml", "cifar10/stylegan.yaml", "celeba/stylegan.yaml"])
def test_paper_recipes_carry_the_papers_hyperparameters(name: str) -> None:
    path = RECIPES / name
    c = load_config(path)
    header = "".join(line for line in path.read_text().splitlines(keepends=True) if line.startswith("#"))
    assert "Karras, Laine & Aila 2019" in header and "§" in header and "networks_stylegan.py" in header
    g = c.model.g
    assert (c.model.z_dim, g["w_dim"], g["mapping_layers"], g["mapping_lr_mul"]) == (512, 512, 8, 0.01)
    assert (g["fmap_base"], g["fmap_max"], g["style_mixing_prob"], g["w_avg_beta"]) == (8192, 512, 0.9, 0.995)
    assert (c.objective.loss, c.objective.lipschitz) == ("nonsaturating", "r1")
    assert c.objective.lipschitz_params["gamma"] == (5.0 if c.data.name == "celeba" else 10.0)
    assert (c.optim.lr_g, c.optim.lr_d, tuple(c.optim.betas)) == (1e-3, 1e-3, (0.0, 0.99))
    grow = c.train.growing
    assert grow.resolutions[0] == 8 and grow.resolutions[-1] == c.data.resolution
    assert (grow.fade_images, grow.stabilise_images) == (600_000, 600_000)
    assert grow.batch_sizes[:3] == [256, 128, 64]
    # the EMA half-life of 10k images at the last resolution's batch (G_smoothing_kimg 10)
    assert c.train.ema_decay == pytest.approx(0.5 ** (grow.batch_sizes[-1] / 10_000), abs=1e-4)


def test_cpu_recipe_grows_to_fashion_mnist_resized_to_32() -> None:
    c = load_config(RECIPES / "fmnist/stylegan-cpu.yaml")
    assert (c.data.name, c.data.resolution, c.model.name) == ("fashion-mnist", 32, "stylegan")
    assert c.train.growing.resolutions == [8, 16, 32] and c.runtime.device == "cpu"
