"""Adversarial losses. Each takes D's raw logits (scores before any sigmoid).

Formulas (D minimises d_loss, G minimises g_loss; σ = sigmoid, softplus(x) = log(1 + eˣ)):
  minimax (Goodfellow 2014, saturating): D: −log σ(r) − log(1 − σ(f));  G:  log(1 − σ(f)) = −softplus(f)
  nonsaturating (Goodfellow 2014):       D: as minimax;                  G: −log σ(f) = softplus(−f)
  lsgan (Mao 2017, a=0, b=c=1):          D: ½(r − 1)² + ½f²;            G: ½(f − 1)²
  wasserstein (Arjovsky 2017):           D: f − r;                       G: −f
  hinge (Lim & Ye 2017; Miyato 2018):    D: relu(1 − r) + relu(1 + f);   G: −f
All averaged over the batch. softplus keeps the log-sigmoid forms numerically stable.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganbench.objectives.base import AdversarialLoss
from ganbench.registries import LOSSES


class _BCE(AdversarialLoss):
    def __init__(self, real_label: float = 1.0) -> None:
        # real_label < 1 is one-sided label smoothing (Salimans et al. 2016): real targets only.
        self.real_label = real_label

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        real_target = torch.full_like(real_logits, self.real_label)
        return F.binary_cross_entropy_with_logits(real_logits, real_target) + F.softplus(fake_logits).mean()


@LOSSES.register("minimax")
class Minimax(_BCE):
    name = "minimax"

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return -F.softplus(fake_logits).mean()


@LOSSES.register("nonsaturating")
class NonSaturating(_BCE):
    name = "nonsaturating"

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.softplus(-fake_logits).mean()


@LOSSES.register("lsgan")
class LeastSquares(AdversarialLoss):
    name = "lsgan"

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits**2).mean()

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((fake_logits - 1) ** 2).mean()


@LOSSES.register("wasserstein")
class Wasserstein(AdversarialLoss):
    name = "wasserstein"

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return fake_logits.mean() - real_logits.mean()

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return -fake_logits.mean()


@LOSSES.register("hinge")
class Hinge(AdversarialLoss):
    name = "hinge"

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return -fake_logits.mean()
