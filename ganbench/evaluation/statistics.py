"""Feature statistics: one streaming accumulator, and the one loop that feeds extractor features to it.

:class:`FeatureStatistics` takes batches of features (N×F, numpy or torch, any device) and gives
the mean and the unbiased (N − 1) covariance in float64, as docs/protocols.md pins them for the Fréchet
distance. Rows are folded in fixed chunks of ``chunk_rows`` (so the float64 working copy is one
chunk, never the whole set), each chunk centred on its own mean and merged with Chan et al.'s
pairwise update (M₂ += M₂,chunk + δδᵀ·n_a·n_b/n): no raw second moments, so no cancellation when the
mean is large against the spread. The chunks do not depend on how the rows arrive in batches, so
the numbers depend on the rows and their order only. With ``keep_features`` the rows are also kept
(float32 when they come as float32) for the metrics that need them (KID, P/R/D/C, intra-FID); the
moments are then folded from the kept rows when first asked for, in the same chunks.

Like NVlabs' ``FeatureStats`` (stylegan2-ada-pytorch metrics/metric_utils.py), the same object
serves real and generated features; unlike it, the covariance is unbiased and computed centred.

:func:`extract_features` is the one loop that runs images through an extractor: reference splits
and generated samples alike, with a progress bar that has a total whenever the count is known.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm

from ganbench.errors import SourceError
from ganbench.evaluation.arrays import ArrayLike, as_features, as_labels

# rows per chunk: bounds the float64 working copy to 64 MiB at 2048-d (the peak is about three times
# that: the chunk, BLAS packing buffers, Σ); 8192 rows measured 100 MiB more at the same speed
CHUNK_ROWS = 4096


class FeatureStatistics:
    """Streaming mean and unbiased covariance (float64) of feature rows; optionally the rows too."""

    def __init__(self, keep_features: bool = False, name: str = "features", chunk_rows: int | None = None):
        self.keep_features = keep_features
        self.name = name
        self.chunk_rows = int(chunk_rows or CHUNK_ROWS)
        if self.chunk_rows < 1:
            raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
        self._rows: list[torch.Tensor] = []  # kept rows, or rows waiting for a full chunk
        self._pending = 0  # rows in _rows not folded yet
        self._n = 0  # rows added
        self._folded = 0  # rows in the moments
        self._mean: torch.Tensor | None = None
        self._m2: torch.Tensor | None = None
        self._dim: int | None = None

    # --- adding rows ---------------------------------------------------------------------------
    def add(self, features: ArrayLike) -> FeatureStatistics:
        """Add N×F rows (numpy or torch; float32/float64 kept, other dtypes → float64)."""
        x = as_features(features, self.name)
        if self._dim is None:
            self._dim = x.shape[1]
        elif x.shape[1] != self._dim:
            raise SourceError(f"{self.name}: a batch has {x.shape[1]} dimensions, earlier ones {self._dim}")
        self._rows.append(x)
        self._n += x.shape[0]
        self._pending += x.shape[0]
        if not self.keep_features and self._pending >= self.chunk_rows:
            self._fold_pending(final=False)
        return self

    @property
    def n(self) -> int:
        return self._n

    @property
    def dim(self) -> int | None:
        return self._dim

    # --- results -------------------------------------------------------------------------------
    def features(self) -> torch.Tensor:
        """All rows added, N×F (needs ``keep_features``)."""
        if not self.keep_features:
            raise ValueError(f"{self.name}: the features were not kept (keep_features=False)")
        if not self._rows:
            raise SourceError(f"{self.name}: no features given")
        if len(self._rows) > 1:
            self._rows = [torch.cat(self._rows)]  # once: later calls return the same tensor
        return self._rows[0]

    def mean_cov(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ, Σ) as float64 tensors on the features' device; Σ is unbiased (N − 1)."""
        if self._n < 2:
            raise SourceError(f"{self.name}: needs at least 2 samples, got {self._n}")
        if self._folded < self._n:
            if self.keep_features:
                self._fold(self.features()[self._folded :])
                self._pending = 0
            else:
                self._fold_pending(final=True)
        assert self._mean is not None and self._m2 is not None
        return self._mean.clone(), self._m2 / (self._n - 1)

    # --- folding -------------------------------------------------------------------------------
    def _fold_pending(self, final: bool) -> None:
        rows = torch.cat(self._rows) if len(self._rows) > 1 else self._rows[0]
        full = rows.shape[0] if final else rows.shape[0] - rows.shape[0] % self.chunk_rows
        self._fold(rows[:full])
        rest = rows[full:]
        # a copy, so the caller's whole array is not held alive for a few leftover rows
        self._rows = [rest.clone()] if len(rest) else []
        self._pending = len(rest)

    def _fold(self, rows: torch.Tensor) -> None:
        """Merge ``rows`` into the moments, ``chunk_rows`` at a time (the last chunk may be short)."""
        for start in range(0, rows.shape[0], self.chunk_rows):
            # the chunk's float64 working copy (a copy even for float64 rows: it is centred in place)
            c = rows[start : start + self.chunk_rows].to(torch.float64, copy=True)
            nb = c.shape[0]
            mean_b = c.mean(dim=0)
            c.sub_(mean_b)
            if self._mean is None or self._m2 is None:
                self._mean = mean_b
                self._m2 = c.T @ c
            else:
                na = self._folded
                delta = mean_b - self._mean
                total = na + nb
                self._mean = self._mean + delta * (nb / total)
                self._m2.addmm_(c.T, c).addr_(delta, delta, alpha=na * nb / total)
            self._folded += nb


