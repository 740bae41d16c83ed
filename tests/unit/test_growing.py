"""Progressive growing: the equalised-LR and pixel-norm layers, ProGAN's fade-in in G and D, the
schedule (step → resolution, α, batch size, images seen, data stream), its validation, the
ProGAN family's combinations, Adam and the blocks that are not trained yet, the ε-drift term."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from ganbench.config import RunConfig, _canon, config_from_dict, load_config
from ganbench.errors import ConfigError
from ganbench.models.base import DOutput
from ganbench.models.growing import EqualizedConv2d, EqualizedLinear, PixelNorm, grows, to_resolution
from ganbench.models.layers import has_spectral_norm
from ganbench.models.progan import ProGAN, ProGANDiscriminator, ProGANGenerator, channel_plan
from ganbench.objectives.drift import Drift
from ganbench.objectives.lipschitz import SpectralNormalization
from ganbench.objectives.objective import StepContext
from ganbench.training.growing import Growth, Schedule

# --- layers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fan_in_shape", [(64, 3), (16, 1), (256, 3)])
def test_equalized_conv_runtime_weight_has_he_variance(fan_in_shape):
    c_in, k = fan_in_shape
    torch.manual_seed(0)
    conv = EqualizedConv2d(c_in, 512, k)
    runtime = conv.weight * conv.scale
    fan_in = c_in * k * k
    # stored N(0, 1); used with He's variance 2 / fan_in (gain √2)
    assert conv.weight.var().item() == pytest.approx(1.0, rel=0.05)
    assert runtime.var().item() == pytest.approx(2.0 / fan_in, rel=0.05)
    # and the layer uses exactly that weight
    x = torch.randn(2, c_in, 6, 6)
    assert torch.allclose(conv(x), F.conv2d(x, runtime, conv.bias, padding=k // 2), atol=1e-6)


def test_equalized_linear_runtime_weight_with_lr_multiplier():
    torch.manual_seed(0)
    lin = EqualizedLinear(512, 1024, gain=1.0, lr_mul=0.01)
    assert lin.weight.var().item() == pytest.approx(1.0 / 0.01**2, rel=0.05)  # stored N(0, 1) / lr_mul
    assert (lin.weight * lin.scale).var().item() == pytest.approx(1.0 / 512, rel=0.05)
    # an input of unit variance keeps it (gain 1): what equalised LR is for
    out = lin(torch.randn(4096, 512))
    assert out.var().item() == pytest.approx(1.0, rel=0.1)


def test_pixel_norm_gives_unit_mean_square_per_pixel():
    x = torch.randn(3, 32, 5, 7) * (0.1 + torch.rand(3, 1, 5, 7)) * 10  # pixels of different scales
    y = PixelNorm()(x)
    ms = y.square().mean(dim=1)
    assert torch.allclose(ms, torch.ones_like(ms), atol=1e-5)
    # a per-pixel rescaling only: the direction of each feature vector is kept
    assert torch.allclose(F.normalize(y, dim=1), F.normalize(x, dim=1), atol=1e-6)


def test_to_resolution_round_trip():
    x = torch.randn(2, 3, 8, 8)
    up = to_resolution(x, 32)
    assert up.shape[-1] == 32 and torch.equal(up[..., ::4, ::4], x)  # blocks of equal pixels
    assert torch.allclose(to_resolution(up, 8), x, atol=1e-6)


# --- the fade-in -------------------------------------------------------------------------------


def _nets(conditioning="none", num_classes=None):
    torch.manual_seed(0)
    G = ProGANGenerator(16, 32, 1, conditioning, num_classes, ch=16)
    D = ProGANDiscriminator(32, 1, conditioning, num_classes, ch=16, minibatch_std=True)
    return G, D


@pytest.mark.parametrize("level", [1, 2, 3])
def test_generator_fade_in_alpha_0_is_the_previous_resolution_upsampled(level):
    G, _ = _nets()
    z = torch.randn(6, 16)
    G.set_growth(level - 1, 1.0)
    previous = G(z)
    G.set_growth(level, 0.0)
    faded_out = G(z)
    assert torch.equal(faded_out, previous)
    # the previous resolution's image nearest-upsampled: constant on blocks of 32 / r pixels
    f = 32 // G.growth_resolutions[level - 1]
    assert torch.equal(previous, to_resolution(previous[..., ::f, ::f], 32))


@pytest.mark.parametrize("level", [1, 2, 3])
def test_generator_fade_in_alpha_1_is_the_new_block_alone(level):
    G, _ = _nets()
    z = torch.randn(6, 16)
    G.set_growth(level, 1.0)
    new = G(z)
    # the previous toRGB plays no part at α = 1 ...
    with torch.no_grad():
        G.to_rgb[level - 1].weight.add_(1.0)
    assert torch.equal(G(z), new)
    # ... but does at α < 1, where the output is the blend (1 − α)·old + α·new
    G.set_growth(level, 0.0)
    old = G(z)
    assert not torch.allclose(old, new)
    G.set_growth(level, 0.25)
    assert torch.allclose(G(z), 0.75 * old + 0.25 * new, atol=1e-5)
    # the new block's image is at the new resolution: constant on blocks of 32 / r pixels only
    f = 32 // G.growth_resolutions[level]
    assert torch.equal(new, to_resolution(new[..., ::f, ::f], 32))


@pytest.mark.parametrize("level", [1, 2, 3])
def test_discriminator_fade_in(level):
    _, D = _nets()
    x = torch.randn(8, 1, 32, 32)
    D.set_growth(level - 1, 1.0)
    previous = D(x)
    D.set_growth(level, 0.0)
    assert torch.allclose(D(x), previous, atol=1e-5)  # α = 0: the previous resolution's D
    D.set_growth(level, 1.0)
    new = D(x)
    with torch.no_grad():
        D.from_rgb[level - 1].weight.add_(1.0)
    assert torch.equal(D(x), new)  # α = 1: the previous fromRGB plays no part
    assert not torch.allclose(new, previous)


def test_discriminator_sees_the_current_resolution_only():
    _, D = _nets()
    D.set_growth(1, 1.0)  # 8×8
    x = torch.randn(8, 1, 32, 32)
    detail = x - to_resolution(to_resolution(x, 8), 32)  # zero mean over every 4×4 block
    assert torch.allclose(D(x + detail), D(x), atol=1e-5)


def test_growth_state_is_checked():
    G, _ = _nets()
    assert grows(G) and G.growth_resolutions == (4, 8, 16, 32)
    assert (G.level, G.alpha) == (3, 1.0)  # built fully grown (what loaders of a finished run need)
    with pytest.raises(ValueError, match="level 4 outside"):
        G.set_growth(4, 1.0)
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\]"):
        G.set_growth(2, 1.5)


def test_generator_output_is_clipped_in_eval_mode_only():
    G, _ = _nets()
    with torch.no_grad():
        G.to_rgb[-1].bias.fill_(5.0)
        z = torch.randn(4, 16)
        assert G(z).max() > 1.5  # linear output while training (the paper)
        G.eval()
        assert G(z).max() <= 1.0 and G(z).min() >= -1.0


def test_channel_plan_is_the_papers():
    assert channel_plan(1024) == {
        4: 512, 8: 512, 16: 512, 32: 512, 64: 256, 128: 128, 256: 64, 512: 32, 1024: 16
    }  # fmt: skip
    assert channel_plan(32, ch=16) == {4: 16, 8: 16, 16: 16, 32: 16}
    with pytest.raises(ValueError, match="no 28×28 architecture"):
        channel_plan(28)


@pytest.mark.parametrize("conditioning", ["acgan", "projection"])
def test_conditional_networks(conditioning):
    G, D = _nets(conditioning, 10)
    z, y = torch.randn(4, 16), torch.tensor([0, 3, 3, 9])
    G.set_growth(2, 0.5), D.set_growth(2, 0.5)
    out = D(G(z, y), y, return_aux=True)
    assert out.logits.shape == (4,)
    assert (out.class_logits is not None) == (conditioning == "acgan")
    # the label changes the image (one-hot concatenated to z)
    assert not torch.allclose(G(z, y), G(z, torch.tensor([1, 1, 1, 1])))
    with pytest.raises(ValueError, match="class-conditional"):
        G(z)


# --- the schedule ------------------------------------------------------------------------------


def _cfg(**train) -> RunConfig:
    growing = {"resolutions": [4, 8, 16, 32], "fade_images": 100, "stabilise_images": 200}
    growing.update(train.pop("growing", {}))
    d = {
        "data": {"name": "fashion-mnist", "resolution": 32},
        "model": {"name": "progan", "z_dim": 8, "g": {"ch": 8}, "d": {"ch": 8}},
        "objective": {"loss": "wasserstein", "lipschitz": "gp"},
        "train": {"steps": 100, "batch_size": 10, "growing": growing, **train},
        "eval": {"metrics": ["fid"]},
    }
    return config_from_dict(d, "test")


def test_schedule_values():
    s = Schedule(_cfg(n_critic=2))  # 20 real images per generator step
    # 4×4: 200 images = 10 steps; 8, 16: 300 images = 15 steps each; 32 from step 40
    assert [p.start_step for p in s.phases] == [0, 10, 25, 40]
    assert [p.start_images for p in s.phases] == [0, 200, 500, 800]
    assert [p.fade_steps for p in s.phases] == [0, 5, 5, 5]  # 100 images / 20 per step
    expected = {
        0: (4, 1.0, 0),
        9: (4, 1.0, 180),
        10: (8, 0.0, 200),  # the first step of a phase trains at α = 0
        12: (8, 0.4, 240),
        15: (8, 1.0, 300),  # 100 images shown: faded in
        24: (8, 1.0, 480),
        25: (16, 0.0, 500),
        42: (32, 0.4, 840),
        99: (32, 1.0, 1980),
    }
    for step, (res, alpha, images) in expected.items():
        state = s.at(step)
        assert (state.resolution, state.alpha, state.images_seen) == (res, pytest.approx(alpha), images), step
        assert state.batch_size == 10
    assert s.images_seen(100) == 2000
    # an evaluation after `done` steps reports the state the last step trained in
    assert s.evaluated_state(10).resolution == 4 and s.evaluated_state(11).resolution == 8
    # the step trained at α = 1 first is step 45 (5 fade steps from 40): evaluated after 46 steps
    assert [s.fully_grown(d) for d in (0, 45, 46, 47)] == [False, False, True, True]


def test_schedule_phase_overshoots_by_less_than_a_step():
    s = Schedule(_cfg(growing={"stabilise_images": 205, "fade_images": 105}))  # batch 10
    # 205 images → 21 steps (210 images), 310 → 31; α counts from where a phase really started
    assert [p.start_step for p in s.phases] == [0, 21, 52, 83]
    assert s.phases[1].start_images == 210 and s.phases[1].fade_steps == 11
    assert s.at(21 + 11).alpha == 1.0 and s.at(21 + 10).alpha < 1.0


class _FakeData:
    def __init__(self):
        self.calls = []

    def stream(self, batch_size, seed, start):
        self.calls.append((batch_size, seed, start))
        return iter(())


def test_batch_size_per_resolution_and_data_segments():
    cfg = _cfg(steps=200, growing={"batch_sizes": [20, 20, 10, 5]})
    s = Schedule(cfg)
    assert [p.batch_size for p in s.phases] == [20, 20, 10, 5]
    # 4×4: 200/20 = 10 steps; 8×8: 300/20 = 15; 16×16: 300/10 = 30
    assert [p.start_step for p in s.phases] == [0, 10, 25, 55]
    assert [(p.segment, p.segment_start) for p in s.phases] == [(0, 0), (0, 0), (1, 25), (2, 55)]
    assert s.at(30).images_seen == 200 + 300 + 5 * 10
    assert [s.starts_segment(k) for k in (0, 10, 25, 55, 56)] == [False, False, True, True, False]
    data = _FakeData()
    s.stream(data, 3, 12)  # segment 0: the plain stream of the run's seed, batches counted from 0
    s.stream(data, 3, 30)  # segment 1: its own seed, positions counted from its first step
    s.stream(data, 3, 55)
    (b0, seed0, start0), (b1, seed1, start1), (b2, seed2, _) = data.calls
    assert (b0, seed0, start0) == (20, 3, 12) and (b1, start1) == (10, 5)
    assert len({seed0, seed1, seed2}) == 3 and b2 == 5


def test_schedule_without_growing_is_one_phase():
    d = {"train": {"steps": 50, "batch_size": 7, "n_critic": 3}}
    cfg = config_from_dict(d, "test")
    s = Schedule(cfg)
    assert not s.grows and s.images_seen(50) == 50 * 7 * 3 and s.at(10).resolution is None
    assert s.fully_grown(0) and s.fully_grown(50)
    data = _FakeData()
    s.stream(data, 0, 10)
    assert data.calls == [(7, 0, 30)]  # as the trainer always opened it: start in batches
    # the run id of a config without growing does not change: the key is dropped from the hash
    assert "growing" not in _canon(cfg.canonical())["train"]


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "train,message",
    [
        ({"growing": {"resolutions": [4, 8, 16]}}, r"ends at 16, but the data is 32×32"),
        ({"growing": {"resolutions": [32]}}, "at least two resolutions"),
        ({"growing": {"resolutions": [4, 8, 32]}}, "double at each step"),
        ({"growing": {"resolutions": [3, 6, 12, 24, 32]}}, "power of two >= 4"),
        ({"growing": {"stabilise_images": 0}}, r"stabilise_images must be > 0 images, got 0"),
        ({"growing": {"fade_images": 0}}, r"fade_images must be > 0 images"),
        ({"growing": {"batch_sizes": [10, 10]}}, "one batch size > 0 per resolution"),
        ({"growing": {"batch_sizes": [10, 10, 0, 10]}}, "one batch size > 0 per resolution"),
        # 4: 20 steps, 8, 16: 30 each, so 32×32 starts at 80 and is faded in at step 90
        ({"steps": 90}, r"fade-in of the last resolution \(32×32\) is longer than its phase: it starts "
         r"at step 80 and ends at step 90 .* train.steps is 90; raise train.steps above 90"),
    ],
)  # fmt: skip
def test_schedule_validation(train, message):
    with pytest.raises(ConfigError, match=message) as e:
        _cfg(**train)
    assert "test: train.growing" in str(e.value)


def test_growing_a_family_that_does_not_grow_is_refused():
    d = {
        "data": {"name": "fashion-mnist", "resolution": 32},
        "model": {"name": "dcgan"},
        "train": {"growing": {"resolutions": [16, 32]}},
        "eval": {"metrics": ["fid"]},
    }
    with pytest.raises(
        ConfigError, match=r"the 'dcgan' family's networks do not grow.*families that do: .*progan"
    ):
        config_from_dict(d, "test")


def test_the_native_resolution_counts_when_data_resolution_is_unset():
    with pytest.raises(ConfigError, match=r"the data is 28×28"):
        d = copy.deepcopy(_cfg().to_dict())
        d["data"]["resolution"] = None
        d.pop("runtime")
        config_from_dict(d, "test")


def test_progan_combinations():
    base = _cfg().to_dict()
    base.pop("runtime")

    def cfg(**sets):
        d = copy.deepcopy(base)
        for key, value in sets.items():
            section, name = key.split("__")
            d[section][name] = value
        return config_from_dict(d, "test")

    with pytest.raises(ConfigError, match="does not support 'concat': concat feeds one-hot maps"):
        cfg(model__conditioning="concat")
    with pytest.raises(
        ConfigError, match="equalized_lr: true cannot be combined with objective.lipschitz 'sn'"
    ):
        cfg(objective__lipschitz="sn", model__d={"ch": 8, "equalized_lr": True})
    # sn alone: D gets plain He-initialised layers, every one spectrally normalised
    c = cfg(objective__lipschitz="sn")
    assert ProGAN.d_kwargs(c)["equalized_lr"] is False
    assert ProGAN.d_kwargs(cfg())["equalized_lr"] is True
    D = SpectralNormalization().prepare(ProGANDiscriminator(32, 1, **ProGAN.d_kwargs(c)))
    convs = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)]
    assert convs and all(has_spectral_norm(m) for m in convs)
    for loss in ("nonsaturating", "hinge", "lsgan", "minimax"):
        for lip in ("none", "r1", "gp", "clip"):
            cfg(objective__loss=loss, objective__lipschitz=lip)


# --- Adam and the blocks not trained yet -------------------------------------------------------


def test_adam_leaves_blocks_without_gradients_untouched():
    G, D = _nets()
    G.set_growth(1, 0.5)  # 8×8 fading in: 16 and 32 unused, toRGB of 4 and 8 both used
    opt = torch.optim.Adam(G.parameters(), lr=1e-2, betas=(0.0, 0.99))
    unused = {id(p) for m in (G.blocks[1], G.blocks[2], G.to_rgb[2], G.to_rgb[3]) for p in m.parameters()}
    before = {id(p): p.detach().clone() for p in G.parameters()}
    for _ in range(3):
        opt.zero_grad(set_to_none=True)
        D(G(torch.randn(4, 16))).mean().backward()
        opt.step()
    for p in G.parameters():
        if id(p) in unused:
            assert p.grad is None and p not in opt.state  # no moments, no step count
            assert torch.equal(p, before[id(p)])
        else:
            assert opt.state[p]["step"] == 3 and not torch.equal(p, before[id(p)])


# --- ε-drift -----------------------------------------------------------------------------------


def test_drift_term():
    logits = torch.tensor([1.0, -2.0, 3.0])
    ctx = StepContext(None, None, None, None, None, DOutput(logits), DOutput(logits * 0), 0)
    assert Drift().d_term(ctx).item() == pytest.approx(0.001 * (1 + 4 + 9) / 3)
    assert Drift(epsilon=0.01).g_term(ctx) is None
    with pytest.raises(ConfigError, match="epsilon must be >= 0"):
        Drift(epsilon=-1.0)
    assert math.isclose(Drift().epsilon, 0.001)


def test_real_images_fade_in_like_the_generator():
    s = Schedule(_cfg())  # batch 10: 4×4 for 20 steps, 8×8 from step 20, fading in over 10 steps
    growth = Growth(s, [])
    real = torch.randn(4, 1, 32, 32)
    growth.apply(s.at(5))
    assert growth.blend_reals(real) is real  # the first phase: nothing to fade
    growth.apply(s.at(20))  # α = 0: the previous resolution (4×4), upsampled
    assert torch.allclose(growth.blend_reals(real), to_resolution(to_resolution(real, 4), 32), atol=1e-6)
    growth.apply(s.at(25))  # α = 0.5
    at8, at4 = to_resolution(real, 8), to_resolution(to_resolution(real, 4), 8)
    blended = growth.blend_reals(real)
    assert torch.allclose(to_resolution(blended, 8), 0.5 * at4 + 0.5 * at8, atol=1e-6)
    growth.apply(s.at(30))  # α = 1: the images as they are (D pools them to 8×8 itself)
    assert growth.blend_reals(real) is real


# --- recipes -----------------------------------------------------------------------------------

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
PROGAN_RECIPES = ["fmnist/progan.yaml", "cifar10/progan.yaml", "celeba/progan.yaml", "celeba/progan-64.yaml"]


@pytest.mark.parametrize("name", PROGAN_RECIPES)
def test_progan_recipes_carry_the_papers_settings(name):
    path = RECIPES / name
    cfg = load_config(path)
    header = "".join(line for line in path.read_text().splitlines(keepends=True) if line.startswith("#"))
    base_header = (RECIPES / "fmnist" / "progan.yaml").read_text() if "base:" in path.read_text() else ""
    assert "Karras" in header + base_header and "2018" in header + base_header and "§" in header + base_header
    assert (cfg.optim.lr_g, cfg.optim.lr_d, tuple(cfg.optim.betas)) == (1e-3, 1e-3, (0.0, 0.99))
    assert (cfg.objective.loss, cfg.objective.lipschitz) == ("wasserstein", "gp")
    assert cfg.objective.lipschitz_params == {"weight": 10.0}
    assert cfg.objective.techniques == {"drift": {"epsilon": 0.001}}
    assert cfg.train.n_critic == 1 and cfg.train.ema_decay == 0.999 and cfg.eval.use_ema
    assert cfg.model.d["minibatch_std_group"] == 4
    g = cfg.train.growing
    assert g.resolutions[0] == 4 and g.resolutions[-1] == cfg.data.resolution
    assert g.fade_images == g.stabilise_images == 800_000
    assert cfg.model.g["ch"] == cfg.model.d["ch"] == 512 and cfg.model.z_dim == 512


def test_the_cpu_recipe_states_its_departures_from_the_paper():
    path = RECIPES / "fmnist" / "progan-cpu.yaml"
    cfg, text = load_config(path), path.read_text()
    assert (cfg.optim.lr_g, tuple(cfg.optim.betas)) == (1e-3, (0.0, 0.99))  # the paper's optimiser
    assert cfg.train.growing.resolutions == [4, 8, 16, 32]
    assert (cfg.objective.loss, cfg.objective.lipschitz, cfg.train.ema_decay) == ("nonsaturating", "r1", 0.99)
    assert "instead of WGAN-GP + drift" in text and "instead of 0.999" in text  # and says why
