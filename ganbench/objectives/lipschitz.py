"""Lipschitz methods for the discriminator: none, weight clipping, gradient penalty, spectral
normalisation, R1. Plus an estimate of D's Lipschitz constant for the run record."""

from __future__ import annotations

import torch
from torch import nn

from ganbench.devices import penalty_precision
from ganbench.errors import ConfigError
from ganbench.evaluation.metric import Output, declare_outputs
from ganbench.models.layers import apply_spectral_norm, has_spectral_norm  # noqa: F401  (re-export)
from ganbench.objectives.base import LipschitzMethod
from ganbench.objectives.packing import pack, samples_per_input
from ganbench.registries import LIPSCHITZ


def input_gradients(
    D: nn.Module, x: torch.Tensor, y: torch.Tensor | None, create_graph: bool
) -> torch.Tensor:
    """∂ΣD(x)/∂x per sample, flattened to (N, numel/N). Samples are independent in D (no batch
    norm across the batch in a critic that is penalised), so the sum's gradient is per-sample.
    Under fp16 autocast D runs in fp32 here (``devices.penalty_precision``)."""
    with penalty_precision(x.device.type) as full:
        x = (x.float() if full else x).detach().requires_grad_(True)
        out = D(x, y)
        (grad,) = torch.autograd.grad(out.sum(), x, create_graph=create_graph)
    return grad.flatten(1)


@LIPSCHITZ.register("none")
class NoConstraint(LipschitzMethod):
    name = "none"


@LIPSCHITZ.register("clip")
class WeightClipping(LipschitzMethod):
    """WGAN (Arjovsky et al. 2017): clamp every D parameter to [−c, c] after each D step."""

    name = "clip"

    def __init__(self, c: float = 0.01) -> None:
        if c <= 0:
            raise ConfigError(f"objective.lipschitz_params.c must be > 0, got {c}")
        self.c = c

    @torch.no_grad()
    def after_d_step(self, D: nn.Module) -> None:
        for p in D.parameters():
            p.clamp_(-self.c, self.c)


def check_interval(interval: int) -> int:
    if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
        raise ConfigError(
            f"objective.lipschitz_params.interval must be an integer >= 1 (1 = every step), got {interval!r}"
        )
    return interval


@LIPSCHITZ.register("gp")
class GradientPenalty(LipschitzMethod):
    """WGAN-GP (Gulrajani et al. 2017): λ E[(‖∇D(x̂)‖ − center)²] at x̂ = εx_real + (1−ε)x_fake.

    ``one_sided`` penalises only norms above ``center`` (the paper's appendix variant)."""

    name = "gp"
    needs_input_gradients = True

    def __init__(
        self, weight: float = 10.0, center: float = 1.0, one_sided: bool = False, interval: int = 1
    ) -> None:
        if weight < 0:
            raise ConfigError(f"objective.lipschitz_params.weight must be >= 0, got {weight}")
        self.weight, self.center, self.one_sided = weight, center, one_sided
        self.interval = check_interval(interval)

    def penalty(self, D, real, fake, y_real=None, y_fake=None):  # noqa: ANN001 - see base class
        eps = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), device=real.device, dtype=real.dtype)
        x_hat = eps * real.detach() + (1 - eps) * fake.detach()
        # Interpolates carry the real labels: the penalty is on D(·, y) as a function of x.
        norms = input_gradients(D, x_hat, y_real, create_graph=True).norm(2, dim=1)
        gap = norms - self.center
        if self.one_sided:
            gap = gap.clamp(min=0)
        return self.weight * (gap**2).mean()


@LIPSCHITZ.register("sn")
class SpectralNormalization(LipschitzMethod):
    """Miyato et al. 2018: torch's spectral_norm parametrization on every linear/conv/embedding
    layer of D (layers a model family already normalised are left as they are)."""

    name = "sn"
    normalises_d = True

    def __init__(self, n_power_iterations: int = 1) -> None:
        if n_power_iterations < 1:
            raise ConfigError(
                f"objective.lipschitz_params.n_power_iterations must be >= 1, got {n_power_iterations}"
            )
        self.n_power_iterations = n_power_iterations

    def prepare(self, D: nn.Module) -> nn.Module:
        return apply_spectral_norm(D, n_power_iterations=self.n_power_iterations)


@LIPSCHITZ.register("r1")
class R1Penalty(LipschitzMethod):
    """Mescheder et al. 2018: (γ/2) E‖∇D(x_real)‖² on real data only.

    ``interval: 16`` is StyleGAN2's lazy R1 (the penalty every 16th D step, ×16)."""

    name = "r1"
    needs_input_gradients = True

    def __init__(self, gamma: float = 10.0, interval: int = 1) -> None:
        if gamma < 0:
            raise ConfigError(f"objective.lipschitz_params.gamma must be >= 0, got {gamma}")
        self.gamma = gamma
        self.interval = check_interval(interval)

    def penalty(self, D, real, fake, y_real=None, y_fake=None):  # noqa: ANN001 - see base class
        grads = input_gradients(D, real, y_real, create_graph=True)
        return 0.5 * self.gamma * grads.pow(2).sum(1).mean()


# The estimate's keys in a run record: the max is a leaderboard column, the per-input ones detail.
declare_outputs(
    90,
    Output("lipschitz_max", display="Lip. est."),
    Output("lipschitz_*", role="detail"),
)


def estimate_lipschitz(
    D: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    y_real: torch.Tensor | None = None,
    y_fake: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    """Max ‖∇ₓD‖ at real, fake and interpolated points: a lower bound on D's Lipschitz constant.

    D is put in eval mode (batch norm uses running statistics) and restored afterwards. A D that
    takes packs (objectives/packing.py) is differentiated at packs of the batches, as it is trained:
    the gradient over the whole pack, interpolated pack by pack."""
    m = samples_per_input(D)
    if m > 1:
        real, fake, y_real, y_fake = pack(real, m), pack(fake, m), None, None
    was_training = D.training
    D.eval()
    try:
        eps = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), generator=generator).to(real)
        x_hat = eps * real + (1 - eps) * fake
        out = {}
        for key, x, y in (("real", real, y_real), ("fake", fake, y_fake), ("interp", x_hat, y_real)):
            out[f"lipschitz_{key}"] = input_gradients(D, x, y, create_graph=False).norm(2, dim=1).max().item()
        out["lipschitz_max"] = max(out.values())
        return out
    finally:
        D.train(was_training)
