"""Training techniques as extra loss terms (registered in ``TECHNIQUES``; keyword arguments are the
hyperparameters, set under ``objective.techniques.<name>``).

Salimans et al. 2016, "Improved techniques for training GANs": ``feature_matching``,
``label_smoothing`` (one-sided), ``historical_averaging``. (Minibatch discrimination is a D
option of the image families: ``model.d.minibatch_disc``.) Brock et al. 2019: ``ortho_reg``.

A technique may define ``validate(cfg, where)`` (a classmethod): RunConfig.validate calls it to
reject combinations that cannot work.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from ganbench.errors import ConfigError
from ganbench.models.layers import ortho_penalty
from ganbench.objectives.objective import StepContext, Term
from ganbench.registries import MODELS, TECHNIQUES


def _non_negative(value: float, key: str, technique: str) -> None:
    if value < 0:
        raise ConfigError(f"objective.techniques.{technique}.{key} must be >= 0, got {value}")


@TECHNIQUES.register("feature_matching")
class FeatureMatching(Term):
    """G matches the mean of D's penultimate features on real data:
    ``weight`` · ‖E f(x_real) − E f(G(z))‖²₂ (Salimans et al. 2016, §3.1).

    ``replace_g_loss`` (the paper's form) drops G's adversarial loss; false adds the term to it.
    Real features are constants for G (detached).
    """

    name = "feature_matching"
    needs_aux = True
    needs_real_in_g_step = True

    def __init__(self, weight: float = 1.0, replace_g_loss: bool = True) -> None:
        _non_negative(weight, "weight", self.name)
        self.weight = weight
        self.replaces_g_loss = replace_g_loss

    @classmethod
    def validate(cls, cfg: Any, where: str) -> None:
        family = MODELS.get(cfg.model.name, f"{where}: model.name")
        if not getattr(family, "provides_features", False):
            able = [n for n in MODELS.names() if getattr(MODELS.get(n), "provides_features", False)]
            raise ConfigError(
                f"{where}: objective.techniques.feature_matching: the {cfg.model.name!r} discriminator does "
                f"not return penultimate features; families that do: {', '.join(able)}"
            )

    def g_term(self, ctx: StepContext) -> torch.Tensor:
        if ctx.out_real is None or ctx.out_real.features is None or ctx.out_fake.features is None:
            raise ConfigError("feature_matching: D returned no features (DOutput.features)")
        f_real = ctx.out_real.features.detach().float().mean(0)
        f_fake = ctx.out_fake.features.float().mean(0)
        return self.weight * (f_real - f_fake).square().sum()


@TECHNIQUES.register("label_smoothing")
class OneSidedLabelSmoothing(Term):
    """One-sided label smoothing (Salimans et al. 2016, §3.4): D's target for real data is
    ``real_label`` (0.9) instead of 1; fake targets stay 0.

    Why a term and not a loss of its own: for a logit r, BCE(r, s) = softplus(−r) + (1 − s)·r, so
    smoothing is exactly the BCE loss with target 1 plus (1 − s)·mean(r) on the real batch. As a
    term it composes with any BCE-based loss, shows in the logs, and is switched on like the other
    techniques in a grid. It only means something for the BCE losses (minimax, nonsaturating):
    validation rejects the others, and rejects smoothing twice (loss_params.real_label < 1 does
    the same thing inside the loss).
    """

    name = "label_smoothing"
    BCE_LOSSES = ("minimax", "nonsaturating")

    def __init__(self, real_label: float = 0.9) -> None:
        if not 0 < real_label <= 1:
            raise ConfigError(
                f"objective.techniques.label_smoothing.real_label must be in (0, 1], got {real_label}"
            )
        self.real_label = real_label

    @classmethod
    def validate(cls, cfg: Any, where: str) -> None:
        loss = cfg.objective.loss
        if loss not in cls.BCE_LOSSES:
            raise ConfigError(
                f"{where}: objective.techniques.label_smoothing: one-sided label smoothing changes the "
                f"targets of a cross-entropy loss; objective.loss {loss!r} has none. Valid with: "
                f"{', '.join(cls.BCE_LOSSES)}"
            )
        if cfg.objective.loss_params.get("real_label", 1.0) != 1.0:
            raise ConfigError(
                f"{where}: objective.techniques.label_smoothing: objective.loss_params.real_label is already "
                f"{cfg.objective.loss_params['real_label']}; use one of the two, not both"
            )

    def d_term(self, ctx: StepContext) -> torch.Tensor:
        return (1.0 - self.real_label) * ctx.out_real.logits.float().mean()


@TECHNIQUES.register("historical_averaging")
class HistoricalAveraging(Term):
    """``weight`` · ‖θ − (1/t) Σᵢ θ[i]‖² for each player (Salimans et al. 2016, §3.3), where the
    average runs over the parameter values of all *earlier* steps of that player (D steps for D,
    G steps for G). The first step has no history and adds 0.

    The running means are state: save them with :meth:`state_dict` so a resumed run continues.
    """

    name = "historical_averaging"

    def __init__(self, weight: float = 1.0, players: Literal["both", "d", "g"] = "both") -> None:
        _non_negative(weight, "weight", self.name)
        self.weight, self.players = weight, players
        self.G: nn.Module | None = None
        self.D: nn.Module | None = None
        self.means: dict[str, list[torch.Tensor]] = {}
        self.counts: dict[str, int] = {"d": 0, "g": 0}

    def attach(self, G: nn.Module, D: nn.Module) -> None:
        self.G, self.D = G, D

    def _penalty(self, key: str, net: nn.Module) -> torch.Tensor:
        params = [p for p in net.parameters()]
        means = self.means.get(key)
        if means is None or self.counts[key] == 0:
            penalty = params[0].new_zeros(())
            self.means[key] = means = [p.detach().clone() for p in params]
        else:
            penalty = sum((p - m).square().sum() for p, m in zip(params, means, strict=True))
            t = self.counts[key]
            with torch.no_grad():
                for p, m in zip(params, means, strict=True):
                    m.add_((p.detach() - m) / (t + 1))  # running mean, now including this step
        self.counts[key] += 1
        return self.weight * penalty

    def d_term(self, ctx: StepContext) -> torch.Tensor | None:
        if self.players == "g":
            return None
        return self._penalty("d", self.D if self.D is not None else ctx.D)

    def g_term(self, ctx: StepContext) -> torch.Tensor | None:
        if self.players == "d":
            return None
        if self.G is None:
            raise RuntimeError("historical_averaging: attach(G, D) was not called")
        return self._penalty("g", self.G)

    def state_dict(self) -> dict[str, Any]:
        return {
            "means": {k: [m.clone() for m in v] for k, v in self.means.items()},
            "counts": dict(self.counts),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.means = {k: [m.clone() for m in v] for k, v in state["means"].items()}
        self.counts = dict(state["counts"])


def ortho_parameters(G: nn.Module) -> list[torch.Tensor]:
    """The weights BigGAN's orthogonal regulariser acts on: every parameter with ≥ 2 dimensions
    (conv and linear weights; the raw weights under spectral norm) except embeddings."""
    skipped = {id(p) for m in G.modules() if isinstance(m, nn.Embedding) for p in m.parameters()}
    return [p for p in G.parameters() if p.dim() >= 2 and id(p) not in skipped]


@TECHNIQUES.register("ortho_reg")
class OrthogonalRegularization(Term):
    """BigGAN's orthogonal regularisation on G (Brock et al. 2019, §3.1):
    ``weight`` · Σ_W ‖(W Wᵀ) ⊙ (1 − I)‖²_F, W each weight as (out, rest), embeddings excluded.

    This is the paper's formula with its β = 1e-4. The reference code (BigGAN-PyTorch ``ortho``)
    adds the gradient 2β (W Wᵀ ⊙ (1 − I)) W directly, i.e. half this term's gradient: use
    ``weight: 5.0e-5`` to match that code rather than the paper.
    """

    name = "ortho_reg"

    def __init__(self, weight: float = 1e-4) -> None:
        _non_negative(weight, "weight", self.name)
        self.weight = weight
        self.params: list[torch.Tensor] = []

    def attach(self, G: nn.Module, D: nn.Module) -> None:
        self.params = ortho_parameters(G)

    def g_term(self, ctx: StepContext) -> torch.Tensor:
        if not self.params:
            raise RuntimeError("ortho_reg: attach(G, D) was not called, or G has no weights")
        return self.weight * sum(ortho_penalty(p.float()) for p in self.params)
