"""Translation tasks built from Fashion-MNIST, so translation runs here without other downloads.

Paired (Pix2Pix-style; B is the garment, A is derived from it):

- ``fmnist-edges2garment``: A is the garment's Canny edge map (kornia's ``canny``, white edges on
  black), the offline analogue of edges2shoes;
- ``fmnist-inpaint``: A is the garment with a square hole filled with mid-grey (128, visible
  against the black background); the hole is centred or at a position drawn per image from a
  generator seeded by the split, so the dataset is the same on every machine;
- ``fmnist-superres``: A is the garment average-pooled by ``factor`` (28 → 14 at 2) and shown
  on the full grid by pixel replication, so G maps a 28×28 image to a 28×28 image (a U-Net's
  shape) and learns only the missing detail.

Unpaired (CycleGAN-style, class to class): ``fmnist-sneaker2boot`` (Sneaker → Ankle boot) and
``fmnist-tshirt2shirt`` (T-shirt/top → Shirt); ``fmnist-class2class`` takes any two classes as
``data.params.a_class`` / ``b_class``. The classifier score asks whether a translated image is
classified as the target class.

All tasks follow ``data.resolution`` (default 28; 32 resizes with the image datasets'
antialiased bilinear resize, which U-Nets with five halvings need) and ``data.split``.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from ganbench.cache import cache_root
from ganbench.config import DataConfig
from ganbench.data.fashion_mnist_files import fashion_mnist_arrays
from ganbench.data.preprocess import Preprocess
from ganbench.data.stream import derived_seed
from ganbench.data.translation import Domain, TranslationSource, UnpairedTranslationSource
from ganbench.errors import ConfigError
from ganbench.io import torch_load_safe, torch_save_atomic
from ganbench.registries import DATASETS

CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
SPLITS = ("train", "test")
NATIVE = 28
MASK_GREY = 128


def _garments(cfg: DataConfig, split: str) -> Domain:
    """The Fashion-MNIST ``split`` at the configured resolution, one channel."""
    images, labels = fashion_mnist_arrays(split, cfg.root)
    res = cfg.resolution or NATIVE
    if res <= 0:
        raise ConfigError(f"data.resolution must be > 0, got {res}")
    if cfg.channels not in (None, 1):
        raise ConfigError(
            f"data.channels: the Fashion-MNIST translation tasks are grayscale (1), got {cfg.channels}"
        )
    x = images.unsqueeze(1)
    if res != NATIVE:
        x = torch.cat([Preprocess(res, 1)(x[i : i + 4096]) for i in range(0, len(x), 4096)])
    return Domain(x.contiguous(), labels)


def fashion_listing(paired: bool, sizes: str, root: str | None) -> dict[str, Any]:
    """What ``ganbench datasets`` shows for a Fashion-MNIST task, without building it."""
    from ganbench.data.vision import FashionMNIST

    return {
        "kind": "translation",
        "present": "yes" if FashionMNIST.present(root) else "no",
        "splits": sizes,
        "classes": len(CLASSES),
        "native": f"1×{NATIVE}×{NATIVE} pairs" if paired else f"1×{NATIVE}×{NATIVE}, unpaired",
    }


class FashionTask(TranslationSource):
    """A paired task: B is the garment, A = ``make_input(B)``."""

    dataset_name: ClassVar[str]
    splits: ClassVar[tuple[str, ...]] = SPLITS
    default_extractor = "fmnist-classifier"
    default_metrics = ("fid", "l1", "psnr", "ssim", "classifier_score")

    @classmethod
    def listing(cls, root: str | None) -> dict[str, Any]:
        return fashion_listing(True, "train 60000, test 10000", root)

    def __init__(self, cfg: DataConfig) -> None:
        params = self.check_config(cfg)
        b = _garments(cfg, cfg.split)
        self.check_inputs(b.images.shape[-1], params)
        a = Domain(self.make_input(b.images, cfg.split, **params), b.labels)
        super().__init__(
            a,
            b,
            name=self.dataset_name,
            split=cfg.split,
            splits=SPLITS,
            open_split=lambda split: type(self)(dataclasses.replace(cfg, split=split)),
            num_classes=len(CLASSES),
            info={"source": "Fashion-MNIST", "task_params": params},
        )

    @classmethod
    def check_inputs(cls, resolution: int, params: dict[str, Any]) -> None:
        """Reject parameters that cannot work at ``resolution``."""

    @staticmethod
    def make_input(b: torch.Tensor, split: str, **params: Any) -> torch.Tensor:
        raise NotImplementedError


def edge_options(low_threshold: float = 0.1, high_threshold: float = 0.2) -> None:
    """``data.params`` of fmnist-edges2garment: Canny's hysteresis thresholds on [0, 1] images."""


