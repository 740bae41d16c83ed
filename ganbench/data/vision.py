"""The torchvision image datasets, registered: mnist, fashion-mnist, cifar10, cifar100, stl10, celeba.

Each is torchvision's own class, looked for under ``data.root`` (default ``<ganbench cache>/datasets``)
in torchvision's layout; ``data.params.download: true`` lets torchvision fetch it there. Fashion-MNIST
goes through :mod:`ganbench.data.fashion_mnist_files` (Debian's offline copy first).

torchvision's CIFAR loader unpickles the official batch files, but only after checking every
file's MD5 against the published archive, so no foreign pickle is ever loaded.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

from torch.utils.data import Subset
from torchvision import datasets as tvd

from ganbench.config import DataConfig
from ganbench.data import fashion_mnist_files
from ganbench.data.images import ImageDataSource, resolve_root
from ganbench.data.preprocess import Interpolation
from ganbench.errors import ConfigError, GanbenchError
from ganbench.registries import DATASETS


def image_options(
    download: bool = False,
    crop: int | None = None,
    interpolation: Interpolation = "bilinear",
    in_memory: bool | None = None,
    num_workers: int | None = None,
    train_first: int | None = None,
) -> None:
    """The ``data.params`` keys of the torchvision datasets (the signature is the schema).
    ``train_first: N`` keeps the first N images of the train split (small-data experiments); the
    other splits (the FID reference ``test``) stay whole."""


class VisionDataset(ImageDataSource):
    """A registered torchvision dataset; the class attributes describe it without loading it."""

    dataset_name: ClassVar[str]
    sizes: ClassVar[dict[str, int]]  # images per split (the official counts)
    native: ClassVar[tuple[int, int, int]]  # C, H, W of the files
    classes: ClassVar[int | None]
    layout: ClassVar[str]  # what torchvision expects under the root
    source: ClassVar[str]  # where the data comes from
    options: ClassVar[Any] = staticmethod(image_options)

    def __init__(self, cfg: DataConfig) -> None:
        params = self.check_config(cfg)
        root = resolve_root(cfg.root)
        dataset = self.load(cfg.split, root, params.pop("download", False))
        first = params.pop("train_first", None)
        if first is not None and cfg.split == "train":
            if isinstance(first, bool) or not isinstance(first, int) or not 0 < first <= len(dataset):
                raise ConfigError(
                    f"data.params.train_first={first!r}: must be an integer in 1..{len(dataset)} "
                    f"(images of {self.dataset_name!r}'s train split to keep)"
                )
            dataset = Subset(dataset, range(first))
            if params.get("in_memory") is None:  # a Subset is not an array torchvision holds
                params["in_memory"] = True
        super().__init__(
            dataset,
            name=self.dataset_name,
            split=cfg.split,
            splits=self.splits,
            root=getattr(dataset, "root", root),
            resolution=cfg.resolution,
            channels=cfg.channels,
            num_classes=self.classes,
            open_split=lambda split: type(self)(dataclasses.replace(cfg, split=split)),
            info={"source": self.source},
            **params,
        )

    @classmethod
    def construct(cls, split: str, root: Path, download: bool) -> Any:
        """torchvision's dataset object for ``split`` (raises whatever torchvision raises)."""
        raise NotImplementedError

    @classmethod
    def load(cls, split: str, root: Path, download: bool = False) -> Any:
        """:meth:`construct`, with torchvision's terse "not found" turned into an actionable error."""
        try:
            return cls.construct(split, root, download)
        except GanbenchError:
            raise
        except (RuntimeError, OSError) as e:
            name = cls.dataset_name
            where = f"dataset {name!r} ({split}): no usable files under {root} (expected {cls.layout})"
            fix = f"set data.root to a folder holding {cls.layout} (default root: {resolve_root(None)})"
            if download:
                raise ConfigError(
                    f"{where}, and torchvision's download of {cls.source} failed ({str(e).strip()}). "
                    f"Allow network access, or download it elsewhere and {fix}."
                ) from e
            raise ConfigError(
                f"{where} (torchvision: {str(e).strip()}). Get it with `data.params.download: true` "
                f"(torchvision fetches {cls.source} into data.root), or {fix}."
            ) from e

    @classmethod
    def present(cls, root: str | Path | None = None) -> bool:
        """Whether the files are there (and pass torchvision's checks), without downloading."""
        try:
            cls.construct(cls.splits[-1], resolve_root(root), False)
        except (GanbenchError, RuntimeError, OSError):
            return False
        return True


