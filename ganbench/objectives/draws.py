"""Per-sample random draws of a data-parallel step: the single process's draws, sliced per rank.

Under torchrun every rank holds a slice of the global batch and the same RNG state. Inside
:func:`global_draws`, ``torch.rand`` / ``torch.randn`` calls whose first dimension is the local batch
draw for the global batch (world × local) and return this rank's slice, so an objective's
per-sample random numbers (GP's ε, path-length noise) are the single process's and every rank's RNG
advances identically. The objective needs no change for it. The trainer opens it around every step
(``training.distributed.per_sample_draws``); a term whose batch is not the step's (path length's
shrunk lazy batch) opens it again with its own local size: the innermost block decides, and the
widened draw always comes from torch's own function, never from an enclosing block's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import torch

# torch's own functions, taken at import (before any block patches them)
_TORCH: dict[str, Callable[..., torch.Tensor]] = {"rand": torch.rand, "randn": torch.randn}


@contextlib.contextmanager
def global_draws(rank: int, world: int, local_n: int) -> Iterator[None]:
    """Within this block, ``torch.rand``/``torch.randn`` of first dimension ``local_n`` draw for
    ``local_n · world`` rows and return rows ``[rank · local_n, (rank + 1) · local_n)``. Draws of
    another shape are left alone (they are the same on every rank, whose RNG states are equal).
    Nothing changes in a single process (``world`` 1)."""
    if world <= 1:
        yield
        return

    def widened(fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
        def draw(*size: Any, **kwargs: Any) -> torch.Tensor:
            shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
            if shape and shape[0] == local_n and all(isinstance(s, int) for s in shape):
                full = fn((local_n * world, *shape[1:]), **kwargs)
                return full[rank * local_n : (rank + 1) * local_n]
            return fn(*size, **kwargs)

        return draw

    enclosing = {name: getattr(torch, name) for name in _TORCH}
    try:
        for name, fn in _TORCH.items():
            setattr(torch, name, widened(fn))
        yield
    finally:
        for name, fn in enclosing.items():
            setattr(torch, name, fn)
