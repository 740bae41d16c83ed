"""Device choice: one rule for training and evaluation (``runtime.device``, ``ganbench eval --device``)."""

from __future__ import annotations

import torch
import torch.distributed

from ganbench.errors import ConfigError

DEVICE_CHOICES = "auto, cpu, cuda, cuda:N, mps"


def resolve_device(name: str) -> torch.device:
    """``auto`` = the first CUDA device when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"device {name!r}; valid choices: {DEVICE_CHOICES}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} was asked for but CUDA is not available; use auto or cpu")
    return dev


def distributed_active() -> bool:
    """Whether this process is a rank of an initialised torch.distributed process group (torchrun):
    the one test the trainer, the evaluator and stateful techniques ask before a collective."""
    return torch.distributed.is_available() and torch.distributed.is_initialized()
