"""Optimisers and learning-rate schedules from the ``optim`` section."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch


def make_optimiser(o: Any, params: Iterable[torch.nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """``optim.name`` (adam | rmsprop) over ``params`` at ``lr``, with the section's betas and decay."""
    if o.name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=o.betas, weight_decay=o.weight_decay)
    return torch.optim.RMSprop(params, lr=lr, weight_decay=o.weight_decay)


def linear_decay(total_steps: int, decay_steps: int) -> Callable[[int], float]:
    """The multiplier of Pix2Pix/CycleGAN's schedule: 1 for the first ``total − decay`` steps, then
    linearly to 0 at step ``total`` (their ``lambda_rule``, counted in steps instead of epochs)."""
    constant = total_steps - decay_steps

    def factor(step: int) -> float:
        if decay_steps <= 0 or step < constant:
            return 1.0
        return max(0.0, 1.0 - (step - constant) / decay_steps)

    return factor
