"""Packing (PacGAN, Lin et al. 2018, "PacGAN: the power of two samples in generative adversarial
networks"): the discriminator judges m samples at once, concatenated along the feature axis (points)
or the channel axis (images), real packs against fake packs.

    objective.techniques.packing: {m: 2}

How it plugs in:

- **Building.** D must take m× the input width. The technique declares it
  (:meth:`Packing.d_input_multiplier`); the model families ask the config for the product of their
  techniques' multipliers (``models/family.py: d_input_multiplier``) and build D with ``m · channels``
  (images) or ``m · dim`` (points) inputs.
- **Packs.** A batch of N samples becomes N/m packs: sample i goes to pack i // m, in position i % m
  (:func:`pack`). The samples of a batch are independent draws (a fresh data batch, fresh latents),
  so consecutive groups are packs drawn without replacement from the batch, as the paper defines
  them, with no random numbers of their own: the packing order is deterministic. N must be a
  multiple of m (checked at validation for ``train.batch_size``; each of the ``train.n_critic`` D
  batches and the G batch has that size).
- **Losses.** The objective packs real and fake batches before calling D
  (``objectives/objective.py``), so the adversarial loss is a mean over packs.
- **Lipschitz penalties act on D's input, which is a pack.** WGAN-GP interpolates packs
  (x̂ = ε·pack_real + (1 − ε)·pack_fake, one ε per pack) and penalises ‖∇D(x̂)‖ over the whole pack;
  R1 penalises ‖∇D(pack_real)‖². The penalty then constrains D as the function it is, of an
  (m·d)-dimensional input.
- **The Lipschitz estimate** (``lipschitz.py: estimate_lipschitz``) is asked by the trainer with
  unpacked batches and D alone: :meth:`Packing.attach` marks the built D with how many samples it
  takes per input (:func:`samples_per_input`), and the estimate packs its batches by that.
- **Labels do not survive packing**: a class-conditional D takes one label per input, a pack holds
  m samples; validation rejects conditionings that need labels.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ganbench.errors import ConfigError
from ganbench.objectives.objective import Term
from ganbench.registries import CONDITIONINGS, MODELS, TECHNIQUES

# Attribute a packed D carries: samples per input (absent = 1).
SAMPLES_PER_INPUT = "samples_per_input"


def pack(x: torch.Tensor, m: int) -> torch.Tensor:
    """(N, F, ...) → (N/m, m·F, ...): sample i is in pack i // m at feature block i % m, i.e. pack k is
    ``torch.cat([x[k·m], …, x[k·m + m − 1]], dim=1)``."""
    n = x.shape[0]
    if n % m:
        raise ValueError(f"packing: a batch of {n} samples cannot be cut into packs of {m}")
    return x.reshape(n // m, m * x.shape[1], *x.shape[2:])


def samples_per_input(D: nn.Module) -> int:
    """How many samples D takes per input: m for a discriminator attached with packing, else 1."""
    return int(getattr(D, SAMPLES_PER_INPUT, 1))


def _check_m(m: Any, where: str) -> int:
    if isinstance(m, bool) or not isinstance(m, int) or m < 2:
        raise ConfigError(
            f"{where}objective.techniques.packing.m must be an integer >= 2 (samples per pack; the "
            f"paper uses 2, 3, 4), got {m!r}"
        )
    return m


@TECHNIQUES.register("packing")
class Packing(Term):
    """D sees packs of ``m`` samples (Lin et al. 2018). See the module docstring."""

    name = "packing"

    def __init__(self, m: int = 2) -> None:
        self.m = _check_m(m, "")

    @classmethod
    def d_input_multiplier(cls, params: dict[str, Any]) -> int:
        return _check_m(params.get("m", 2), "")

    @classmethod
    def validate(cls, cfg: Any, where: str) -> None:
        w = f"{where}: "
        m = _check_m((cfg.objective.techniques.get("packing") or {}).get("m", 2), w)
        bs = cfg.train.batch_size
        if bs % m:
            raise ConfigError(
                f"{w}objective.techniques.packing.m={m} does not divide train.batch_size={bs}: every D batch "
                f"(each of the train.n_critic={cfg.train.n_critic} per step) and the G batch are cut into "
                f"packs of m samples; use a batch size that is a multiple of {m}, e.g. {bs - bs % m or m}"
            )
        family = MODELS.get(cfg.model.name, f"{w}model.name")
        if not getattr(family, "packs_d_input", False):
            able = [n for n in MODELS.names() if getattr(MODELS.get(n), "packs_d_input", False)]
            raise ConfigError(
                f"{w}objective.techniques.packing: the {cfg.model.name!r} family does not build its "
                f"discriminator for packs (models/family.py: d_input_multiplier); families that do: "
                f"{', '.join(able)}"
            )
        if CONDITIONINGS.get(cfg.model.conditioning, f"{w}model.conditioning").needs_labels:
            raise ConfigError(
                f"{w}objective.techniques.packing: model.conditioning {cfg.model.conditioning!r} gives D one "
                "label per input, but a pack holds m samples; packing works with unconditional models "
                "(model.conditioning: none)"
            )

    def attach(self, G: nn.Module, D: nn.Module) -> None:
        setattr(D, SAMPLES_PER_INPUT, self.m)

    def d_input(self, x: torch.Tensor, y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        return pack(x, self.m), None
