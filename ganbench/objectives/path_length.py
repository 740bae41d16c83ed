"""Path-length regularisation (Karras et al. 2020, StyleGAN2 §3.2), lazily every ``interval`` G steps.

With ws = mapping(z) (style-mixed as in training) and images g(ws) of H×W pixels, y ~ N(0, I)/√(HW):
the per-sample length a = ‖J_wᵀ y‖₂ = √(mean over the ws of Σ_w (∂(g(ws)·y)/∂ws)²) (NVIDIA's
``pl_grads.square().sum(2).mean(1).sqrt()``), its running mean ā ← lerp(ā, mean a, ``decay``), and the
penalty ``weight`` · (a − ā)² averaged over the batch, ×``interval`` on the steps it acts on (the
lazy regularisation, G's Adam rescaled by the trainer). The batch is the G step's batch // ``batch_shrink``
(its size, and its labels for a conditional G, are taken from that step). ā is saved with the
trainer's checkpoint (``state_dict``).

Under torchrun the lazy step regularises the single process's shrunk batch, each rank its share
(latents and noise drawn for that batch and sliced, :func:`ganbench.objectives.draws.global_draws`;
the labels the global batch's first ones; the mean length all-reduced before the ā EMA), when the
shrunk batch divides among the ranks; otherwise each rank shrinks its own slice, with a warning.

It needs a generator with a mapping network and a synthesis network (``map_ws`` / ``training_ws``
and ``synthesis(ws)``, differentiable in ws): the model family declares that with the class
attribute ``supports_path_length``; validation refuses the others.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from ganbench.devices import distributed_active, penalty_precision
from ganbench.errors import ConfigError
from ganbench.objectives.draws import global_draws
from ganbench.objectives.objective import StepContext, Term
from ganbench.registries import MODELS, TECHNIQUES

NOT_DATA_PARALLEL = (
    "objective.techniques.path_length under torchrun: the shrunk batch (global batch // batch_shrink = "
    "{total}) does not divide among {world} ranks, so each rank regularises batch // batch_shrink of its "
    "own slice and the run depends on the world size; choose batch_size and batch_shrink so that "
    "batch_size // batch_shrink is a multiple of the world size (docs/executors.md, 'One run on many GPUs')"
)


def _world() -> tuple[int, int]:
    """(rank, world size) of the process group, else (0, 1)."""
    if distributed_active():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def path_lengths(images: torch.Tensor, ws: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Per-sample ‖J_wᵀ y‖ (N,) for images g(ws) and y = ``noise``; differentiable (double backward)."""
    (grads,) = torch.autograd.grad((images * noise).sum(), ws, create_graph=True)
    return grads.square().sum(2).mean(1).sqrt()


