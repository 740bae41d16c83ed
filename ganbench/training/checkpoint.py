"""Checkpoints: everything needed to resume a run exactly, written atomically, loaded without
unpickling arbitrary objects (``weights_only=True``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganbench.errors import CheckpointMismatchError
from ganbench.io import torch_load_safe, torch_save_atomic

CHECKPOINT_DIR = "checkpoints"
LAST = "last.pt"
BEST = "best.pt"


def checkpoint_path(run_dir: str | Path, which: str = LAST) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR / which


def save_checkpoint(run_dir: str | Path, state: dict[str, Any], which: str = LAST) -> Path:
    path = checkpoint_path(run_dir, which)
    torch_save_atomic(path, state)
    return path


def load_checkpoint(path: str | Path, config_hash: str | None = None) -> dict[str, Any]:
    """Load a checkpoint; with ``config_hash``, refuse one written by another run config."""
    state = torch_load_safe(path)
    if config_hash is not None and state.get("config_hash") != config_hash:
        raise CheckpointMismatchError(
            f"{path}: checkpoint belongs to config {state.get('config_hash', '?')[:10]} "
            f"(run {state.get('run_id', '?')}), not to this run's config {config_hash[:10]}; "
            "move it away or point the run at its own folder"
        )
    return state
