"""``ImageDataSource``: any map-style dataset of (image, label) as a deterministic image stream.

Two ways to serve batches, with the same order and the same pixels:

- **in memory** (MNIST-likes, CIFAR, STL10, stacked sets, or ``in_memory: true``): every image is
  preprocessed once into one uint8 N×C×H×W tensor; a batch is an index into it (thousands of
  batches per minute on a CPU);
- **streaming** (CelebA, image folders): a torch DataLoader with workers reads and preprocesses
  the images of each batch, in the order given by a deterministic batch sampler.

Order (see :mod:`ganbench.data.stream`): epoch ``e`` is a permutation seeded by ``(seed, e)``,
batch ``k`` is the ``k``-th full batch of the concatenated epochs, so ``stream(b, seed, start=k)``
resumes exactly. ``iter_uint8`` gives the real images of a split in file order, for reference
statistics.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision import datasets as tvd

from ganbench.cache import cache_root
from ganbench.data.base import Batch, DataSource, check_options
from ganbench.data.preprocess import Interpolation, Preprocess, to_float, to_uint8_chw
from ganbench.data.stream import IndexStream, RangeBatchSampler, StreamBatchSampler
from ganbench.errors import ConfigError

LabelledUInt8 = tuple[torch.Tensor, torch.Tensor | None]  # (uint8 N×C×H×W, int64 labels or None)
_CHUNK = 2048  # images preprocessed at once on the in-memory path (bounds the float32 copy)


def resolve_root(root: str | os.PathLike | None) -> Path:
    """Where dataset files are looked for: ``data.root`` if given, else ``<ganbench cache>/datasets``
    (``$GANBENCH_CACHE/datasets``, default ``~/.cache/ganbench/datasets``), torchvision's layout."""
    if root is not None:
        return Path(root).expanduser()
    return cache_root() / "datasets"


def check_data_params(options: Callable[..., Any], params: dict[str, Any], dataset: str) -> dict[str, Any]:
    """``data.params`` checked against the signature of ``options``, with its defaults filled in;
    errors name the dataset and the key. (Datasets do this through ``DataSource.check_params``.)"""
    return check_options(options, params, dataset)


def default_workers() -> int:
    """DataLoader workers for streaming sources: leave one core to the training process."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def raw_arrays(dataset: Any) -> LabelledUInt8 | None:
    """The whole dataset as (uint8 N×C×H×W, labels) when torchvision already holds it in memory
    untransformed (MNIST family, CIFAR, STL10); None otherwise. Labels < 0 mean unlabelled (STL10)."""
    if (
        getattr(dataset, "transform", None) is not None
        or getattr(dataset, "target_transform", None) is not None
    ):
        return None
    kind = type(dataset)
    if kind in (tvd.MNIST, tvd.FashionMNIST, tvd.KMNIST):
        return dataset.data.unsqueeze(1), torch.as_tensor(dataset.targets, dtype=torch.int64)
    if kind in (tvd.CIFAR10, tvd.CIFAR100):
        images = torch.from_numpy(np.asarray(dataset.data)).permute(0, 3, 1, 2)
        return images, torch.as_tensor(dataset.targets, dtype=torch.int64)
    if kind is tvd.STL10:
        labels = None if dataset.labels is None else torch.from_numpy(dataset.labels.astype(np.int64))
        return torch.from_numpy(dataset.data), labels
    return None


def _label(y: Any) -> int:
    """An item's label as an int; -1 for none (collates where None would not)."""
    if y is None:
        return -1
    if isinstance(y, torch.Tensor):
        if y.numel() != 1:
            raise ConfigError(f"image labels must be class indices, got a tensor of shape {tuple(y.shape)}")
        y = y.item()
    return int(y)


class _Prepared(Dataset):
    """A dataset's items preprocessed to uint8 (runs inside DataLoader workers)."""

    def __init__(self, dataset: Any, pre: Preprocess) -> None:
        self.dataset, self.pre = dataset, pre

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        img, y = self.dataset[i]
        return self.pre(to_uint8_chw(img)), _label(y)


