"""Contracts for adversarial losses and Lipschitz methods (both registered by name).

Adversarial loss (``ganbench.registries.LOSSES``): a class whose keyword arguments are its
hyperparameters, with
  ``d_loss(real_logits, fake_logits) -> scalar`` and ``g_loss(fake_logits) -> scalar``.

Lipschitz method (``ganbench.registries.LIPSCHITZ``): a class whose keyword arguments are its
hyperparameters, with
  ``prepare(D) -> D``            applied once after D is built (spectral norm wraps layers here),
  ``penalty(D, real, fake, y_real, y_fake) -> scalar | None``  added to the D loss each D step,
  ``after_d_step(D) -> None``    applied after each D optimiser step (weight clipping),
and the class attributes ``needs_input_gradients`` and ``normalises_d`` (see below).

Lazy regularisation (Karras et al. 2020, StyleGAN2 §3.1): a method with ``interval`` k > 1 has its
penalty taken out of the D loss and applied every k-th step as a separate optimiser step, ×k so
its expected weight is unchanged (``Objective.d_lazy_loss``); D's Adam is rescaled for the extra
steps (``training/optim.py``).
"""

from __future__ import annotations

import torch
from torch import nn


class AdversarialLoss:
    name = ""

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class LipschitzMethod:
    name = ""
    # Facts other components ask about (never compare a method's name):
    needs_input_gradients = False  # penalises ∇ₓD per sample: no batch norm in D, double backward
    normalises_d = False  # constrains D's layers itself (spectral norm): D needs no other normalisation
    interval = 1  # lazy regularisation: a separate step with the penalty ×interval every interval-th step

    def prepare(self, D: nn.Module) -> nn.Module:
        return D

    def penalty(
        self,
        D: nn.Module,
        real: torch.Tensor,
        fake: torch.Tensor,
        y_real: torch.Tensor | None = None,
        y_fake: torch.Tensor | None = None,
    ) -> torch.Tensor | None:
        return None

    def after_d_step(self, D: nn.Module) -> None:
        return None
