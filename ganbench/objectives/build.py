"""Build the :class:`Objective` of a run config from the registries."""

from __future__ import annotations

from typing import Any

from ganbench.objectives.objective import Objective
from ganbench.registries import CONDITIONINGS, LIPSCHITZ, LOSSES, TECHNIQUES, load_all


def build_objective(cfg: Any) -> Objective:
    load_all()
    o = cfg.objective
    loss = LOSSES.get(o.loss, "objective.loss")(**o.loss_params)
    lipschitz = LIPSCHITZ.get(o.lipschitz, "objective.lipschitz")(**o.lipschitz_params)
    terms = [TECHNIQUES.get(name, "objective.techniques")(**(p or {})) for name, p in o.techniques.items()]
    terms += CONDITIONINGS.get(cfg.model.conditioning, "model.conditioning")().terms(cfg)
    return Objective(loss, lipschitz, terms)
