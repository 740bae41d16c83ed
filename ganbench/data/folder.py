"""``imagefolder``: any folder of PNG/JPEG images, searched recursively.

Labels come from class sub-folders (``root/<class>/**/*.png``, classes sorted by name); a folder
with images at its top level is unlabelled. Splits are sub-folders (``root/train``, ``root/test``,
...) when ``root/train`` exists, else the whole folder is the ``train`` split.

Written here rather than with torchvision's ``ImageFolder``, which cannot read a flat folder and
reports an unreadable file without naming it.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import PIL.Image
import torch
from torch.utils.data import Dataset

from ganbench.config import DataConfig
from ganbench.data.images import ImageDataSource
from ganbench.data.preprocess import Interpolation, to_uint8_chw
from ganbench.errors import ConfigError, GanbenchError
from ganbench.registries import DATASETS

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def _images_under(folder: Path) -> list[Path]:
    """Image files under ``folder`` (recursive, hidden entries skipped), in a fixed sorted order."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found += [
            Path(dirpath) / f
            for f in filenames
            if f.lower().endswith(IMAGE_SUFFIXES) and not f.startswith(".")
        ]
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def top_level_images(folder: Path) -> list[Path]:
    """Image files directly in ``folder`` (labels need every image in a sub-folder)."""
    return [p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(IMAGE_SUFFIXES)]


class ImageFiles(Dataset):
    """The image files of one folder: items are (uint8 C×H×W tensor, class index | None)."""

    def __init__(self, folder: str | Path, labels: bool | None = None) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ConfigError(f"image folder {self.folder} does not exist or is not a folder")
        top = top_level_images(self.folder)
        subdirs = sorted(p for p in self.folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        if labels is None:
            labels = not top and bool(subdirs)
        if labels and top:
            raise ConfigError(
                f"{self.folder}: data.params.labels is true but images lie directly in the folder "
                f"(e.g. {top[0].name}); put every image in a class sub-folder, or set labels: false"
            )
        self.classes: list[str] = []
        self.items: list[tuple[Path, int | None]] = []
        if labels:
            for d in subdirs:
                files = _images_under(d)
                if files:
                    self.items += [(p, len(self.classes)) for p in files]
                    self.classes.append(d.name)
        else:
            self.items = [(p, None) for p in _images_under(self.folder)]
        if not self.items:
            raise ConfigError(
                f"{self.folder}: no images found (looked recursively for {', '.join(IMAGE_SUFFIXES)})"
            )

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int | None]:
        path, label = self.items[i]
        try:
            with PIL.Image.open(path) as im:
                return to_uint8_chw(im), label
        except (OSError, ValueError, SyntaxError) as e:  # what PIL raises for corrupt/truncated files
            raise GanbenchError(f"{path}: cannot read this image ({type(e).__name__}: {e})") from e


def folder_options(
    labels: bool | None = None,
    split_folders: bool | None = None,
    crop: int | None = None,
    interpolation: Interpolation = "bilinear",
    in_memory: bool | None = None,
    num_workers: int | None = None,
) -> None:
    """``data.params`` of imagefolder (the signature is the schema)."""


def folder_splits(root: Path, split_folders: bool | None) -> tuple[str, ...] | None:
    """The split sub-folders of ``root``, or None when the whole folder is the one ``train`` split."""
    if split_folders is None:
        split_folders = (root / "train").is_dir()
    if not split_folders:
        return None
    names = tuple(sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")))
    if not names:
        raise ConfigError(f"{root}: data.params.split_folders is true but the folder has no sub-folders")
    return names


@DATASETS.register("imagefolder")
class ImageFolderSource(ImageDataSource):
    dataset_name = "imagefolder"
    options = staticmethod(folder_options)

    def __init__(self, cfg: DataConfig) -> None:
        params = self.check_params(cfg.params)  # splits come from the folder: checked below
        if cfg.root is None:
            raise ConfigError("dataset 'imagefolder' needs data.root: the folder that holds the images")
        root = Path(cfg.root).expanduser()
        if not root.is_dir():
            raise ConfigError(f"data.root {root}: no such folder (dataset 'imagefolder')")
        splits = folder_splits(root, params.pop("split_folders"))
        if splits is None:
            splits, folder = ("train",), root
        else:
            folder = root / cfg.split
        if cfg.split not in splits:
            raise ConfigError(
                f"data.split {cfg.split!r} for imagefolder {root}; valid choices: {', '.join(splits)}"
                + ("" if len(splits) > 1 else " (make sub-folders train/, test/ ... to have several splits)")
            )
        files = ImageFiles(folder, params.pop("labels"))
        super().__init__(
            files,
            name=self.dataset_name,
            split=cfg.split,
            splits=splits,
            root=folder,
            resolution=cfg.resolution,
            channels=cfg.channels,
            num_classes=len(files.classes) or None,
            open_split=lambda split: type(self)(dataclasses.replace(cfg, split=split)),
            info={"classes": files.classes} if files.classes else {},
            **params,
        )
