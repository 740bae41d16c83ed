"""One timed GAN training step for the step-time benchmarks (tests/bench/test_bench_stylegan*.py):
one D update and one G update of a family's networks, built from the objective the trainer uses,
on random 32×32 grayscale images in [-1, 1]."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from ganbench.config import RunConfig
from ganbench.data.base import DataSource
from ganbench.objectives.build import build_objective
from ganbench.registries import MODELS


class Images32(DataSource):
    """The stand-in dataset the families build their networks for: 1×32×32, unlabelled."""

    kind = "images"
    sample_shape = (1, 32, 32)
    num_classes = None


def make_step(cfg: RunConfig, lr: float, batch: int) -> Callable[[int], None]:
    """``step(i)``: one D update then one G update of ``cfg``'s networks (Adam at ``lr``, β (0, 0.99))."""
    torch.manual_seed(0)
    G, D = MODELS.get(cfg.model.name).build(cfg, Images32())
    objective = build_objective(cfg)
    D = objective.attach(G, D)
    opt_g = torch.optim.Adam(G.parameters(), lr, betas=(0.0, 0.99))
    opt_d = torch.optim.Adam(D.parameters(), lr, betas=(0.0, 0.99))
    real = torch.rand(batch, 1, 32, 32) * 2 - 1

    def step(i: int) -> None:
        D.requires_grad_(True)
        with torch.no_grad():
            fake = G(torch.randn(batch, G.z_dim))
        loss_d, _ = objective.d_loss(D, real, None, fake, None, i)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        D.requires_grad_(False)
        fake = G(torch.randn(batch, G.z_dim))
        loss_g, _ = objective.g_loss(D, fake, None, real, None, i)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()

    return step


def timed(step: Callable[[int], None], i: int) -> float:
    t0 = time.perf_counter()
    step(i)
    return time.perf_counter() - t0
