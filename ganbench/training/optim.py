"""Optimisers and learning-rate schedules from the ``optim`` section."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch


def make_optimiser(
    o: Any, params: Iterable[torch.nn.Parameter], lr: float, lazy_interval: int = 1
) -> torch.optim.Optimizer:
    """``optim.name`` (adam | rmsprop) over ``params`` at ``lr``, with the section's betas and decay.

    ``lazy_interval`` k > 1 (lazy regularisation) rescales Adam as StyleGAN2 does: with the
    regulariser's extra step every k steps, c = k/(k+1) of the updates are the loss's, so lr → c·lr
    and β → β^c keep the per-minibatch behaviour of the unregularised optimiser."""
    if o.name == "adam":
        c = lazy_interval / (lazy_interval + 1) if lazy_interval > 1 else 1.0
        betas = tuple(b**c for b in o.betas)
        return torch.optim.Adam(params, lr=lr * c, betas=betas, weight_decay=o.weight_decay)
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
