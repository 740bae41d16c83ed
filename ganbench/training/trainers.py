"""Which trainer trains a run: asked of the model family (its ``task``), never of its name."""

from __future__ import annotations

from typing import Any

from ganbench.registries import MODELS, load_all


def trainer_for(cfg: Any) -> type:
    """The trainer class of ``cfg``'s model family: generation (``Trainer``) or translation."""
    load_all()
    task = getattr(MODELS.get(cfg.model.name, "model.name"), "task", "generation")
    if task == "translation":
        from ganbench.training.translation_trainer import TranslationTrainer

        return TranslationTrainer
    from ganbench.training.trainer import Trainer

    return Trainer