@TECHNIQUES.register("path_length")
class PathLength(Term):
    """``objective.techniques.path_length: {weight: 2, interval: 4, decay: 0.01, batch_shrink: 2}``
    (StyleGAN2's config F values)."""

    name = "path_length"

    def __init__(
        self, weight: float = 2.0, interval: int = 4, decay: float = 0.01, batch_shrink: int = 2
    ) -> None:
        where = "objective.techniques.path_length"
        if not weight >= 0:
            raise ConfigError(f"{where}.weight must be >= 0, got {weight}")
        if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
            raise ConfigError(
                f"{where}.interval must be an integer >= 1 (1 = every G step), got {interval!r}"
            )
        if not 0.0 <= decay <= 1.0:
            raise ConfigError(f"{where}.decay must be in [0, 1], got {decay}")
        if not isinstance(batch_shrink, int) or batch_shrink < 1:
            raise ConfigError(f"{where}.batch_shrink must be an integer >= 1, got {batch_shrink!r}")
        self.weight, self.decay, self.batch_shrink = weight, decay, batch_shrink
        self.interval = interval
        self.g_interval = interval
        self.pl_mean = torch.zeros([])
        self._batch: int | None = None
        self._labels: torch.Tensor | None = None
        self._last: dict[str, float] = {}
        self._warned = False
        self._global = False  # under torchrun: the lazy batch is the global one, sliced per rank

    @classmethod
    def validate(cls, cfg: Any, where: str) -> None:
        family = MODELS.get(cfg.model.name, f"{where}: model.name")
        if not getattr(family, "supports_path_length", False):
            able = [n for n in MODELS.names() if getattr(MODELS.get(n), "supports_path_length", False)]
            raise ConfigError(
                f"{where}: objective.techniques.path_length needs a generator with a mapping and a synthesis "
                f"network; the {cfg.model.name!r} family has none; families that do: {', '.join(able)}"
            )

    def g_term(self, ctx: StepContext) -> None:
        # the lazy step comes after this G step: it uses the step's batch size and labels
        rank, world = _world()
        total = max(1, len(ctx.fake) * world // self.batch_shrink)  # the single process's batch
        self._global = world > 1 and total % world == 0
        if self._global:
            # rank r regularises its share of the single process's shrunk batch (latents, noise and
            # labels: that batch's, sliced); the labels are the first `total` of the global batch
            self._batch = total // world
            y = ctx.y_fake
            if y is not None:
                parts = [torch.empty_like(y) for _ in range(world)]
                dist.all_gather(parts, y.contiguous())
                y = torch.cat(parts)[:total][rank * self._batch : (rank + 1) * self._batch]
            self._labels = y
        else:
            if world > 1 and not self._warned:  # a known limit, said once per run
                self._warned = True
                warnings.warn(NOT_DATA_PARALLEL.format(total=total, world=world), stacklevel=2)
            self._batch = max(1, len(ctx.fake) // self.batch_shrink)
            self._labels = ctx.y_fake[: self._batch] if ctx.y_fake is not None else None
        return None

    def penalty(self, G: nn.Module, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """weight · mean (a − ā)², ā updated (not ×interval); the definition above. Under torchrun
        (the global lazy batch sliced per rank) ā follows the global mean length, and the ranks'
        penalties average (the gradient all-reduce) to the global batch's."""
        ws = G.training_ws(z, y)
        images = G.synthesis(ws)
        if self._global:  # torch.randn is widened to the global batch (global_draws); randn_like is not
            noise = torch.randn(images.shape, dtype=images.dtype, device=images.device)
        else:
            noise = torch.randn_like(images)
        noise = noise / math.sqrt(images.shape[2] * images.shape[3])
        lengths = path_lengths(images, ws, noise)
        self.pl_mean = self.pl_mean.to(lengths.device)
        mean = lengths.mean().detach()
        if self._global:
            mean = mean.clone()
            dist.all_reduce(mean)
            mean /= dist.get_world_size()
        pl_mean = self.pl_mean.lerp(mean, self.decay)
        self.pl_mean = pl_mean.detach()
        penalty = (lengths - pl_mean).square().mean()
        self._last = {"pl_mean": float(pl_mean), "pl_length": float(mean)}
        # × 0 of an image pixel: as NVIDIA's, every parameter of G is in the graph
        return images[:, 0, 0, 0].mean() * 0 + penalty * self.weight

    def g_lazy_term(self, G: nn.Module, step: int) -> torch.Tensor | None:
        if self.weight == 0 or step % self.g_interval:
            return None
        device = next(G.parameters()).device
        batch = self._batch or 1
        # under torchrun: the single process's draws for its shrunk batch, this rank's slice
        draws = global_draws(*_world(), batch) if self._global else contextlib.nullcontext()
        with penalty_precision(device.type), draws:  # G in fp32 under fp16 autocast (z is fp32 already)
            z = torch.randn(batch, G.z_dim, device=device)
            return self.penalty(G, z, self._labels) * self.g_interval

    def logs(self) -> dict[str, torch.Tensor | float]:
        return dict(self._last)

    def state_dict(self) -> dict[str, Any]:
        return {"pl_mean": self.pl_mean.detach().cpu().clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pl_mean = torch.as_tensor(state["pl_mean"]).clone()
