"""Device choice: one rule for training and evaluation (``runtime.device``, ``ganbench eval --device``),
and the precision of double-backward penalties under mixed precision."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

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


@contextlib.contextmanager
def penalty_precision(device_type: str) -> Iterator[bool]:
    """Turns fp16 autocast off for a penalty on an input gradient (gradient penalty, R1, path
    length); yields whether it did, so the caller casts its inputs to fp32. GradScaler scales the
    outer loss, not the inner ``autograd.grad``, and small per-pixel gradients underflow fp16's
    5-bit exponent. bf16 has fp32's range, so under bf16 autocast the penalty stays in it."""
    if torch.is_autocast_enabled(device_type) and torch.get_autocast_dtype(device_type) == torch.float16:
        with torch.autocast(device_type, enabled=False):
            yield True
    else:
        yield False