@DATASETS.register("mnist")
class MNIST(VisionDataset):
    dataset_name = "mnist"
    splits = ("train", "test")
    sizes = {"train": 60000, "test": 10000}
    native = (1, 28, 28)
    classes = 10
    layout = "MNIST/raw/*-ubyte"
    source = "MNIST (torchvision.datasets.MNIST mirrors)"

    @classmethod
    def construct(cls, split: str, root: Path, download: bool) -> Any:
        return tvd.MNIST(str(root), train=split == "train", download=download)


def fashion_options(
    crop: int | None = None,
    interpolation: Interpolation = "bilinear",
    in_memory: bool | None = None,
    num_workers: int | None = None,
    train_first: int | None = None,
) -> None:
    """``data.params`` of fashion-mnist: no ``download`` key, the loader fetches it when it must."""


@DATASETS.register("fashion-mnist")
class FashionMNIST(VisionDataset):
    dataset_name = "fashion-mnist"
    default_extractor = "fmnist-classifier"  # the shipped classifier (docs/protocols.md)
    splits = ("train", "test")
    sizes = {"train": 60000, "test": 10000}
    native = (1, 28, 28)
    classes = 10
    layout = "FashionMNIST/raw/*-ubyte"
    source = "Fashion-MNIST (Debian dataset-fashion-mnist, else torchvision's download)"
    options = staticmethod(fashion_options)

    @classmethod
    def construct(cls, split: str, root: Path, download: bool) -> Any:
        return fashion_mnist_files.fashion_mnist(split, str(root))

    @classmethod
    def present(cls, root: str | Path | None = None) -> bool:
        # No construction here: fashion_mnist() would try to download when nothing is local.
        name = "t10k-images-idx3-ubyte"
        places = [resolve_root(root), fashion_mnist_files.dataset_cache_dir()]
        return (
            any((p / "FashionMNIST" / "raw" / name).is_file() for p in places)
            or (fashion_mnist_files.DEBIAN_DIR / f"{name}.gz").is_file()
        )


@DATASETS.register("cifar10")
class CIFAR10(VisionDataset):
    dataset_name = "cifar10"
    splits = ("train", "test")
    sizes = {"train": 50000, "test": 10000}
    native = (3, 32, 32)
    classes = 10
    layout = "cifar-10-batches-py/"
    source = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"

    @classmethod
    def construct(cls, split: str, root: Path, download: bool) -> Any:
        return tvd.CIFAR10(str(root), train=split == "train", download=download)


@DATASETS.register("cifar100")
class CIFAR100(VisionDataset):
    dataset_name = "cifar100"
    splits = ("train", "test")
    sizes = {"train": 50000, "test": 10000}
    native = (3, 32, 32)
    classes = 100
    layout = "cifar-100-python/"
    source = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"

    @classmethod
    def construct(cls, split: str, root: Path, download: bool) -> Any:
        return tvd.CIFAR100(str(root), train=split == "train", download=download)


@DATASETS.register("stl10")
class STL10(VisionDataset):
    """Labels only on train/test; the unlabeled splits give an unlabelled source."""

    dataset_name = "stl10"
    splits = ("train", "unlabeled", "train+unlabeled", "test")
    sizes = {"train": 5000, "unlabeled": 100000, "train+unlabeled": 105000, "test": 8000}
    native = (3, 96, 96)
    classes = 10
    layout = "stl10_binary/"
    source = "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz"

    @classmethod
    def construct(cls, split: str, root: Path, download: bool) -> Any:
        return tvd.STL10(str(root), split=split, download=download)


@DATASETS.register("celeba")
class CelebA(VisionDataset):
    """Aligned-and-cropped CelebA (178×218 JPEGs), unlabelled; streamed through DataLoader workers."""

    dataset_name = "celeba"
    splits = ("train", "valid", "test", "all")
    sizes = {"train": 162770, "valid": 19867, "test": 19962, "all": 202599}
    native = (3, 218, 178)
    classes = None
    layout = "celeba/img_align_celeba/ and celeba/list_*.txt, identity_CelebA.txt"
    source = "Google Drive (torchvision.datasets.CelebA; needs the gdown package, often rate-limited)"

    @classmethod
    def construct(cls, split: str, root: Path, download: bool) -> Any:
        return tvd.CelebA(str(root), split=split, target_type=[], download=download)
