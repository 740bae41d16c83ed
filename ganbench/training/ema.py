"""Exponential moving average of G's weights, through torch's AveragedModel.

Two ways to set it (``train`` section): ``ema_decay``, a fixed β per step; or StyleGAN's
``ema_kimg``, a half-life in thousands of images, β = 0.5^(batch / (1000·ema_kimg)), optionally
ramped up (``ema_rampup``: the half-life is at most ema_rampup × the images seen so far, so early
averages do not drag in the random initialisation; Karras et al. 2020, stylegan2-ada's
``ema_rampup``). The images seen are counted as updates × ``train.batch_size``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn


def uses_ema(train: Any) -> bool:
    return bool(train.ema_decay) or train.ema_kimg is not None


def ema_beta(batch_size: int, ema_kimg: float, rampup: float | None, images_seen: float) -> float:
    """StyleGAN's EMA β for one update after ``images_seen`` images."""
    half_life = ema_kimg * 1000
    if rampup is not None:
        half_life = min(half_life, images_seen * rampup)
    return 0.5 ** (batch_size / max(half_life, 1e-8))


def make_ema(G: nn.Module, train: Any) -> AveragedModel:
    """The EMA copy of G for the ``train`` section (see the module docstring)."""
    if train.ema_decay:
        avg_fn = get_ema_multi_avg_fn(train.ema_decay)
    else:
        batch, kimg, rampup = train.batch_size, train.ema_kimg, train.ema_rampup

        @torch.no_grad()
        def avg_fn(ema_params: list, params: list, num_averaged: Any) -> None:
            # num_averaged counts the updates before this one (the first update copies G)
            beta = ema_beta(batch, kimg, rampup, float(num_averaged) * batch)
            torch._foreach_lerp_(ema_params, params, 1 - beta)

    # use_buffers=True averages batch-norm statistics too, so the EMA G needs no BN recalibration.
    ema = AveragedModel(G, multi_avg_fn=avg_fn, use_buffers=True)
    ema.requires_grad_(False)
    return ema
