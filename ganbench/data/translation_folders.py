"""The folder layouts translation users bring (those of pytorch-CycleGAN-and-pix2pix's datasets).

- ``translation-aligned`` (Pix2Pix: facades, maps, edges2shoes): ``root/<split>/*.png|jpg``, each
  file the A image and the B image side by side, A on the left (``data.params.direction: BtoA``
  swaps them), so every file is exactly twice as wide as it is high.
- ``translation-unaligned`` (CycleGAN: horse2zebra): ``root/<split>A/`` and ``root/<split>B/``
  (``trainA``, ``trainB``, ``testA``, ``testB``), any number of images in each.

Images are read whole into memory (these datasets hold hundreds to a few thousand images), centre
cropped to a square and resized to ``data.resolution`` (default: the first image's side, the
half's for aligned files) like the image datasets (:class:`ganbench.data.preprocess.Preprocess`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ganbench.config import DataConfig
from ganbench.data.folder import ImageFiles
from ganbench.data.preprocess import Interpolation, Preprocess
from ganbench.data.translation import Domain, TranslationSource, UnpairedTranslationSource
from ganbench.errors import ConfigError
from ganbench.registries import DATASETS

DIRECTIONS = ("AtoB", "BtoA")


def _root(cfg: DataConfig, dataset: str, layout: str) -> Path:
    if cfg.root is None:
        raise ConfigError(f"dataset {dataset!r} needs data.root: the folder holding {layout}")
    root = Path(cfg.root).expanduser()
    if not root.is_dir():
        raise ConfigError(f"data.root {root}: no such folder (dataset {dataset!r}, expected {layout})")
    return root


def _read(files: ImageFiles, what: str) -> list[torch.Tensor]:
    items = range(len(files))
    return [files[i][0] for i in tqdm(items, desc=f"reading {what}", leave=False, disable=len(files) < 500)]


def _stack(images: list[torch.Tensor], pre: Preprocess) -> torch.Tensor:
    return torch.stack([pre(x) for x in images])


def folder_listing(layout: str) -> dict[str, Any]:
    """What ``ganbench datasets`` shows for a translation folder layout (the files come with data.root)."""
    return {
        "kind": "translation",
        "present": "needs data.root",
        "splits": layout,
        "classes": "-",
        "native": "-",
    }


def aligned_options(direction: str = "AtoB", interpolation: Interpolation = "bilinear") -> None:
    """``data.params`` of translation-aligned: which half is the input, and the resize filter."""


@DATASETS.register("translation-aligned")
class AlignedFolder(TranslationSource):
    dataset_name = "translation-aligned"
    options = staticmethod(aligned_options)
    default_metrics = ("fid", "l1", "psnr", "ssim")
    LAYOUT = "<split>/ (train/, val/, test/) of A|B images side by side, each twice as wide as high"

    @classmethod
    def listing(cls, root: str | None) -> dict[str, Any]:
        return folder_listing("train/ val/ test/ of A|B files")

    def __init__(self, cfg: DataConfig) -> None:
        params = self.check_params(cfg.params)
        if params["direction"] not in DIRECTIONS:
            raise ConfigError(
                f"dataset {self.dataset_name!r}: data.params.direction {params['direction']!r}; "
                f"valid choices: {', '.join(DIRECTIONS)}"
            )
        root = _root(cfg, self.dataset_name, self.LAYOUT)
        splits = tuple(sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")))
        if cfg.split not in splits:
            raise ConfigError(
                f"data.split {cfg.split!r}: {root} has no {cfg.split}/ folder; found: "
                f"{', '.join(splits) or 'no sub-folders'} (expected {self.LAYOUT})"
            )
        files = ImageFiles(root / cfg.split, labels=False)
        halves_a, halves_b = [], []
        for (path, _), x in zip(files.items, _read(files, f"{root / cfg.split}"), strict=True):
            h, w = x.shape[-2:]
            if w != 2 * h:
                raise ConfigError(
                    f"{path}: an aligned translation image must be twice as wide as high (A|B side by "
                    f"side), got {w}×{h}; use translation-unaligned for separate A and B folders"
                )
            left, right = x[..., :h], x[..., h:]
            a, b = (left, right) if params["direction"] == "AtoB" else (right, left)
            halves_a.append(a)
            halves_b.append(b)
        first = halves_a[0]
        pre = Preprocess(
            cfg.resolution or first.shape[-1], cfg.channels or first.shape[0], None, params["interpolation"]
        )
        super().__init__(
            Domain(_stack(halves_a, pre)),
            Domain(_stack(halves_b, pre)),
            name=self.dataset_name,
            split=cfg.split,
            splits=splits,
            open_split=lambda split: AlignedFolder(dataclasses.replace(cfg, split=split)),
            info={"root": str(root), "direction": params["direction"], **pre.describe()},
        )


def unaligned_options(interpolation: Interpolation = "bilinear") -> None:
    """``data.params`` of translation-unaligned: the resize filter."""


@DATASETS.register("translation-unaligned")
class UnalignedFolder(UnpairedTranslationSource):
    dataset_name = "translation-unaligned"
    options = staticmethod(unaligned_options)
    default_metrics = ("fid", "kid")
    LAYOUT = "<split>A/ and <split>B/ folders (trainA/, trainB/, testA/, testB/)"

    @classmethod
    def listing(cls, root: str | None) -> dict[str, Any]:
        return folder_listing("trainA/ trainB/ testA/ testB/")

    def __init__(self, cfg: DataConfig) -> None:
        params = self.check_params(cfg.params)
        root = _root(cfg, self.dataset_name, self.LAYOUT)
        found = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        splits = tuple(sorted({n[:-1] for n in found if n[-1:] in "AB" and f"{n[:-1]}A" in found}))
        missing = [f"{cfg.split}{d}" for d in "AB" if f"{cfg.split}{d}" not in found]
        if missing:
            raise ConfigError(
                f"data.root {root}: missing {' and '.join(f'{m}/' for m in missing)} for data.split "
                f"{cfg.split!r}; found: {', '.join(found) or 'no sub-folders'} (expected {self.LAYOUT})"
            )
        domains = {}
        for d in "AB":
            files = ImageFiles(root / f"{cfg.split}{d}", labels=False)
            domains[d] = _read(files, f"{root / (cfg.split + d)}")
        first = domains["A"][0]
        side = min(first.shape[-2:])
        pre = Preprocess(
            cfg.resolution or side, cfg.channels or first.shape[0], None, params["interpolation"]
        )
        super().__init__(
            Domain(_stack(domains["A"], pre)),
            Domain(_stack(domains["B"], pre)),
            name=self.dataset_name,
            split=cfg.split,
            splits=splits,
            open_split=lambda split: UnalignedFolder(dataclasses.replace(cfg, split=split)),
            info={"root": str(root), **pre.describe()},
        )
