"""Discriminator augmentation (objectives/augment.py): DiffAugment's ops, ADA's pipeline and its
adaptive p, validation."""

from __future__ import annotations

import pytest
import torch

from ganbench.config import DataConfig, ModelConfig, ObjectiveConfig, RunConfig, TrainConfig
from ganbench.errors import ConfigError
from ganbench.models.base import DOutput
from ganbench.objectives.augment import Ada, AdaPipeline, DiffAugment, diff_augment, parse_policy
from ganbench.objectives.objective import StepContext
from ganbench.registries import load_all

load_all()


def _images(n: int = 8, c: int = 3, size: int = 28, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, c, size, size, generator=g) * 2 - 1


# --- DiffAugment -------------------------------------------------------------------------------


def test_diffaugment_empty_policy_is_the_identity() -> None:
    x = _images()
    out, y = DiffAugment(policy="").d_input(x, None)
    assert out is x and y is None


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
def test_each_diffaugment_op_keeps_the_shape_and_changes_the_images(policy: str) -> None:
    torch.manual_seed(0)
    x = _images()
    out = diff_augment(x, parse_policy(policy))
    assert out.shape == x.shape
    changed = (out - x).abs().flatten(1).amax(dim=1) > 1e-6
    assert int(changed.sum()) >= 6, changed  # nearly every sample (a zero shift is possible)


def test_translation_shifts_by_at_most_an_eighth_with_zero_padding() -> None:
    torch.manual_seed(1)
    out = diff_augment(torch.ones(64, 1, 28, 28), ("translation",))
    for img in out[:, 0]:
        rows, cols = int((img.sum(dim=1) > 0).sum()), int((img.sum(dim=0) > 0).sum())
        # what is left of the image is one rectangle of ones, the rest zeros
        assert int(img.sum()) == rows * cols
        assert 28 - 4 <= rows <= 28 and 28 - 4 <= cols <= 28  # int(28 / 8 + 0.5) = 4
    assert int((out == 0).flatten(1).any(dim=1).sum()) > 32  # most samples did move


def test_cutout_zeroes_at_most_a_half_size_square() -> None:
    torch.manual_seed(2)
    out = diff_augment(torch.ones(64, 1, 28, 28), ("cutout",))
    zeros = (out[:, 0] == 0).flatten(1).sum(dim=1)
    assert int(zeros.max()) == 14 * 14  # a square fully inside the image
    assert int(zeros.min()) > 0
    assert bool((zeros <= 14 * 14).all())


def test_colour_ranges_follow_the_reference() -> None:
    torch.manual_seed(3)
    x = torch.zeros(256, 1, 4, 4)
    shift = diff_augment(x, ("color",))[:, 0, 0, 0]  # brightness alone acts on a constant image
    assert -0.5 <= float(shift.min()) < -0.4 and 0.4 < float(shift.max()) <= 0.5


def test_diffaugment_is_differentiable() -> None:
    torch.manual_seed(4)
    x = _images().requires_grad_(True)
    diff_augment(x, parse_policy("color,translation,cutout")).square().sum().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0


def test_unknown_policy_names_the_choices() -> None:
    with pytest.raises(
        ConfigError, match=r"policy: unknown op 'flip'; valid choices: color, translation, cutout"
    ):
        parse_policy("color,flip")


# --- ADA pipeline ------------------------------------------------------------------------------


def test_ada_at_p0_is_the_identity() -> None:
    x = _images()
    out, _ = Ada(p=0.0, adaptive=False).d_input(x, None)
    assert torch.equal(out, x)


def _pipeline(*ops: str) -> AdaPipeline:
    pipe = AdaPipeline("bgc")
    pipe.ops = ops
    return pipe


def test_xflip_and_rotate90_are_exact_flips_and_rotations() -> None:
    torch.manual_seed(5)
    x = _images(n=32, c=1, size=8)
    flipped = _pipeline("xflip")(x, 0.99)
    for a, b in zip(x, flipped, strict=True):
        assert torch.allclose(b, a, atol=1e-5) or torch.allclose(b, a.flip(-1), atol=1e-5)
    rotated = _pipeline("rotate90")(x, 0.99)
    seen = set()
    for a, b in zip(x, rotated, strict=True):
        ks = [k for k in range(4) if torch.allclose(b, torch.rot90(a, k, dims=(-2, -1)), atol=1e-5)]
        assert len(ks) == 1
        seen.add(ks[0])
    assert seen == {0, 1, 2, 3}


def test_integer_translation_moves_pixels_without_interpolation() -> None:
    torch.manual_seed(6)
    x = torch.arange(4 * 16 * 16, dtype=torch.float32).view(4, 1, 16, 16)
    out = _pipeline("xint")(x, 0.99)
    assert torch.allclose(out, out.round(), atol=1e-3)  # every output pixel is an input pixel
    assert torch.isin(out.round(), x).all()
    assert not torch.equal(out.round(), x)


@pytest.mark.parametrize("channels", [1, 3])
def test_ada_bgc_is_differentiable_and_changes_images(channels: int) -> None:
    torch.manual_seed(7)
    x = _images(c=channels).requires_grad_(True)
    out = AdaPipeline("bgc")(x, 0.5)
    assert out.shape == x.shape
    assert float((out - x).detach().abs().max()) > 0.1
    out.square().sum().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0


