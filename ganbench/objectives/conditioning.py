"""Conditioning methods (registered in ``CONDITIONINGS``).

Contract: an entry is a class with
  ``validate(cfg: RunConfig, where: str) -> None``  (reject combinations that cannot work),
  ``terms(cfg: RunConfig) -> list[Term]``           (extra loss terms, e.g. ACGAN's classifier loss),
  ``needs_labels``                                    (G and D take labels: the dataset must have them).
The model family reads ``cfg.model.conditioning`` to build label-aware G and D; each family lists
the conditionings it implements and rejects the others (``ImageFamily.conditionings``). Whether the
dataset has labels is only known when it is loaded: families check ``data.num_classes`` at build.

Hyperparameters of a conditioning method live in ``model.conditioning_params`` (only ``acgan`` has
any: the keyword arguments of :class:`ACGANLoss`).

* ``none``       — unconditional.
* ``concat``     — cGAN (Mirza & Osindero 2014): one-hot y appended to z, and to D's input.
* ``acgan``      — AC-GAN (Odena et al. 2017): D has an auxiliary classifier; cross-entropy on
  real and fake images (D step) and on fakes (G step).
* ``projection`` — projection discriminator (Miyato & Koyama 2018): D's logit += ⟨embed(y), φ(x)⟩;
  G uses class-conditional batch norm.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ganbench.errors import ConfigError
from ganbench.objectives.objective import StepContext, Term
from ganbench.registries import CONDITIONINGS
from ganbench.schema import check_params


def _params(cfg: Any) -> dict[str, Any]:
    return dict(cfg.model.conditioning_params or {})


class _Conditioning:
    name = ""
    needs_labels = True  # G and D take class labels; the dataset must have them
    term: type[Term] | None = None  # the loss term this method adds, if any

    def validate(self, cfg: Any, where: str) -> None:
        params = _params(cfg)
        if self.term is None:
            if params:
                raise ConfigError(
                    f"{where}: model.conditioning_params: conditioning {self.name!r} takes no parameters, "
                    f"got {', '.join(map(repr, params))}"
                )
            return
        check_params(self.term, params, f"{where}: model.conditioning_params")

    def terms(self, cfg: Any) -> list[Term]:
        return [] if self.term is None else [self.term(**_params(cfg))]


@CONDITIONINGS.register("none")
class Unconditional(_Conditioning):
    name = "none"
    needs_labels = False


@CONDITIONINGS.register("concat")
class Concat(_Conditioning):
    name = "concat"


@CONDITIONINGS.register("projection")
class Projection(_Conditioning):
    name = "projection"


class ACGANLoss(Term):
    """AC-GAN's class loss L_C (Odena et al. 2017), as cross-entropy of D's auxiliary classifier.

    D step: ``class_weight_d`` · (CE(real) + CE(fake) if ``d_on_fake`` else CE(real)).
    G step: ``class_weight_g`` · CE(fake), fakes labelled with the classes they were asked for.
    The paper trains D's classifier on both (D maximises L_S + L_C); ``d_on_fake: false`` is the
    common variant that keeps D's classifier off the (possibly poor) fakes.
    """

    name = "acgan"
    needs_aux = True

    def __init__(
        self, class_weight_d: float = 1.0, class_weight_g: float = 1.0, d_on_fake: bool = True
    ) -> None:
        for key, value in (("class_weight_d", class_weight_d), ("class_weight_g", class_weight_g)):
            if value < 0:
                raise ConfigError(f"model.conditioning_params.{key} must be >= 0, got {value}")
        self.class_weight_d, self.class_weight_g, self.d_on_fake = class_weight_d, class_weight_g, d_on_fake

    @staticmethod
    def _ce(out: Any, y: torch.Tensor | None, which: str) -> torch.Tensor:
        if out is None or out.class_logits is None:
            raise ConfigError(
                "conditioning 'acgan': D returned no class logits; the model family must build "
                "an auxiliary classifier head when model.conditioning is 'acgan'"
            )
        if y is None:
            raise ConfigError(f"conditioning 'acgan': the {which} batch has no labels")
        return F.cross_entropy(out.class_logits, y)

    def d_term(self, ctx: StepContext) -> torch.Tensor:
        loss = self._ce(ctx.out_real, ctx.y_real, "real")
        if self.d_on_fake:
            loss = loss + self._ce(ctx.out_fake, ctx.y_fake, "fake")
        return self.class_weight_d * loss

    def g_term(self, ctx: StepContext) -> torch.Tensor:
        return self.class_weight_g * self._ce(ctx.out_fake, ctx.y_fake, "fake")


@CONDITIONINGS.register("acgan")
class ACGAN(_Conditioning):
    name = "acgan"
    term = ACGANLoss
