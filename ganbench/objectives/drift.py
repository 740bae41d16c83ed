"""ProGAN's ε-drift term (Karras et al. 2018, §A.1 "Training configuration"): D's loss gets
ε·E[D(x_real)²], ε = 0.001, which keeps a Wasserstein critic's output from drifting far from zero
(the WGAN-GP loss only constrains differences of D's outputs, not their level)."""

from __future__ import annotations

import torch

from ganbench.errors import ConfigError
from ganbench.objectives.objective import StepContext, Term
from ganbench.registries import TECHNIQUES


@TECHNIQUES.register("drift")
class Drift(Term):
    """``epsilon`` · mean of D's real logits squared, in the D step (``objective.techniques.drift``)."""

    name = "drift"

    def __init__(self, epsilon: float = 0.001) -> None:
        if not epsilon >= 0:
            raise ConfigError(f"objective.techniques.drift.epsilon must be >= 0, got {epsilon}")
        self.epsilon = epsilon

    def d_term(self, ctx: StepContext) -> torch.Tensor:
        return self.epsilon * ctx.out_real.logits.float().square().mean()
