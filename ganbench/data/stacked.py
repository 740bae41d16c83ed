"""``stacked-fmnist``: the Stacked-MNIST mode-coverage protocol (docs/protocols.md) on Fashion-MNIST.

Each sample stacks three independently drawn Fashion-MNIST images of the same split as its three
channels, giving 10³ = 1000 modes; its label is the class triple ``c0·100 + c1·10 + c2`` (channel 0
first). The dataset is a fixed list of ``size`` index triples drawn uniformly with replacement from
``stack_seed`` (independent of the training seed, so every run trains on the same set); only the
triples are stored, the pixels come from the one preprocessed Fashion-MNIST array.

Default size 25 600: the fixed training set of the PacGAN code's VEEGAN Stacked-MNIST experiment
(fjxmlzn/PacGAN, ``num_training_sample=25600``), also the protocol's number of evaluation samples.
PacGAN draws from MNIST train+test together; here the train split stacks train images and the
test split stacks test images, so reference statistics never share an image with training.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from ganbench.config import DataConfig
from ganbench.data.images import ImageDataSource, LabelledUInt8
from ganbench.data.preprocess import Interpolation
from ganbench.data.stream import derived_seed
from ganbench.data.vision import FashionMNIST
from ganbench.errors import ConfigError
from ganbench.registries import DATASETS

NUM_MODES = 1000
_PLACES = torch.tensor([100, 10, 1])


def encode_modes(classes: torch.Tensor) -> torch.Tensor:
    """Class triples N×3 (channel 0, 1, 2) → mode labels ``c0·100 + c1·10 + c2`` in [0, 1000)."""
    return (classes.to(torch.int64) * _PLACES).sum(dim=-1)


def decode_modes(labels: torch.Tensor) -> torch.Tensor:
    """Mode labels → class triples N×3 (inverse of :func:`encode_modes`)."""
    labels = labels.to(torch.int64)
    return torch.stack([labels // 100, labels // 10 % 10, labels % 10], dim=-1)


def stacked_options(
    size: int = 25600,
    stack_seed: int = 0,
    crop: int | None = None,
    interpolation: Interpolation = "bilinear",
) -> None:
    """``data.params`` of stacked-fmnist (the signature is the schema)."""


@DATASETS.register("stacked-fmnist")
class StackedFashionMNIST(ImageDataSource):
    """Three Fashion-MNIST images per sample, one per channel; 1000 class-triple modes."""

    dataset_name = "stacked-fmnist"
    default_extractor = "fmnist-classifier"  # classifies each channel: a mode is the class triple
    stacked = True
    default_metrics = ("stacked_modes",)  # the protocol's mode coverage (docs/protocols.md)
    splits = FashionMNIST.splits
    options = staticmethod(stacked_options)

    def __init__(self, cfg: DataConfig) -> None:
        params = self.check_config(cfg)
        size, stack_seed = params.pop("size"), params.pop("stack_seed")
        if size <= 0:
            raise ConfigError(f"dataset 'stacked-fmnist': data.params.size must be > 0, got {size}")
        if cfg.channels not in (None, 3):
            raise ConfigError(
                f"dataset 'stacked-fmnist': data.channels must be 3 or null (one image per channel), "
                f"got {cfg.channels}"
            )
        # The single-channel base images at the configured resolution, held in memory.
        self.base = FashionMNIST(
            dataclasses.replace(cfg, name="fashion-mnist", channels=1, params={**params, "in_memory": True})
        )
        assert self.base.labels is not None
        g = torch.Generator().manual_seed(derived_seed(stack_seed, self.splits.index(cfg.split)))
        self.triples = torch.randint(len(self.base), (size, 3), generator=g)
        self.labels = encode_modes(self.base.labels[self.triples])

        self.name, self.split, self.root = self.dataset_name, cfg.split, self.base.root
        self.dataset, self.images = None, None
        self.open_split = lambda split: type(self)(dataclasses.replace(cfg, split=split))
        self.native_shape = (3, *self.base.native_shape[1:])
        self.pre = dataclasses.replace(self.base.pre, channels=3)
        self.sample_shape = (3, self.base.pre.resolution, self.base.pre.resolution)
        self.in_memory, self.num_workers = True, 0
        self.num_classes = NUM_MODES
        self.info = {
            "size": size,
            "stack_seed": stack_seed,
            "base": "fashion-mnist",
            "base_images": len(self.base),
        }

    def __len__(self) -> int:
        return len(self.triples)

    def _take(self, idx: torch.Tensor) -> LabelledUInt8:
        # base images n×3×1×H×W → n×3×H×W: channel j is base image triples[i, j]
        assert self.base.images is not None
        return self.base.images[self.triples[idx]].flatten(1, 2), self.labels[idx]

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "modes": NUM_MODES}
