"""Checkpoints: everything needed to resume a run exactly, written atomically, loaded without
unpickling arbitrary objects (``weights_only=True``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganbench.errors import CheckpointMismatchError, ConfigError, GanbenchError, SourceError
from ganbench.io import torch_load_safe, torch_save_atomic
from ganbench.records import set_aside

CHECKPOINT_DIR = "checkpoints"
LAST = "last.pt"
BEST = "best.pt"


def checkpoint_path(run_dir: str | Path, which: str = LAST) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR / which


class CorruptCheckpointError(GanbenchError):
    """A checkpoint file that cannot be read (truncated, corrupt, not a ganbench checkpoint)."""


def save_checkpoint(run_dir: str | Path, state: dict[str, Any], which: str = LAST) -> Path:
    path = checkpoint_path(run_dir, which)
    torch_save_atomic(path, state)
    return path


def load_checkpoint(path: str | Path, config_hash: str | None = None) -> dict[str, Any]:
    """Load a checkpoint; with ``config_hash``, refuse one written by another run config."""
    try:
        state = torch_load_safe(path)
    except GanbenchError as e:
        raise CorruptCheckpointError(str(e)) from e
    if not isinstance(state, dict):
        raise CorruptCheckpointError(f"{path}: not a ganbench checkpoint (a {type(state).__name__})")
    if config_hash is not None and state.get("config_hash") != config_hash:
        raise CheckpointMismatchError(
            f"{path}: checkpoint belongs to config {state.get('config_hash', '?')[:10]} "
            f"(run {state.get('run_id', '?')}), not to this run's config {config_hash[:10]}; "
            "move it away or point the run at its own folder"
        )
    return state


def set_aside_corrupt(run_dir: str | Path) -> Path | None:
    """Set the run's ``last.pt`` aside as ``last.pt.corrupt-<time>`` when it cannot be read, so the
    run starts over from step 0; returns the new path (None: no checkpoint, or a readable one)."""
    path = checkpoint_path(run_dir, LAST)
    if not path.is_file():
        return None
    try:
        load_checkpoint(path)
    except CorruptCheckpointError:
        return set_aside(path)
    return None


CHOICES = ("auto", "best", "last")


def load_generator_weights(
    run_dir: str | Path, checkpoint: str = "auto", use_ema: bool = True, config_hash: str | None = None
) -> tuple[dict[str, Any], Path, str, int | None]:
    """The weights of a run's evaluated generator: ``(state_dict, checkpoint file, which, step)``.

    ``checkpoint``: auto = best.pt when there is one, else last.pt. best.pt holds only {step, G} (the
    generator that was evaluated: EMA or not); last.pt is the full training state, checked against
    ``config_hash``, whose EMA weights are used when it has them and ``use_ema``. ``which`` is
    "best", "ema" or "G". The trainer and ``ganbench eval`` both load generators through this.
    """
    run_dir = Path(run_dir)
    if checkpoint not in CHOICES:
        raise ConfigError(f"run {run_dir}: checkpoint {checkpoint!r}; valid choices: {', '.join(CHOICES)}")
    best, last = checkpoint_path(run_dir, BEST), checkpoint_path(run_dir, LAST)
    if checkpoint == "auto":
        ckpt = best if best.is_file() else last
    else:
        ckpt = best if checkpoint == "best" else last
    if not ckpt.is_file():
        present = sorted(p.name for p in (run_dir / CHECKPOINT_DIR).glob("*.pt"))
        raise SourceError(
            f"run {run_dir}: {ckpt.relative_to(run_dir)} not found "
            f"(checkpoints there: {', '.join(present) or 'none'})"
        )
    state = load_checkpoint(ckpt, config_hash if ckpt == last else None)
    if ckpt == last and use_ema and "G_ema" in state:
        # torch's AveragedModel wraps G as ``module``; its ``n_averaged`` counter is not a G weight
        weights = {k.removeprefix("module."): v for k, v in state["G_ema"].items() if k != "n_averaged"}
        return weights, ckpt, "ema", state.get("step")
    return state["G"], ckpt, ("best" if ckpt == best else "G"), state.get("step")
