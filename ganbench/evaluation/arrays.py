"""Checks shared by the metric functions: feature arrays in, clear errors out.

Metrics accept numpy arrays or torch tensors; these helpers turn either into a 2-D torch tensor
without copying (``torch.as_tensor`` shares numpy memory) and name the offending argument.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ganbench.errors import SourceError

ArrayLike = Any  # numpy.ndarray | torch.Tensor (anything torch.as_tensor accepts)


def as_features(x: ArrayLike, name: str, min_rows: int = 1) -> torch.Tensor:
    """``x`` as a 2-D (N, F) tensor on its own device; float32/float64 kept, other dtypes -> float64."""
    if x is None:
        raise SourceError(f"{name}: no features given")
    t = torch.as_tensor(x)
    if t.ndim != 2:
        raise SourceError(f"{name}: expected a 2-D array of shape (N, F), got shape {tuple(t.shape)}")
    if t.dtype not in (torch.float32, torch.float64):
        t = t.to(torch.float64)
    if t.shape[0] < min_rows:
        raise SourceError(f"{name}: needs at least {min_rows} samples, got {t.shape[0]}")
    if t.shape[1] < 1:
        raise SourceError(f"{name}: has zero feature dimensions")
    check_finite(t, name)
    return t


def check_finite(t: torch.Tensor, name: str) -> None:
    # in row chunks: torch.isfinite materialises ~7 bytes per element of temporaries
    flat = t.reshape(t.shape[0], -1) if t.ndim > 1 else t.reshape(-1, 1)
    step = max(1, (4 << 20) // max(1, flat.shape[1]))
    bad = sum(
        int((~torch.isfinite(flat[s : s + step])).any(dim=1).sum()) for s in range(0, flat.shape[0], step)
    )
    if bad:
        what = "rows" if t.ndim == 2 else "values"
        raise SourceError(f"{name}: contains NaN or inf ({bad} {what} affected)")


def same_dims(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str) -> None:
    if a.shape[1] != b.shape[1]:
        raise SourceError(f"feature dimensions differ: {name_a} has {a.shape[1]}, {name_b} has {b.shape[1]}")


def as_labels(y: ArrayLike, name: str, n: int, num_classes: int | None = None) -> torch.Tensor:
    """Class labels as a 1-D int64 CPU tensor of length ``n``, each in 0..num_classes-1.

    The one label check of the evaluation core: metric inputs, stored labels of a source and the
    labels a generator is asked for all go through it.
    """
    t = y.detach().cpu() if isinstance(y, torch.Tensor) else torch.as_tensor(np.asarray(y))
    if t.ndim != 1 or t.shape[0] != n:
        raise SourceError(f"{name}: expected {n} labels (a 1-D array), got shape {tuple(t.shape)}")
    if t.dtype.is_floating_point or t.dtype == torch.bool or t.is_complex():
        raise SourceError(f"{name}: labels must be integers, got dtype {t.dtype}")
    t = t.to(torch.int64)
    if n and int(t.min()) < 0:
        raise SourceError(f"{name}: labels must be >= 0, got {int(t.min())}")
    if n and num_classes is not None and int(t.max()) >= num_classes:
        raise SourceError(f"{name}: label {int(t.max())} is out of range for {num_classes} classes")
    return t