@DATASETS.register("fmnist-edges2garment")
class EdgesToGarment(FashionTask):
    dataset_name = "fmnist-edges2garment"
    options = staticmethod(edge_options)

    @classmethod
    def check_inputs(cls, resolution: int, params: dict[str, Any]) -> None:
        lo, hi = params["low_threshold"], params["high_threshold"]
        if not 0 <= lo < hi <= 1:
            raise ConfigError(
                f"dataset {cls.dataset_name!r}: data.params needs 0 <= low_threshold < high_threshold <= 1, "
                f"got {lo} and {hi}"
            )

    @staticmethod
    def make_input(b: torch.Tensor, split: str, **params: Any) -> torch.Tensor:
        # Canny over the 60 000 training images takes about a minute on two cores: the edge maps
        # are derived data, cached under a key of everything they depend on (the garments' bytes too)
        digest = hashlib.sha256(b.numpy().tobytes()).hexdigest()[:16]
        key = f"{split}-{b.shape[-1]}-{params['low_threshold']:g}-{params['high_threshold']:g}-{digest}"
        path = cache_root() / "translation" / f"fmnist-edges-{key}.pt"
        if path.is_file():
            cached = torch_load_safe(path)
            if isinstance(cached, torch.Tensor) and cached.shape == b.shape and cached.dtype == torch.uint8:
                return cached
        edges = EdgesToGarment.canny_edges(b, params["low_threshold"], params["high_threshold"])
        path.parent.mkdir(parents=True, exist_ok=True)
        torch_save_atomic(path, edges)
        return edges

    @staticmethod
    def canny_edges(b: torch.Tensor, low_threshold: float, high_threshold: float) -> torch.Tensor:
        """White (255) Canny edges on black of uint8 images, by kornia's ``canny`` on [0, 1] floats."""
        from kornia.filters import canny  # the one kornia use of the data layer: imported on use

        out = torch.empty_like(b)
        for i in range(0, len(b), 2048):
            x = b[i : i + 2048].float() / 255.0
            _, edges = canny(x, low_threshold=low_threshold, high_threshold=high_threshold)
            out[i : i + 2048] = (edges > 0.5).to(torch.uint8) * 255
        return out


def inpaint_options(mask_size: int = 12, mask_position: str = "random") -> None:
    """``data.params`` of fmnist-inpaint: the hole's side in pixels and where it goes (random | centre)."""


