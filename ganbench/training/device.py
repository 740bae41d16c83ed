"""Device choice and runtime settings."""

from __future__ import annotations

import torch

from ganbench.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """``auto`` = the first CUDA device when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"runtime.device: {name!r} was asked for but CUDA is not available; use auto or cpu"
        )
    return dev