# --------------------------------------------------------------------------------------------------
# the extraction loop

Item = torch.Tensor | tuple[torch.Tensor, Any]  # images, or (images, labels or None)


@dataclass
class Extracted:
    """What one pass of images through an extractor gave."""

    stats: FeatureStatistics  # the features (kept or only their moments)
    logits: torch.Tensor | None
    labels: torch.Tensor | None
    n: int
    preview: torch.Tensor = field(default_factory=lambda: torch.empty(0, dtype=torch.uint8))

    @property
    def features(self) -> torch.Tensor | None:
        return self.stats.features() if self.stats.keep_features else None


@torch.no_grad()
def extract_features(
    extractor: Any,
    batches: Iterable[Item],
    who: str,
    n: int | None = None,
    *,
    total: int | None = None,
    keep_features: bool = True,
    keep_logits: bool = False,
    transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    preview: int = 0,
    progress: bool = False,
    desc: str = "features",
    leave: bool = True,
) -> Extracted:
    """Run uint8 image batches through ``extractor`` into a :class:`FeatureStatistics`.

    ``batches`` yields images N×C×H×W or (images, labels) pairs. ``n``: take exactly the first n
    images (fewer is an error); None = all of them (``total``: how many that is, for the bar).
    ``transform`` maps each image batch before the extractor (e.g. conforming generated images to
    the reference shape); ``preview`` keeps that many of the first (transformed) images. NaN/inf
    features or logits are an error naming ``who`` and how many samples gave them. The features
    stay on the CPU.
    """
    stats = FeatureStatistics(keep_features=keep_features, name=f"{who}: features")
    logits: list[torch.Tensor] = []
    labels: list[torch.Tensor] = []
    kept: list[torch.Tensor] = []
    seen = kept_n = bad_features = bad_logits = 0
    with_labels: bool | None = None
    extractor.eval()
    with tqdm(
        total=n if n is not None else total, desc=desc, disable=not progress, leave=leave, unit="img"
    ) as bar:
        for item in batches:
            images, y = item if isinstance(item, (tuple, list)) else (item, None)
            if n is not None:
                images, y = images[: n - seen], (y[: n - seen] if y is not None else None)
            if len(images) == 0:
                break
            if with_labels is None:
                with_labels = y is not None
            elif with_labels != (y is not None):
                raise SourceError(f"{who}: some batches came with labels and some without")
            if transform is not None:
                images = transform(images)
            f, lg = extractor(images)
            f = f.cpu()
            rows_ok = torch.isfinite(f).all(dim=1)
            bad_features += int((~rows_ok).sum())
            if not bad_features:
                stats.add(f)
            if keep_logits and lg is not None:
                lg = lg.cpu()
                bad_logits += int((~torch.isfinite(lg).all(dim=1)).sum())
                logits.append(lg)
            if y is not None:
                labels.append(as_labels(y, f"{who}: labels", len(images)))
            if kept_n < preview:
                kept.append(images[: preview - kept_n].cpu())
                kept_n += len(kept[-1])
            seen += len(images)
            bar.update(len(images))
            if n is not None and seen >= n:
                break
    name = getattr(extractor, "name", type(extractor).__name__)
    for bad, what in ((bad_features, "features"), (bad_logits, "logits")):
        if bad:
            raise SourceError(f"{who}: extractor {name!r} gave NaN or inf {what} for {bad} samples")
    if n is not None and seen < n:
        raise SourceError(f"{who}: asked for n={n} images, the source gave only {seen}")
    return Extracted(
        stats,
        torch.cat(logits) if logits else None,
        torch.cat(labels) if labels else None,
        seen,
        torch.cat(kept) if kept else torch.empty(0, dtype=torch.uint8),
    )
