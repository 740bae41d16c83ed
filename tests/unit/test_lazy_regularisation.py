"""Lazy regularisation (StyleGAN2 §3.1) and StyleGAN's EMA half-life: the shared machinery."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from ganbench.config import config_from_dict
from ganbench.errors import ConfigError
from ganbench.objectives.lipschitz import R1Penalty
from ganbench.objectives.losses import NonSaturating
from ganbench.objectives.objective import Objective
from ganbench.training.ema import ema_beta, make_ema
from ganbench.training.optim import make_optimiser


def _adam(interval: int) -> torch.optim.Adam:
    o = SimpleNamespace(name="adam", betas=(0.0, 0.99), weight_decay=0.0)
    return make_optimiser(o, [nn.Parameter(torch.zeros(1))], 0.0025, interval)


def test_adam_is_rescaled_for_the_lazy_interval() -> None:
    group = _adam(16).param_groups[0]
    c = 16 / 17  # StyleGAN2's mb_ratio for R1 every 16 steps
    assert group["lr"] == pytest.approx(0.0025 * c)
    assert group["betas"] == pytest.approx((0.0, 0.99**c))
    assert _adam(1).param_groups[0]["lr"] == 0.0025  # eager regularisation: unchanged


def test_lazy_r1_is_its_own_step_every_interval_with_interval_times_the_weight() -> None:
    D = nn.Sequential(nn.Flatten(), nn.Linear(4, 1))
    wrapped = lambda x, y=None: D(x).squeeze(1)  # noqa: E731 - D's (x, y) call convention
    real, fake = torch.randn(8, 1, 2, 2), torch.randn(8, 1, 2, 2)
    eager = Objective(NonSaturating(), R1Penalty(gamma=2.0))
    lazy = Objective(NonSaturating(), R1Penalty(gamma=2.0, interval=4))
    _, eager_logs = eager.d_loss(wrapped, real, None, fake, None, step=0)
    _, lazy_logs = lazy.d_loss(wrapped, real, None, fake, None, step=0)
    assert "d_penalty" in eager_logs and "d_penalty" not in lazy_logs  # out of the main loss
    assert eager.d_lazy_loss(wrapped, real, None, fake, None, 0) == (None, {})
    assert lazy.d_lazy_loss(wrapped, real, None, fake, None, 3)[0] is None
    reg, logs = lazy.d_lazy_loss(wrapped, real, None, fake, None, 8)
    # the R1 of a linear D is (γ/2)‖w‖² for every sample
    w = D[1].weight.detach()
    assert float(logs["d_penalty"]) == pytest.approx(float(w.square().sum()), rel=1e-5)
    assert float(reg.detach()) == pytest.approx(4 * float(logs["d_penalty"]), rel=1e-6)
    assert (lazy.d_interval, eager.d_interval) == (4, 1)


def test_r1_interval_must_be_a_positive_integer() -> None:
    with pytest.raises(ConfigError, match="interval must be an integer >= 1"):
        R1Penalty(interval=0)


def test_ema_half_life_and_rampup_follow_stylegan() -> None:
    # 10 kimg half-life at batch 32: β = 0.5^(32/10000); with ramp-up 0.05 after 3 200 images the
    # half-life is 160 images
    assert ema_beta(32, 10.0, None, 1e9) == pytest.approx(0.5 ** (32 / 10_000))
    assert ema_beta(32, 10.0, 0.05, 3200) == pytest.approx(0.5 ** (32 / 160))
    assert ema_beta(32, 10.0, 0.05, 1e9) == pytest.approx(0.5 ** (32 / 10_000))


def test_ema_kimg_averages_with_the_rampup_beta() -> None:
    G = nn.Linear(1, 1, bias=False)
    train = SimpleNamespace(ema_decay=None, ema_kimg=1.0, ema_rampup=0.5, batch_size=10)
    ema = make_ema(G, train)
    with torch.no_grad():
        G.weight.fill_(0.0)
    ema.update_parameters(G)  # first update: a copy of G
    with torch.no_grad():
        G.weight.fill_(1.0)
    ema.update_parameters(G)  # 10 images seen: half-life min(1000, 5) → β = 0.5^(10/5) = 0.25
    assert float(ema.module.weight) == pytest.approx(1 - 0.25)


def _cfg(**train: object) -> dict:
    return {"data": {"name": "ring8"}, "model": {"name": "mlp"}, "train": train}


def test_ema_config_errors_name_the_keys() -> None:
    with pytest.raises(ConfigError, match="ema_decay and train.ema_kimg both set"):
        config_from_dict(_cfg(ema_decay=0.999, ema_kimg=10)).validate()
    with pytest.raises(ConfigError, match="ema_rampup ramps up the half-life"):
        config_from_dict(_cfg(ema_rampup=0.05)).validate()
    assert math.isclose(config_from_dict(_cfg(ema_kimg=10, ema_rampup=0.05)).train.ema_kimg, 10)