class ImageDataSource(DataSource):
    """Images from a map-style dataset returning (PIL image | array | tensor, label | None).

    ``resolution``/``channels`` default to the native ones (the shorter side, after the square
    crop, and the first image's channel count). ``num_classes`` defaults to ``len(dataset.classes)``
    or the largest label + 1; a dataset whose labels are None or negative is unlabelled.
    ``open_split(split)`` builds the same source on another split (for ``iter_uint8(split=...)``).
    """

    kind = "images"

    def __init__(
        self,
        dataset: Any,
        *,
        name: str = "images",
        split: str = "train",
        splits: tuple[str, ...] | None = None,
        root: str | os.PathLike | None = None,
        resolution: int | None = None,
        channels: int | None = None,
        num_classes: int | None = None,
        crop: int | None = None,
        interpolation: Interpolation = "bilinear",
        in_memory: bool | None = None,
        num_workers: int | None = None,
        open_split: Callable[[str], ImageDataSource] | None = None,
        info: dict[str, Any] | None = None,
    ) -> None:
        self.dataset = dataset
        self.name, self.split = name, split
        self.splits = splits or (split,)
        self.root = None if root is None else str(root)
        self.open_split = open_split
        self.info = dict(info or {})
        if len(dataset) == 0:
            raise ConfigError(f"dataset {name!r} ({split}) holds no images")
        raw = raw_arrays(dataset) if in_memory is not False else None
        first = raw[0][0] if raw is not None else to_uint8_chw(dataset[0][0])
        c, h, w = first.shape
        self.native_shape = (int(c), int(h), int(w))
        if crop is not None and not 0 < crop <= min(h, w):
            raise ConfigError(
                f"data.params.crop={crop}: must be in 1..{min(h, w)} for {name!r} ({h}×{w} images)"
            )
        if resolution is not None and resolution <= 0:
            raise ConfigError(f"data.resolution must be > 0, got {resolution}")
        if channels not in (None, 1, 3):
            raise ConfigError(f"data.channels must be 1, 3 or null (native), got {channels}")
        self.pre = Preprocess(
            resolution=resolution or crop or min(h, w),
            channels=channels or int(c),
            crop=crop,
            interpolation=interpolation,
        )
        self.sample_shape = (self.pre.channels, self.pre.resolution, self.pre.resolution)
        self.in_memory = raw is not None if in_memory is None else in_memory
        self.num_workers = default_workers() if num_workers is None else num_workers
        if self.num_workers < 0:
            raise ConfigError(f"data.params.num_workers must be >= 0, got {self.num_workers}")
        self.images: torch.Tensor | None = None
        self.labels: torch.Tensor | None = None
        if self.in_memory:
            if raw is not None:
                self.images, labels = self._prepare_all(raw[0]), raw[1]
            else:
                self.images, labels = self._read_all()
            self.labels = labels if labels is not None and bool((labels >= 0).all()) else None
            labelled = self.labels is not None
            self.dataset = None  # free torchvision's raw copy (STL10's unlabeled split is 2.8 GB)
        else:
            labelled = _label(dataset[0][1]) >= 0
        if not labelled:
            self.num_classes = None
        elif num_classes is not None:
            self.num_classes = num_classes
        elif getattr(dataset, "classes", None):
            self.num_classes = len(dataset.classes)
        elif isinstance(getattr(dataset, "num_classes", None), int):  # e.g. torchvision FakeData
            self.num_classes = dataset.num_classes
        elif self.labels is not None:
            self.num_classes = int(self.labels.max()) + 1
        else:
            raise ConfigError(f"dataset {name!r}: cannot tell the number of classes; pass num_classes")

    # --- building --------------------------------------------------------------------------------
    def _prepare_all(self, images: torch.Tensor) -> torch.Tensor:
        """Preprocess a whole uint8 array in chunks (one output tensor, no per-image Python)."""
        out = torch.empty((len(images), *self.sample_shape), dtype=torch.uint8)
        for i in range(0, len(images), _CHUNK):
            out[i : i + _CHUNK] = self.pre(images[i : i + _CHUNK])
        return out

    def _loader(self, batch_sampler: Any) -> DataLoader:
        return DataLoader(
            _Prepared(self.dataset, self.pre),
            batch_sampler=batch_sampler,
            num_workers=self.num_workers,
            persistent_workers=False,
        )

    def _read_all(self) -> LabelledUInt8:
        """Every item through the per-image path (datasets torchvision does not hold as arrays)."""
        n = len(self.dataset)
        out = torch.empty((n, *self.sample_shape), dtype=torch.uint8)
        labels = torch.empty(n, dtype=torch.int64)
        i = 0
        for x, y in self._loader(RangeBatchSampler(n, 256)):
            out[i : i + len(x)], labels[i : i + len(x)] = x, y
            i += len(x)
        return out, labels

    def for_split(self, split: str) -> ImageDataSource:
        """The same dataset and settings on another split."""
        if split == self.split:
            return self
        if self.open_split is None or split not in self.splits:
            raise ConfigError(
                f"dataset {self.name!r}: split {split!r}; valid choices: {', '.join(self.splits)}"
            )
        return self.open_split(split)

    # --- access ----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.images) if self.images is not None else len(self.dataset)

    def _take(self, idx: torch.Tensor) -> LabelledUInt8:
        """uint8 images and labels at ``idx`` (in-memory sources)."""
        assert self.images is not None
        return self.images[idx], (self.labels[idx] if self.labels is not None else None)

    def _labels_or_none(self, y: torch.Tensor) -> torch.Tensor | None:
        return y if self.num_classes is not None else None

    def stream(self, batch_size: int, seed: int, start: int = 0) -> Iterator[Batch]:
        indices = IndexStream(len(self), batch_size, seed, start)  # validates now, not at first next()
        if self.in_memory:
            return ((to_float(x), y) for x, y in map(self._take, indices))
        loader = self._loader(StreamBatchSampler(len(self), batch_size, seed, start))
        return ((to_float(x), self._labels_or_none(y)) for x, y in loader)

    def iter_uint8(
        self, batch_size: int, split: str | None = None, limit: int | None = None
    ) -> Iterator[LabelledUInt8]:
        """The real images of ``split`` (default: the configured one) in file order, as uint8
        N×C×H×W at the configured resolution and channels, with labels (None if unlabelled);
        the first ``limit`` images if given."""
        if split is not None and split != self.split:
            return self.for_split(split).iter_uint8(batch_size, None, limit)
        if batch_size <= 0:
            raise ConfigError(f"batch size must be > 0, got {batch_size}")
        n = len(self) if limit is None else min(int(limit), len(self))
        if self.in_memory:
            return (self._take(torch.arange(i, min(i + batch_size, n))) for i in range(0, n, batch_size))
        return ((x, self._labels_or_none(y)) for x, y in self._loader(RangeBatchSampler(n, batch_size)))

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": "images",
            "split": self.split,
            "root": self.root,
            "num_images": len(self),
            "num_classes": self.num_classes,
            "native_shape": list(self.native_shape),
            **self.pre.describe(),
            "in_memory": self.in_memory,
            **self.info,
        }
