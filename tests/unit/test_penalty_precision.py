"""Penalties on input gradients under mixed precision (devices.penalty_precision): under fp16
autocast the gradient penalty, R1 and path length run in fp32, because GradScaler does not scale
their inner autograd.grad and small gradients underflow fp16; under bf16 they stay in autocast."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganbench.devices import penalty_precision
from ganbench.models.stylegan2 import StyleGAN2Generator
from ganbench.objectives.lipschitz import GradientPenalty, R1Penalty, input_gradients
from ganbench.objectives.objective import StepContext
from ganbench.objectives.path_length import PathLength


class Critic(nn.Module):
    """An MLP critic whose input gradients are ~1e-7 per coordinate: below fp16's smallest normal
    number (6e-5), and near its smallest subnormal (6e-8)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(64, 64), nn.LeakyReLU(0.2), nn.Linear(64, 1))
        with torch.no_grad():
            self.net[2].weight.mul_(1e-5)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(x)


def _x() -> torch.Tensor:
    return torch.randn(32, 64, generator=torch.Generator().manual_seed(1))


def test_fp16_autocast_is_turned_off_and_bf16_is_kept() -> None:
    with torch.autocast("cpu", dtype=torch.float16), penalty_precision("cpu") as full:
        assert full and not torch.is_autocast_enabled("cpu")
    with torch.autocast("cpu", dtype=torch.bfloat16), penalty_precision("cpu") as full:
        assert not full and torch.is_autocast_enabled("cpu")
    with penalty_precision("cpu") as full:
        assert not full


def test_input_gradients_under_fp16_autocast_are_the_fp32_ones() -> None:
    D, x = Critic(), _x()
    want = input_gradients(D, x, None, create_graph=False)
    assert want.abs().max() < 6e-5  # the case fp16 cannot hold
    with torch.autocast("cpu", dtype=torch.float16):
        got = input_gradients(D, x.half(), None, create_graph=False)  # fakes come out of G in fp16
        # what the same D computes in fp16 without the guard: gradients lost to underflow
        x16 = x.half().requires_grad_(True)
        (lost,) = torch.autograd.grad(D(x16).sum(), x16)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, want, rtol=1e-3, atol=0.0)  # x.half() rounds the input
    assert (lost == 0).float().mean() > 0.05 or (lost.float() - want).abs().max() > 1e-2 * want.abs().max()


# center 0: the GP is λ E‖∇D(x̂)‖², as sensitive to the gradients as R1 (with center 1 it is ≈ λ)
@pytest.mark.parametrize("method", [GradientPenalty(weight=10.0, center=0.0), R1Penalty(gamma=10.0)])
def test_gp_and_r1_under_fp16_autocast_equal_fp32(method) -> None:  # noqa: ANN001
    D, real, fake = Critic(), _x(), _x().flip(0)
    torch.manual_seed(2)
    want = method.penalty(D, real, fake)
    torch.manual_seed(2)
    with torch.autocast("cpu", dtype=torch.float16):
        got = method.penalty(D, real, fake)
    assert got.dtype == torch.float32
    assert got.item() == pytest.approx(want.item(), rel=1e-6, abs=0.0)  # the values are ~1e-11


def test_path_length_under_fp16_autocast_equals_fp32() -> None:
    torch.manual_seed(0)
    G = StyleGAN2Generator(8, 8, 1, channel_base=64, channel_max=8, mapping_layers=2, w_dim=8)
    term = PathLength(weight=2.0, interval=4, batch_shrink=1)
    ctx = StepContext(None, None, None, torch.zeros(4, 1, 8, 8), None, None, None, 4)  # type: ignore[arg-type]
    term.g_term(ctx)
    torch.manual_seed(7)
    want = term.g_lazy_term(G, 4)
    term.pl_mean.zero_()
    torch.manual_seed(7)
    with torch.autocast("cpu", dtype=torch.float16):
        got = term.g_lazy_term(G, 4)
    assert want is not None and got is not None and got.dtype == torch.float32
    assert got.item() == pytest.approx(want.item(), rel=1e-6, abs=0.0)


@pytest.mark.parametrize("amp", ["fp16", "bf16"])
def test_a_run_with_lazy_r1_and_gp_trains_under_cpu_autocast(tmp_path, toy_cfg_dict, amp) -> None:  # noqa: ANN001
    """The trainer takes the lazy penalty's step under autocast, like every loss (the penalty picks
    its precision): a CPU run under each AMP mode finishes with finite, positive penalties."""
    from ganbench.config import config_from_dict
    from ganbench.training.trainer import Trainer

    for lipschitz, params in (("r1", {"gamma": 1.0, "interval": 4}), ("gp", {"weight": 1.0})):
        d = {
            **toy_cfg_dict,
            "objective": {"loss": "nonsaturating", "lipschitz": lipschitz, "lipschitz_params": params},
            "train": {**toy_cfg_dict["train"], "steps": 20, "log_every": 1},
            "runtime": {**toy_cfg_dict["runtime"], "amp": amp},
        }
        record = Trainer(config_from_dict(d), tmp_path / f"{amp}-{lipschitz}").run()
        assert record is not None and record["status"] == "finished", record
        penalties = [e["d_penalty"] for e in record["history"] if "d_penalty" in e]
        assert len(penalties) == (5 if lipschitz == "r1" else 20)  # lazy: steps 0, 4, ..., 16
        assert all(0 < p < float("inf") for p in penalties), penalties
