"""Lipschitz methods: GP of a linear critic in closed form, SN's top singular value, clipping."""

import pytest
import torch
from torch import nn

from ganbench.objectives.lipschitz import (
    GradientPenalty,
    R1Penalty,
    SpectralNormalization,
    WeightClipping,
    estimate_lipschitz,
    has_spectral_norm,
)


class Linear(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w))

    def forward(self, x, y=None):
        return x @ self.w


def test_gp_of_linear_critic_is_closed_form():
    # D(x) = w·x has gradient w everywhere: GP = λ (‖w‖ − 1)², whatever the interpolation.
    D = Linear([3.0, 4.0])
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    gp = GradientPenalty(weight=10.0).penalty(D, real, fake)
    assert gp.item() == pytest.approx(10.0 * (5.0 - 1.0) ** 2, rel=1e-6)
    # one-sided: norms below the center are not penalised
    small = Linear([0.3, 0.4])
    assert GradientPenalty(weight=10.0, one_sided=True).penalty(small, real, fake).item() == 0.0
    assert GradientPenalty(weight=10.0).penalty(small, real, fake).item() == pytest.approx(
        10 * 0.25, rel=1e-5
    )


def test_gp_gradient_flows_to_critic_parameters():
    D = Linear([3.0, 4.0])
    GradientPenalty(weight=1.0).penalty(D, torch.randn(8, 2), torch.randn(8, 2)).backward()
    # d/dw (‖w‖−1)² = 2(‖w‖−1) w/‖w‖ = 2·4·(0.6, 0.8)
    assert torch.allclose(D.w.grad, torch.tensor([4.8, 6.4]), rtol=1e-5)


def test_r1_of_linear_critic():
    D = Linear([3.0, 4.0])
    assert R1Penalty(gamma=2.0).penalty(D, torch.randn(8, 2), None).item() == pytest.approx(25.0, rel=1e-6)


def test_spectral_norm_bounds_top_singular_value():
    torch.manual_seed(0)
    D = nn.Sequential(nn.Linear(5, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
    with torch.no_grad():
        for m in D:
            if isinstance(m, nn.Linear):
                m.weight.mul_(5)
    SpectralNormalization().prepare(D)
    D.train()
    for _ in range(50):  # power iterations run in training-mode forwards
        D(torch.randn(4, 5))
    for m in D:
        if isinstance(m, nn.Linear):
            assert has_spectral_norm(m)
            sigma = torch.linalg.matrix_norm(m.weight.detach(), ord=2).item()
            assert sigma == pytest.approx(1.0, abs=1e-3)


def test_spectral_norm_skips_layers_already_normalised():
    layer = nn.utils.parametrizations.spectral_norm(nn.Linear(3, 3))
    D = nn.Sequential(layer)
    SpectralNormalization().prepare(D)
    assert len(layer.parametrizations["weight"]) == 1


def test_weight_clipping_bounds_every_parameter():
    D = nn.Sequential(nn.Linear(2, 8), nn.Linear(8, 1))
    with torch.no_grad():
        for p in D.parameters():
            p.normal_(0, 1)
    WeightClipping(c=0.01).after_d_step(D)
    assert all(p.abs().max().item() <= 0.01 for p in D.parameters())


def test_lipschitz_estimate_of_linear_critic():
    est = estimate_lipschitz(Linear([3.0, 4.0]), torch.randn(8, 2), torch.randn(8, 2))
    assert est["lipschitz_max"] == pytest.approx(5.0, rel=1e-6)
    assert set(est) == {"lipschitz_real", "lipschitz_fake", "lipschitz_interp", "lipschitz_max"}