def test_ada_applies_each_transform_with_probability_p() -> None:
    torch.manual_seed(8)
    x = _images(n=2000, c=1, size=4)
    p = 0.3
    out = _pipeline("xflip")(x, p)
    # a sample changes when the flip is on (p) and its draw says flip (1/2)
    moved = (out - x).abs().flatten(1).amax(dim=1) > 1e-5
    assert abs(float(moved.float().mean()) - p / 2) < 0.03


# --- ADA's adaptive p --------------------------------------------------------------------------


def _ctx(logits: torch.Tensor, batch: int) -> StepContext:
    x = torch.zeros(batch, 1, 4, 4)
    return StepContext(None, x, None, x, None, DOutput(logits=logits), DOutput(logits=-logits), 0)


def test_p_rises_when_d_overfits_and_falls_otherwise_at_the_formula_rate() -> None:
    ada = Ada(target=0.6, speed_kimg=1.0, interval=4)  # 1 000 images to go from 0 to 1
    batch = 16
    step = batch * 4 / 1000  # (batch · interval) / (speed_kimg · 1000)
    for k in range(1, 4):  # r_t = 1 > 0.6: D is confident on every real image
        for _ in range(4):
            ada.d_term(_ctx(torch.full((batch,), 3.0), batch))
        assert ada.p == pytest.approx(k * step)
        assert ada.logs() == {"ada_p": pytest.approx(k * step)}
    for _ in range(3):  # mid-interval: no update yet
        ada.d_term(_ctx(torch.full((batch,), 3.0), batch))
    assert ada.p == pytest.approx(3 * step)
    ada.d_term(_ctx(torch.cat([torch.full((8,), 1.0), torch.full((8,), -1.0)]), batch))
    assert ada.r_t == pytest.approx((3 * 16 + 8 - 8) / 64)  # 0.75 > target: one more rise
    assert ada.p == pytest.approx(4 * step)
    for _ in range(4 * 10):  # r_t = −1 < 0.6: falls, clamped at 0
        ada.d_term(_ctx(torch.full((batch,), -2.0), batch))
    assert ada.p == 0.0


def test_p_stays_below_one_and_fixed_p_does_not_move() -> None:
    ada = Ada(p=0.99, target=0.6, speed_kimg=0.001, interval=1)
    ada.d_term(_ctx(torch.ones(8), 8))
    assert 0.99 < ada.p < 1.0
    fixed = Ada(p=0.2, adaptive=False)
    for _ in range(8):
        fixed.d_term(_ctx(torch.ones(8), 8))
    assert fixed.p == 0.2


def test_state_dict_round_trip_mid_interval() -> None:
    a = Ada(target=0.6, speed_kimg=1.0, interval=4)
    for _ in range(6):
        a.d_term(_ctx(torch.ones(8), 8))
    b = Ada(target=0.6, speed_kimg=1.0, interval=4)
    b.load_state_dict(a.state_dict())
    assert b.state_dict() == a.state_dict()
    for _ in range(2):
        a.d_term(_ctx(torch.ones(8), 8))
        b.d_term(_ctx(torch.ones(8), 8))
    assert a.p == b.p == pytest.approx(2 * 32 / 1000)


# --- validation --------------------------------------------------------------------------------


def _cfg(data: str = "fashion-mnist", **techniques) -> RunConfig:
    return RunConfig(
        seed=0,
        data=DataConfig(name=data, split="test" if data == "fashion-mnist" else "train"),
        model=ModelConfig(name="dcgan" if data == "fashion-mnist" else "mlp", z_dim=8),
        objective=ObjectiveConfig(loss="nonsaturating", lipschitz="none", techniques=techniques),
        train=TrainConfig(steps=2, batch_size=8, checkpoint_every=0),
    )


def test_valid_configs_pass() -> None:
    _cfg(ada={"target": 0.6}).validate("t")
    _cfg(diffaugment={"policy": "translation,cutout"}).validate("t")


@pytest.mark.parametrize(
    "techniques,message",
    [
        ({"ada": {"p": 1.0}}, r"ada\.p must be in \[0, 1\), got 1\.0"),
        ({"ada": {"p": -0.1}}, r"ada\.p must be in \[0, 1\)"),
        ({"ada": {"target": 0.0}}, r"ada\.target must be in \(0, 1\)"),
        ({"ada": {"target": 1.2}}, r"ada\.target must be in \(0, 1\)"),
        ({"ada": {"sets": "bgx"}}, r"ada\.sets must be letters from b, g, c"),
        ({"ada": {"interval": 0}}, r"ada\.interval must be an integer >= 1"),
        (
            {"diffaugment": {"policy": "colour"}},
            r"unknown op 'colour'; valid choices: color, translation, cutout",
        ),
        ({"ada": {}, "packing": {"m": 2}}, r"ada cannot be combined with objective\.techniques\.packing"),
        ({"diffaugment": {}, "packing": {"m": 2}}, r"diffaugment cannot be combined"),
    ],
)
def test_bad_configs_name_the_key_and_choices(techniques: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _cfg(**techniques).validate("t")


@pytest.mark.parametrize("technique", ["ada", "diffaugment"])
def test_points_data_is_refused(technique: str) -> None:
    with pytest.raises(
        ConfigError, match=rf"{technique}: augments images, but data\.name 'ring8' gives points"
    ):
        _cfg("ring8", **{technique: {}}).validate("t")
