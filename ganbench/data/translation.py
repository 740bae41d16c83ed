"""Image-to-image translation data: two image domains, A (the input) and B (the target).

A :class:`TranslationSource` holds both domains of one split as uint8 N×C×H×W arrays at the
configured size. It is *paired* when image i of A and image i of B belong together (Pix2Pix:
edges → garment, facades, maps) and *unpaired* when the domains are two independent sets
(CycleGAN: horse ↔ zebra, sneaker ↔ ankle boot).

``stream(batch_size, seed, start)`` yields ``(x_A, x_B)`` float batches in [-1, 1], a pure function
of (seed, position) like every other stream (:mod:`ganbench.data.stream`):

- paired: one index stream; row j of x_A and of x_B are the same pair;
- unpaired: two index streams with derived seeds, one per domain, so the pairs a batch forms are
  chance (the unpaired setting) and still reproducible.

``domain(split, name)`` gives a split's A or B images with their class labels, for evaluation
(translated test A against test B, the paired metrics against the ground truth).

``target_labels(split)`` is the class each translated test image should be: the B image's class for
paired tasks whose B domain is labelled, the target class of a class-to-class task; it is what the
``classifier_score`` metric compares the classifier's decision with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from ganbench.data.base import DataSource
from ganbench.data.preprocess import to_float
from ganbench.data.stream import IndexStream, derived_seed
from ganbench.errors import ConfigError

DOMAINS = ("A", "B")
PairBatch = tuple[torch.Tensor, torch.Tensor]  # (x_A, x_B), float N×C×H×W in [-1, 1]


@dataclass(frozen=True)
class Domain:
    """One domain of one split: uint8 images and their class labels (None if unlabelled)."""

    images: torch.Tensor
    labels: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.images)


class TranslationSource(DataSource):
    """Two domains of one split (see the module docstring). Subclasses load the arrays; this class
    checks them, streams them and describes them."""

    kind = "translation"
    paired: ClassVar[bool] = True
    # translated images are images: the image metrics (FID, KID, P/R/D/C) score them against the
    # target domain, and the translation metrics (L1, PSNR, SSIM, classifier score) score the pairs
    metric_kinds = ("images", "translation")
    default_metrics: ClassVar[tuple[str, ...]] = ("fid", "l1", "psnr", "ssim")

    def __init__(
        self,
        a: Domain,
        b: Domain,
        *,
        name: str,
        split: str,
        splits: tuple[str, ...],
        open_split: Callable[[str], TranslationSource] | None = None,
        target_class: int | None = None,
        num_classes: int | None = None,
        info: dict[str, Any] | None = None,
    ) -> None:
        self.name, self.split, self.splits = name, split, splits
        self.open_split = open_split
        self.info = dict(info or {})
        for key, dom in zip(DOMAINS, (a, b), strict=True):
            if len(dom) == 0:
                raise ConfigError(f"dataset {name!r} ({split}): domain {key} holds no images")
            if dom.images.dtype != torch.uint8 or dom.images.dim() != 4:
                raise ConfigError(
                    f"dataset {name!r} ({split}): domain {key} must be uint8 N×C×H×W, got "
                    f"{dom.images.dtype} of shape {tuple(dom.images.shape)}"
                )
        if a.images.shape[2:] != b.images.shape[2:]:
            raise ConfigError(
                f"dataset {name!r} ({split}): domains A and B differ in size "
                f"({tuple(a.images.shape[2:])} vs {tuple(b.images.shape[2:])}); set data.resolution"
            )
        if self.paired and len(a) != len(b):
            raise ConfigError(
                f"dataset {name!r} ({split}): a paired dataset needs as many A as B images, "
                f"got {len(a)} and {len(b)}"
            )
        self.a, self.b = a, b
        self.sample_shape = tuple(b.images.shape[1:])  # what a translator outputs
        self.input_shape = tuple(a.images.shape[1:])
        self.target_class = target_class
        self.num_classes = num_classes

    # --- training ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    def stream(self, batch_size: int, seed: int, start: int = 0) -> Iterator[PairBatch]:  # type: ignore[override]
        if self.paired:
            idx = IndexStream(len(self.a), batch_size, seed, start)
            return ((to_float(self.a.images[i]), to_float(self.b.images[i])) for i in idx)
        idx_a = IndexStream(len(self.a), batch_size, derived_seed(seed, 0), start)
        idx_b = IndexStream(len(self.b), batch_size, derived_seed(seed, 1), start)
        return (
            (to_float(self.a.images[i]), to_float(self.b.images[j]))
            for i, j in zip(idx_a, idx_b, strict=False)
        )

    # --- evaluation ----------------------------------------------------------------------------
    def for_split(self, split: str) -> TranslationSource:
        if split == self.split:
            return self
        if self.open_split is None or split not in self.splits:
            raise ConfigError(
                f"dataset {self.name!r}: split {split!r}; valid choices: {', '.join(self.splits)}"
            )
        return self.open_split(split)

    def domain(self, name: str, split: str | None = None) -> Domain:
        """Domain ``name`` ("A" or "B") of ``split`` (default: the configured one)."""
        if name not in DOMAINS:
            raise ConfigError(f"translation domain {name!r}; valid choices: {', '.join(DOMAINS)}")
        source = self if split is None else self.for_split(split)
        return source.a if name == "A" else source.b

    def target_labels(self, split: str | None = None) -> torch.Tensor | None:
        """The class each translated A image of ``split`` should be assigned (None: no class)."""
        source = self if split is None else self.for_split(split)
        if source.target_class is not None:
            return torch.full((len(source.a),), source.target_class, dtype=torch.int64)
        if source.paired and source.b.labels is not None:
            return source.b.labels
        return None

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "paired": self.paired,
            "split": self.split,
            "num_a": len(self.a),
            "num_b": len(self.b),
            "input_shape": list(self.input_shape),
            "output_shape": list(self.sample_shape),
            "target_class": self.target_class,
            **self.info,
        }


class UnpairedTranslationSource(TranslationSource):
    paired = False
    default_metrics = ("fid", "classifier_score")
