"""Deterministic batch order over a finite dataset, shared by every image source.

Epoch ``e`` visits the dataset in a permutation seeded by ``(seed, e)``; the stream is the
concatenation of the epochs, each cut into ``len // batch_size`` full batches (the ragged tail of
an epoch is dropped). Batch ``k`` is therefore a pure function of ``(seed, k)``: a run resumed at
``start=k`` sees exactly the batches an uninterrupted run would have seen.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import Sampler

from ganbench.errors import ConfigError


def derived_seed(*parts: int) -> int:
    """One 63-bit seed from several integers; nearby tuples give unrelated streams."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(2, dtype=np.uint64)[0] >> 1)


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The order (int64 indices) in which epoch ``epoch`` of a stream seeded ``seed`` visits ``n`` items."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(derived_seed(seed, epoch)))


class IndexStream:
    """Endless iterator of index batches (int64 tensors of ``batch_size``) starting at batch ``start``."""

    def __init__(self, n: int, batch_size: int, seed: int, start: int = 0) -> None:
        if batch_size <= 0:
            raise ConfigError(f"batch size must be > 0, got {batch_size}")
        if n < batch_size:
            raise ConfigError(f"the dataset has {n} images, fewer than one batch of {batch_size}")
        if start < 0:
            raise ConfigError(f"stream start must be >= 0, got {start}")
        self.n, self.batch_size, self.seed, self.start = n, batch_size, seed, start
        self.per_epoch = n // batch_size

    def __iter__(self) -> Iterator[torch.Tensor]:
        epoch, j = divmod(self.start, self.per_epoch)
        while True:
            perm = epoch_permutation(self.n, self.seed, epoch)
            bs = self.batch_size
            for i in range(j, self.per_epoch):
                yield perm[i * bs : (i + 1) * bs]
            epoch, j = epoch + 1, 0


class StreamBatchSampler(Sampler[list[int]]):
    """The same order as :class:`IndexStream`, as a ``batch_sampler`` for a torch DataLoader.

    It has no ``__len__`` on purpose: the stream is endless.
    """

    def __init__(self, n: int, batch_size: int, seed: int, start: int = 0) -> None:
        self.indices = IndexStream(n, batch_size, seed, start)

    def __iter__(self) -> Iterator[list[int]]:
        for idx in self.indices:
            yield idx.tolist()


class RangeBatchSampler(Sampler[list[int]]):
    """Consecutive batches of ``range(n)``, the last one possibly short (a fixed, complete pass)."""

    def __init__(self, n: int, batch_size: int) -> None:
        self.n, self.batch_size = n, batch_size

    def __iter__(self) -> Iterator[list[int]]:
        for i in range(0, self.n, self.batch_size):
            yield list(range(i, min(i + self.batch_size, self.n)))

    def __len__(self) -> int:
        return -(-self.n // self.batch_size)
