"""Pix2Pix and CycleGAN networks and terms: shapes, the PatchGAN's receptive field, the image pool,
the reconstruction terms on inputs with known values, the schedule."""

from __future__ import annotations

import pytest
import torch

from ganbench.models.translators import (
    PatchDiscriminator,
    ResnetGenerator,
    UNetGenerator,
    receptive_field,
)
from ganbench.objectives.translation import (
    CycleConsistency,
    IdentityMapping,
    ImagePool,
    L1Reconstruction,
    TranslationStep,
)
from ganbench.training.optim import linear_decay


@pytest.mark.parametrize("res", [32, 64, 256])
def test_the_unet_maps_images_to_images_of_the_same_size(res: int) -> None:
    G = UNetGenerator(res, 3, 1, ngf=4)
    out = G(torch.randn(2, 3, res, res))
    assert out.shape == (2, 1, res, res) and out.abs().max() <= 1
    assert G.num_downs == res.bit_length() - 1  # down to a 1×1 bottleneck


def test_unet_skip_connections_carry_the_input_through() -> None:
    # with every inner level's output zeroed the outermost up-convolution still sees the first
    # down-convolution's features: the skip concatenation, not the bottleneck, carries the input
    G = UNetGenerator(32, 1, 1, ngf=4, dropout=0.0)
    G.eval()
    x = torch.randn(1, 1, 32, 32)
    x2 = x.clone()
    x2[..., :4, :4] += 5.0  # a local change of the input
    diff = (G(x) - G(x2)).abs()[0, 0]
    assert diff[:4, :4].mean() > 10 * diff[16:, 16:].mean()  # stays local: skips, not only the 1×1 code


def test_pix2pix_keeps_dropout_at_test_time_unless_told_not_to() -> None:
    x = torch.randn(2, 1, 32, 32)
    noisy = UNetGenerator(32, 1, 1, ngf=4).eval()
    assert not torch.equal(noisy(x), noisy(x))
    plain = UNetGenerator(32, 1, 1, ngf=4, test_dropout=False).eval()
    assert torch.equal(plain(x), plain(x))


def test_the_resnet_generator_keeps_the_size() -> None:
    G = ResnetGenerator(32, 1, 3, ngf=4, n_blocks=2)
    assert G(torch.randn(2, 1, 32, 32)).shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match="multiple of 4"):
        ResnetGenerator(30, 1, 1)


@pytest.mark.parametrize("rf, side", [(1, 256), (16, 126), (70, 30), (286, 6)])
def test_patchgan_receptive_field_is_the_configured_one(rf: int, side: int) -> None:
    D = PatchDiscriminator(256, 3, 3, ndf=4, receptive_field=rf)
    assert receptive_field(D) == rf  # computed from the layers
    out = D(torch.randn(1, 3, 256, 256), torch.randn(1, 3, 256, 256))
    assert out.shape == (1, side, side)  # the pix2pix paper's 30×30 map of 70×70 patches


def test_a_patch_output_depends_only_on_its_receptive_field() -> None:
    D = PatchDiscriminator(128, 1, ndf=4, receptive_field=16, norm="none")
    x = torch.randn(1, 1, 128, 128)
    y = x.clone()
    y[..., 100:, 100:] = 0.0  # change the bottom-right corner only
    changed = (D(x) - D(y)).abs()[0] > 0
    assert changed.any() and not changed[:20, :20].any()  # the top-left patches do not see it


def test_conditional_patchgan_needs_its_condition() -> None:
    D = PatchDiscriminator(32, 1, 1, ndf=4, receptive_field=16)
    with pytest.raises(ValueError, match="pass the input image as cond"):
        D(torch.randn(2, 1, 32, 32))


def test_patchgan_too_deep_for_the_image_is_refused() -> None:
    with pytest.raises(ValueError, match="images are too small"):
        PatchDiscriminator.plan(32, receptive_field=286)
    with pytest.raises(ValueError, match="valid choices: 1, 16, 70, 286"):
        PatchDiscriminator.plan(32, receptive_field=34)


def test_the_image_pool_stores_then_swaps_half_the_time() -> None:
    pool = ImagePool(size=4, seed=0)
    first = torch.arange(4.0).reshape(4, 1, 1, 1)
    assert torch.equal(pool.query(first), first)  # not full: returned as they are, stored
    returned_old = 0
    for i in range(200):
        new = torch.full((1, 1, 1, 1), 100.0 + i)
        out = pool.query(new)
        returned_old += int(out.item() != new.item())
    assert 70 < returned_old < 130  # about half the queries return a stored image (p = 0.5)
    assert len(pool.images) == 4


def test_the_image_pool_resumes_its_draws() -> None:
    a = ImagePool(size=3, seed=1)
    for i in range(5):
        a.query(torch.full((2, 1, 2, 2), float(i)))
    b = ImagePool(size=3, seed=99)
    b.load_state_dict(a.state_dict())
    x = torch.full((4, 1, 2, 2), 9.0)
    assert torch.equal(a.query(x), b.query(x.clone()))
    assert torch.equal(ImagePool(0).query(x), x)


def test_the_reconstruction_terms_on_known_values() -> None:
    a, b = torch.zeros(2, 1, 2, 2), torch.ones(2, 1, 2, 2)
    s = TranslationStep(
        a=a, b=b, fake_b=torch.full_like(b, 0.5),
        rec_a=torch.full_like(a, 0.25), rec_b=torch.full_like(b, 0.5),
        same_b=torch.full_like(b, 0.9), same_a=torch.full_like(a, 0.1),
    )  # fmt: skip
    assert L1Reconstruction(100.0).g_term(s).item() == pytest.approx(100 * 0.5)
    assert CycleConsistency(10.0).g_term(s).item() == pytest.approx(10 * (0.25 + 0.5))
    assert IdentityMapping(0.5, cycle_weight=10.0).g_term(s).item() == pytest.approx(0.5 * 10 * (0.1 + 0.1))


def test_linear_decay_is_constant_then_falls_to_zero() -> None:
    f = linear_decay(total_steps=100, decay_steps=40)
    assert [f(0), f(59), f(60), f(80), f(100)] == pytest.approx([1.0, 1.0, 1.0, 0.5, 0.0])
    assert linear_decay(100, 0)(99) == 1.0
