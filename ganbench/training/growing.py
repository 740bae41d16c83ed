"""The training schedule: which resolution, fade-in α and batch size each generator step trains
with, and how many real images D has seen before it (Karras et al. 2018's progressive growing,
``train.growing``; without it, one phase at the data's resolution and ``train.batch_size``).

The state of step ``s`` is a pure function of ``s`` (:meth:`Schedule.at`), so a run resumed at any
step, in the middle of a fade-in too, sets the networks exactly as an uninterrupted run did; nothing
of it is checkpointed. Lengths are in images (``GrowingConfig``); a phase ends at the first step
whose images reach its length. α of a step is the fraction of the fade-in's images seen *before*
it, so the first step of a phase trains with α = 0 (the previous resolution, exactly) and α reaches
1 once ``fade_images`` images have been shown.

The data stream is cut into segments of one batch size: a segment starts where the batch size
changes (the stream's positions count batches, so its position is exact within a segment) and
draws its epochs from its own seed, ``derived_seed(seed, segment)``; segment 0 is the plain stream
``(batch_size, seed)``, so a growing run with one batch size reads the batches a non-growing run does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ganbench.config import RunConfig
from ganbench.data.stream import derived_seed
from ganbench.errors import GanbenchError
from ganbench.models.growing import grows, to_resolution


@dataclass(frozen=True)
class Phase:
    resolution: int | None  # None: a run that does not grow
    start_step: int
    start_images: int  # real images shown to D before its first step
    batch_size: int
    fade_steps: int  # 0: no fade-in (the first phase)
    segment: int  # data-stream segment (a run of phases with one batch size)
    segment_start: int  # the step that segment starts at


@dataclass(frozen=True)
class GrowthState:
    phase: int
    resolution: int | None
    alpha: float
    batch_size: int
    images_seen: int  # before this step


class Schedule:
    """The run's phases; :meth:`at` gives the state of a generator step."""

    def __init__(self, cfg: RunConfig) -> None:
        t, g = cfg.train, cfg.train.growing
        self.n_critic = t.n_critic
        self.grows = g is not None
        self.phases: list[Phase] = []
        if g is None:
            self.phases.append(Phase(None, 0, 0, t.batch_size, 0, 0, 0))
            return
        step = images = segment = segment_start = 0
        lengths = [*g.phase_steps(t.batch_size, t.n_critic), None]
        for i, (res, n) in enumerate(zip(g.resolutions, lengths, strict=True)):
            bs = g.batch_size_at(i, t.batch_size)
            if self.phases and bs != self.phases[-1].batch_size:
                segment, segment_start = segment + 1, step
            self.phases.append(
                Phase(
                    res, step, images, bs, g.fade_steps(i, t.batch_size, t.n_critic), segment, segment_start
                )
            )
            if n is not None:
                step, images = step + n, images + n * bs * t.n_critic

    def phase_of(self, step: int) -> int:
        return max(i for i, p in enumerate(self.phases) if p.start_step <= step)

    def at(self, step: int) -> GrowthState:
        i = self.phase_of(step)
        p = self.phases[i]
        k = step - p.start_step
        alpha = 1.0 if p.fade_steps == 0 else min(1.0, k / p.fade_steps)
        return GrowthState(
            i, p.resolution, alpha, p.batch_size, p.start_images + k * p.batch_size * self.n_critic
        )

    def images_seen(self, steps: int) -> int:
        """Real images shown to D in the first ``steps`` generator steps."""
        return self.at(steps).images_seen

    def evaluated_state(self, done: int) -> GrowthState:
        """The state a generator evaluated after ``done`` steps was trained in (the last step's)."""
        return self.at(max(done - 1, 0))

    def fully_grown(self, done: int) -> bool:
        """Whether the generator evaluated after ``done`` steps is the final one (last resolution,
        faded in): only those are candidates for the best checkpoint."""
        state = self.evaluated_state(done)
        return state.phase == len(self.phases) - 1 and state.alpha == 1.0

    def stream(self, data: Any, seed: int, step: int) -> Iterator[Any]:
        """The data stream positioned for generator step ``step``."""
        p = self.phases[self.phase_of(step)]
        segment_seed = seed if p.segment == 0 else derived_seed(seed, p.segment)
        return data.stream(p.batch_size, segment_seed, (step - p.segment_start) * self.n_critic)

    def starts_segment(self, step: int) -> bool:
        return any(p.segment_start == p.start_step == step and step > 0 for p in self.phases)


class Growth:
    """Sets G, D (and G's EMA copy) to the schedule's resolution and α; checks they can grow; fades
    the real images in as G's output fades in."""

    def __init__(self, schedule: Schedule, nets: list[nn.Module]) -> None:
        self.schedule, self.nets = schedule, nets
        self.state: GrowthState | None = None
        if not schedule.grows:
            return
        resolutions = [p.resolution for p in schedule.phases]
        for net in nets:
            if not grows(net):
                raise GanbenchError(f"train.growing: {type(net).__name__} does not grow (no set_growth)")
            missing = [r for r in resolutions if r not in net.growth_resolutions]
            if missing:
                raise GanbenchError(
                    f"train.growing.resolutions: {type(net).__name__} grows through "
                    f"{list(net.growth_resolutions)}, not {missing}"
                )

    def apply(self, state: GrowthState) -> None:
        self.state = state
        if not self.schedule.grows:
            return
        for net in self.nets:
            net.set_growth(net.growth_resolutions.index(state.resolution), state.alpha)

    def blend_reals(self, real: torch.Tensor) -> torch.Tensor:
        """During a fade-in, the real images D sees are blended like G's output (Karras et al. 2018,
        Figure 2 and the authors' ``process_reals``): (1 − α)·the previous resolution upsampled +
        α·the current one, back at full resolution (D pools it down exactly). Identity otherwise."""
        s = self.state
        if s is None or s.resolution is None or s.alpha >= 1.0:
            return real
        previous = self.schedule.phases[s.phase - 1].resolution
        x = to_resolution(real, s.resolution)
        low = to_resolution(to_resolution(x, previous), s.resolution)
        return to_resolution(torch.lerp(low, x, s.alpha), real.shape[-1])
