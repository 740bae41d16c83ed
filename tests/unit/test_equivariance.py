"""EQ-T / EQ-T frac / EQ-R (evaluation/equivariance.py) on toy maps whose equivariance is known, and
on a small random StyleGAN3 generator."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganbench.errors import ConfigError
from ganbench.evaluation.equivariance import (
    equivariance_evaluation,
    equivariance_metrics,
    fractional_translation,
    integer_translation,
    psnr,
)
from ganbench.evaluation.metric import output_info
from ganbench.models.stylegan3 import StyleGAN3Generator

RES = 16


class CircularToy(nn.Module):
    """A random image per latent, moved by whole pixels by the transform and filtered by a conv with
    circular padding: exactly equivariant to integer shifts away from the wrapped border. With
    ``pattern`` a fixed positional pattern is added after the conv, which does not move."""

    def __init__(self, pattern: bool = False) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.z_dim, self.resolution = 4, RES
        self.lift = nn.Linear(4, RES * RES)
        self.conv = nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular")
        xs = torch.arange(RES, dtype=torch.float32)
        self.pattern = 0.5 * torch.sin(2 * math.pi * 3 * xs / RES)[None, None, None, :] if pattern else None

    def map_latents(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.lift(z).reshape(-1, 1, RES, RES)

    def synthesize_transformed(self, ws: torch.Tensor, transform: torch.Tensor) -> torch.Tensor:
        ix, iy = round(float(-transform[0, 2]) * RES), round(float(-transform[1, 2]) * RES)
        x = torch.tanh(self.conv(torch.roll(ws, (iy, ix), dims=(2, 3))))
        return x + self.pattern if self.pattern is not None else x


def test_psnr_peak_two_and_inf():
    assert psnr(4.0 * 10, 10) == pytest.approx(0.0)  # MSE = peak²: 0 dB
    assert psnr(0.04 * 5, 5) == pytest.approx(20.0)  # MSE = peak²/100
    assert psnr(0.0, 5) == math.inf


def test_integer_translation_moves_pixels_and_masks_what_left():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    z, m = integer_translation(x, 0.25, 0.0)  # one pixel right
    torch.testing.assert_close(z[0, 0, :, 1:], x[0, 0, :, :3])
    assert m[0, 0, :, 0].sum() == 0 and m.sum() == 12


def test_fractional_translation_by_whole_pixels_equals_the_integer_one():
    x = torch.randn(1, 2, 16, 16)
    z, m = fractional_translation(x, 2 / 16, -1 / 16)
    zi, _ = integer_translation(x, 2 / 16, -1 / 16)
    assert m.sum() > 0
    torch.testing.assert_close(z * m, zi * m, atol=1e-5, rtol=0)


def test_eq_t_of_an_equivariant_map_is_inf_and_of_a_positional_one_low():
    good = equivariance_metrics(CircularToy(), 8, ["eq_t"], batch_size=2, seed=1, translate_max=0.5)
    bad = equivariance_metrics(
        CircularToy(pattern=True), 8, ["eq_t"], batch_size=2, seed=1, translate_max=0.5
    )
    assert good["eq_t"] == math.inf or good["eq_t"] > 80
    assert bad["eq_t"] < 15


def test_small_stylegan3_gives_finite_scores_and_a_record(tmp_path):
    torch.manual_seed(0)
    G = StyleGAN3Generator(8, 16, 1, w_dim=16, channel_base=256, channel_max=16, num_layers=3, margin_size=2)
    out = equivariance_evaluation(G, SimpleNamespace(seed=3), tmp_path, samples=4, batch_size=2)
    assert set(out) == {"eq_t", "eq_t_frac", "eq_r"}
    assert all(math.isfinite(v) and 0 < v < 200 for v in out.values()), out
    saved = json.loads((tmp_path / "eq_eval.json").read_text())
    assert saved["metrics"] == pytest.approx(out) and saved["settings"]["samples"] == 4
    assert G.training  # the mode is restored
    assert equivariance_evaluation(G, SimpleNamespace(seed=3), tmp_path, samples=0) == {}
    assert output_info("eq_r").better == "higher"


def test_a_generator_without_a_transformable_input_is_refused():
    class Plain(nn.Module):
        z_dim = 4

        def forward(self, z):
            return F.tanh(z)

    with pytest.raises(ConfigError, match="lacks map_latents, synthesize_transformed, resolution"):
        equivariance_metrics(Plain(), 2)
    with pytest.raises(ValueError, match="valid choices: eq_t, eq_t_frac, eq_r"):
        equivariance_metrics(CircularToy(), 2, ["eq_z"])
