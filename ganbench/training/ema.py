"""Exponential moving average of G's weights, through torch's AveragedModel."""

from __future__ import annotations

from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn


def make_ema(G: nn.Module, decay: float) -> AveragedModel:
    # use_buffers=True averages batch-norm statistics too, so the EMA G needs no BN recalibration.
    ema = AveragedModel(G, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
    ema.requires_grad_(False)
    return ema