@DATASETS.register("fmnist-inpaint")
class InpaintGarment(FashionTask):
    dataset_name = "fmnist-inpaint"
    options = staticmethod(inpaint_options)
    POSITIONS = ("random", "centre")

    @classmethod
    def check_inputs(cls, resolution: int, params: dict[str, Any]) -> None:
        size, pos = params["mask_size"], params["mask_position"]
        if not 0 < size < resolution:
            raise ConfigError(
                f"dataset {cls.dataset_name!r}: data.params.mask_size must be in 1..{resolution - 1} "
                f"at {resolution}×{resolution}, got {size}"
            )
        if pos not in cls.POSITIONS:
            raise ConfigError(
                f"dataset {cls.dataset_name!r}: data.params.mask_position {pos!r}; valid choices: "
                f"{', '.join(cls.POSITIONS)}"
            )

    @staticmethod
    def make_input(b: torch.Tensor, split: str, **params: Any) -> torch.Tensor:
        size, n, res = params["mask_size"], len(b), b.shape[-1]
        if params["mask_position"] == "centre":
            top = left = torch.full((n,), (res - size) // 2)
        else:  # fixed per split: the dataset does not depend on the run's seed
            gen = torch.Generator().manual_seed(derived_seed(SPLITS.index(split), size, res))
            top, left = torch.randint(0, res - size + 1, (2, n), generator=gen)
        rows = torch.arange(res)
        inside_r = (rows[None] >= top[:, None]) & (rows[None] < top[:, None] + size)
        inside_c = (rows[None] >= left[:, None]) & (rows[None] < left[:, None] + size)
        hole = inside_r[:, :, None] & inside_c[:, None, :]
        return b.masked_fill(hole[:, None], MASK_GREY)


def superres_options(factor: int = 2) -> None:
    """``data.params`` of fmnist-superres: the downsampling factor (2: 28 → 14)."""


@DATASETS.register("fmnist-superres")
class SuperResolveGarment(FashionTask):
    dataset_name = "fmnist-superres"
    options = staticmethod(superres_options)

    @classmethod
    def check_inputs(cls, resolution: int, params: dict[str, Any]) -> None:
        f = params["factor"]
        if f < 2 or resolution % f:
            raise ConfigError(
                f"dataset {cls.dataset_name!r}: data.params.factor must be >= 2 and divide the resolution "
                f"{resolution}, got {f}"
            )

    @staticmethod
    def make_input(b: torch.Tensor, split: str, **params: Any) -> torch.Tensor:
        f = params["factor"]
        low = F.avg_pool2d(b.float(), f).round().clamp(0, 255)
        return low.repeat_interleave(f, -2).repeat_interleave(f, -1).to(torch.uint8)


def class_pair_options(a_class: int = 7, b_class: int = 9) -> None:
    """``data.params`` of fmnist-class2class: the source and target classes (0..9)."""


@DATASETS.register("fmnist-class2class")
class ClassToClass(UnpairedTranslationSource):
    """Unpaired: A = the training images of one class, B = those of another."""

    dataset_name: ClassVar[str] = "fmnist-class2class"
    splits: ClassVar[tuple[str, ...]] = SPLITS
    default_extractor = "fmnist-classifier"
    options = staticmethod(class_pair_options)
    preset: ClassVar[tuple[int, int] | None] = None  # (a, b) of the named tasks; None: from params

    @classmethod
    def listing(cls, root: str | None) -> dict[str, Any]:
        return fashion_listing(False, "train 6000 + 6000, test 1000 + 1000", root)

    @classmethod
    def check_params(cls, params: dict[str, Any], where: str = "") -> dict[str, Any]:
        checked = super().check_params(params, where)
        a, b = cls.preset or (checked["a_class"], checked["b_class"])
        for key, c in (("a_class", a), ("b_class", b)):
            if not 0 <= c < len(CLASSES):
                raise ConfigError(f"dataset {cls.dataset_name!r}: data.params.{key} must be in 0..9, got {c}")
        if a == b:
            raise ConfigError(f"dataset {cls.dataset_name!r}: data.params.a_class and b_class are both {a}")
        return {"a_class": a, "b_class": b}

    def __init__(self, cfg: DataConfig) -> None:
        params = self.check_config(cfg)
        garments = _garments(cfg, cfg.split)
        a_class, b_class = params["a_class"], params["b_class"]

        def of(c: int) -> Domain:
            keep = garments.labels == c
            return Domain(garments.images[keep].contiguous(), garments.labels[keep])

        super().__init__(
            of(a_class),
            of(b_class),
            name=self.dataset_name,
            split=cfg.split,
            splits=SPLITS,
            open_split=lambda split: type(self)(dataclasses.replace(cfg, split=split)),
            target_class=b_class,
            num_classes=len(CLASSES),
            info={"source": "Fashion-MNIST", "a_class": CLASSES[a_class], "b_class": CLASSES[b_class]},
        )


def no_class_options() -> None:
    """``data.params`` of the named class-to-class tasks: none (the classes are the task)."""


@DATASETS.register("fmnist-sneaker2boot")
class SneakerToBoot(ClassToClass):
    dataset_name = "fmnist-sneaker2boot"
    options = staticmethod(no_class_options)
    preset = (7, 9)


@DATASETS.register("fmnist-tshirt2shirt")
class TShirtToShirt(ClassToClass):
    dataset_name = "fmnist-tshirt2shirt"
    options = staticmethod(no_class_options)
    preset = (0, 6)
