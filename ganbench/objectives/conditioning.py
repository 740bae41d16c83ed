"""Conditioning methods (registered in ``CONDITIONINGS``).

Contract: an entry is a class with
  ``validate(cfg: RunConfig, where: str) -> None``  (reject combinations that cannot work),
  ``terms(cfg: RunConfig) -> list[Term]``           (extra loss terms, e.g. ACGAN's classifier loss).
The model family reads ``cfg.model.conditioning`` to build label-aware G and D.
"""

from __future__ import annotations

from typing import Any

from ganbench.objectives.objective import Term
from ganbench.registries import CONDITIONINGS


@CONDITIONINGS.register("none")
class Unconditional:
    name = "none"
    conditional = False

    def validate(self, cfg: Any, where: str) -> None:
        return None

    def terms(self, cfg: Any) -> list[Term]:
        return []
