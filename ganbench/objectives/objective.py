"""The objective: adversarial loss + Lipschitz method + extra terms, as the trainer sees it.

The trainer asks ``objective.d_loss(...)`` and ``objective.g_loss(...)`` and knows nothing of what
is inside. Extra terms (training techniques such as feature matching, conditioning losses such as
ACGAN's classifier) implement :class:`Term` and are added here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ganbench.models.base import DOutput
from ganbench.objectives.base import AdversarialLoss, LipschitzMethod


@dataclass
class StepContext:
    """Everything a term may look at in one D or G step."""

    D: nn.Module
    real: torch.Tensor
    y_real: torch.Tensor | None
    fake: torch.Tensor
    y_fake: torch.Tensor | None
    out_real: DOutput | None  # None in a G step unless a term asked for real outputs
    out_fake: DOutput
    step: int


class Term:
    """An extra loss term. Registered in ``TECHNIQUES`` (keyword arguments = hyperparameters) or
    contributed by a conditioning method (``CONDITIONINGS`` entries return a list of terms)."""

    name = ""
    needs_aux = False  # D must return DOutput (class logits / features), not bare logits
    needs_real_in_g_step = False  # run D on the real batch in the G step too (feature matching)
    replaces_g_loss = False  # the G adversarial loss is dropped (feature matching, pure form)
    # lazy regularisation of G (StyleGAN2's path length every 4th G step): a term with g_interval > 1
    # gives g_lazy_term, run by the trainer as a separate G step; G's Adam is rescaled for it
    g_interval = 1

    def d_term(self, ctx: StepContext) -> torch.Tensor | None:
        return None

    def g_term(self, ctx: StepContext) -> torch.Tensor | None:
        return None

    def attach(self, G: nn.Module, D: nn.Module) -> None:
        """Called once with the networks (e.g. historical averaging keeps parameter averages)."""

    def g_lazy_term(self, G: nn.Module, step: int) -> torch.Tensor | None:
        """A lazy G regulariser (``g_interval`` > 1): its value ×g_interval on the steps it acts
        on (``step % g_interval == 0``), else None. It samples its own latents through ``G``."""
        return None

    def logs(self) -> dict[str, torch.Tensor | float]:
        """Values to log after each D step that are not loss terms (ADA's augmentation probability)."""
        return {}

    @classmethod
    def d_input_multiplier(cls, params: dict[str, Any]) -> int:
        """How many times the data's width D's input is, for these parameters (packing: m). The
        model families build D with that width (``models/family.py: d_input_multiplier``)."""
        return 1

    def d_input(self, x: torch.Tensor, y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """What D is given for a batch of samples ``x`` (labels ``y``): the batch itself, or packs."""
        return x, y


class Objective:
    def __init__(self, loss: AdversarialLoss, lipschitz: LipschitzMethod, terms: list[Term] | None = None):
        self.loss = loss
        self.lipschitz = lipschitz
        self.terms = list(terms or [])
        self.needs_aux = any(t.needs_aux for t in self.terms)
        self.real_in_g_step = any(t.needs_real_in_g_step for t in self.terms)
        self.g_adversarial = not any(t.replaces_g_loss for t in self.terms)
        # the lazy intervals the optimisers are rescaled for (1 = regularised every step)
        self.d_interval = lipschitz.interval
        self.g_interval = max([t.g_interval for t in self.terms], default=1)

    def attach(self, G: nn.Module, D: nn.Module) -> nn.Module:
        """Prepare D (e.g. spectral norm) and let the terms see the networks. Returns D."""
        D = self.lipschitz.prepare(D)
        for t in self.terms:
            t.attach(G, D)
        return D

    def d_input(self, x: torch.Tensor, y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """A batch as D sees it: each term may transform it (packing cuts it into packs)."""
        for t in self.terms:
            x, y = t.d_input(x, y)
        return x, y

    def _run_d(self, D: nn.Module, x: torch.Tensor, y: torch.Tensor | None) -> DOutput:
        if self.needs_aux:
            out = D(x, y, return_aux=True)
            return out if isinstance(out, DOutput) else DOutput(logits=out)
        return DOutput(logits=D(x, y))

    def d_loss(
        self,
        D: nn.Module,
        real: torch.Tensor,
        y_real: torch.Tensor | None,
        fake: torch.Tensor,
        y_fake: torch.Tensor | None,
        step: int,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """D loss for one step; ``fake`` must already be detached. Logs are 0-d tensors (no sync).

        D, its loss and the Lipschitz penalty see the batches as :meth:`d_input` makes them (packs
        under packing); the terms' context keeps the samples themselves."""
        d_real, dy_real = self.d_input(real, y_real)
        d_fake, dy_fake = self.d_input(fake, y_fake)
        out_real = self._run_d(D, d_real, dy_real)
        out_fake = self._run_d(D, d_fake, dy_fake)
        adv = self.loss.d_loss(out_real.logits, out_fake.logits)
        total = adv
        logs = {"d_loss": adv.detach()}
        # a lazy penalty is its own optimiser step (d_lazy_loss), as in StyleGAN2
        lazy = self.lipschitz.interval > 1
        penalty = None if lazy else self.lipschitz.penalty(D, d_real, d_fake, dy_real, dy_fake)
        if penalty is not None:
            total = total + penalty
            logs["d_penalty"] = penalty.detach()
        ctx = StepContext(D, real, y_real, fake, y_fake, out_real, out_fake, step)
        for t in self.terms:
            extra = t.d_term(ctx)
            if extra is not None:
                total = total + extra
                logs[f"d_{t.name}"] = extra.detach()
        for t in self.terms:
            logs.update(t.logs())
        logs["d_real_logit"] = out_real.logits.detach().mean()
        logs["d_fake_logit"] = out_fake.logits.detach().mean()
        return total, logs

    def d_lazy_loss(
        self,
        D: nn.Module,
        real: torch.Tensor,
        y_real: torch.Tensor | None,
        fake: torch.Tensor,
        y_fake: torch.Tensor | None,
        step: int,
    ) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:
        """The lazy Lipschitz penalty (interval k > 1) on every k-th step, ×k, for a separate D
        optimiser step (StyleGAN2's "Dreg" phase); None on the other steps and for eager methods."""
        k = self.lipschitz.interval
        if k == 1 or step % k:
            return None, {}
        d_real, dy_real = self.d_input(real, y_real)
        d_fake, dy_fake = self.d_input(fake, y_fake)
        penalty = self.lipschitz.penalty(D, d_real, d_fake, dy_real, dy_fake)
        if penalty is None:
            return None, {}
        return penalty * k, {"d_penalty": penalty.detach()}

    def g_lazy_loss(self, G: nn.Module, step: int) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:
        """Lazy G regularisers (terms with ``g_interval`` > 1, e.g. path length) for a separate G
        optimiser step (StyleGAN2's "Greg" phase); each term returns its value ×interval on its
        steps and None otherwise."""
        total, logs = None, {}
        for t in self.terms:
            value = t.g_lazy_term(G, step) if t.g_interval > 1 else None
            if value is not None:
                total = value if total is None else total + value
                logs[f"g_{t.name}"] = value.detach()
        return total, logs

    def g_loss(
        self,
        D: nn.Module,
        fake: torch.Tensor,
        y_fake: torch.Tensor | None,
        real: torch.Tensor | None,
        y_real: torch.Tensor | None,
        step: int,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        out_fake = self._run_d(D, *self.d_input(fake, y_fake))
        out_real = (
            self._run_d(D, *self.d_input(real, y_real)) if self.real_in_g_step and real is not None else None
        )
        total = self.loss.g_loss(out_fake.logits) if self.g_adversarial else fake.new_zeros(())
        logs = {"g_loss": total.detach()}
        ctx = StepContext(D, real, y_real, fake, y_fake, out_real, out_fake, step)
        for t in self.terms:
            extra = t.g_term(ctx)
            if extra is not None:
                total = total + extra
                logs[f"g_{t.name}"] = extra.detach()
        return total, logs
