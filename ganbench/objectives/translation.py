"""The translation objective: an adversarial loss and a Lipschitz method (the same registered ones
generation uses, so a grid asks the same question of both tasks) plus the reconstruction terms of
Pix2Pix and CycleGAN, and CycleGAN's pool of past fakes.

Terms (registered in ``TECHNIQUES`` with ``task = "translation"``; set under
``objective.techniques.<name>``, weights as the papers define them):

- ``l1_reconstruction`` (Pix2Pix, λ = 100): λ·‖G(a) − b‖₁, the mean absolute error on [-1, 1];
- ``cycle_consistency`` (CycleGAN, λ = 10): λ·(‖F(G(a)) − a‖₁ + ‖G(F(b)) − b‖₁);
- ``identity`` (CycleGAN, 0.5): weight·λ_cycle·(‖G(b) − b‖₁ + ‖F(a) − a‖₁), the weight relative to the
  cycle λ as CycleGAN's code sets it (``lambda_identity`` 0.5).

The Lipschitz methods see the translation D through the generation contract ``D(x, y)``, with the
input image as ``y`` for the conditional (Pix2Pix) D: the gradient penalty interpolates the B
images of a real and a fake pair that share their A image, and differentiates with respect to the
B image only. The losses average over D's patch map.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from ganbench.errors import ConfigError
from ganbench.registries import TECHNIQUES


@dataclass
class TranslationStep:
    """What a G-step term may look at: the real pair, the translations, the back-translations."""

    a: torch.Tensor
    b: torch.Tensor
    fake_b: torch.Tensor  # G(a)
    fake_a: torch.Tensor | None = None  # F(b), CycleGAN only
    rec_a: torch.Tensor | None = None  # F(G(a))
    rec_b: torch.Tensor | None = None  # G(F(b))
    same_b: torch.Tensor | None = None  # G(b), the identity term's
    same_a: torch.Tensor | None = None  # F(a)


class TranslationTerm:
    """A G-step loss term of translation. ``needs_backward_translator``: only CycleGAN's two-way
    setting can compute it; ``needs_identity``: the trainer must compute G(b) and F(a)."""

    name: ClassVar[str] = ""
    task: ClassVar[str] = "translation"
    needs_backward_translator: ClassVar[bool] = False
    needs_identity: ClassVar[bool] = False

    def __init__(self, weight: float) -> None:
        if weight < 0:
            raise ConfigError(f"objective.techniques.{self.name}.weight must be >= 0, got {weight}")
        self.weight = weight

    def g_term(self, s: TranslationStep) -> torch.Tensor:
        raise NotImplementedError


@TECHNIQUES.register("l1_reconstruction")
class L1Reconstruction(TranslationTerm):
    name = "l1_reconstruction"

    def __init__(self, weight: float = 100.0) -> None:
        super().__init__(weight)

    def g_term(self, s: TranslationStep) -> torch.Tensor:
        return self.weight * F.l1_loss(s.fake_b, s.b)


@TECHNIQUES.register("cycle_consistency")
class CycleConsistency(TranslationTerm):
    name = "cycle_consistency"
    needs_backward_translator = True

    def __init__(self, weight: float = 10.0) -> None:
        super().__init__(weight)

    def g_term(self, s: TranslationStep) -> torch.Tensor:
        assert s.rec_a is not None and s.rec_b is not None
        return self.weight * (F.l1_loss(s.rec_a, s.a) + F.l1_loss(s.rec_b, s.b))


@TECHNIQUES.register("identity")
class IdentityMapping(TranslationTerm):
    """CycleGAN's identity loss; ``cycle_weight`` is λ_cycle (their ``lambda_A``), which the weight
    multiplies (their ``loss_idt_A = criterionIdt(idt_A, real_B) * lambda_B * lambda_idt``)."""

    name = "identity"
    needs_backward_translator = True
    needs_identity = True

    def __init__(self, weight: float = 0.5, cycle_weight: float = 10.0) -> None:
        super().__init__(weight)
        if cycle_weight < 0:
            raise ConfigError(f"objective.techniques.identity.cycle_weight must be >= 0, got {cycle_weight}")
        self.cycle_weight = cycle_weight

    def g_term(self, s: TranslationStep) -> torch.Tensor:
        assert s.same_a is not None and s.same_b is not None
        return self.weight * self.cycle_weight * (F.l1_loss(s.same_b, s.b) + F.l1_loss(s.same_a, s.a))


class ImagePool:
    """CycleGAN's history of generated images (Shrivastava et al. 2017): D is updated with fakes
    drawn from the last ``size`` generated images rather than only the newest.

    Per image: while the pool holds fewer than ``size``, it is stored and returned; once full, with
    probability 1/2 a uniformly chosen stored image is returned and replaced by the new one, else
    the new image is returned. ``size`` 0 returns the batch as it is. The draws come from the pool's
    own generator, saved with its images in :meth:`state_dict`, so a resumed run draws the same."""

    def __init__(self, size: int = 50, seed: int = 0) -> None:
        if size < 0:
            raise ConfigError(f"the image pool size must be >= 0, got {size}")
        self.size = size
        self.images: list[torch.Tensor] = []
        self.generator = torch.Generator().manual_seed(seed)

    def query(self, batch: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return batch
        out = []
        for image in batch.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand((), generator=self.generator) < 0.5:
                i = int(torch.randint(len(self.images), (), generator=self.generator))
                out.append(self.images[i].to(image.device))
                self.images[i] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state_dict(self) -> dict[str, Any]:
        stored = torch.stack(self.images) if self.images else torch.empty(0)
        return {"images": stored.cpu(), "rng": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.images = list(state["images"].unbind(0)) if state["images"].numel() else []
        self.generator.set_state(state["rng"])
