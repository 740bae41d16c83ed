"""``folder``: PNG/JPEG files under a folder (recursive); class sub-folders give labels."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch

from ganbench.data.folder import ImageFiles, top_level_images
from ganbench.errors import ConfigError, GanbenchError, SourceError
from ganbench.evaluation.sources.base import Batch, FileSource, option_name
from ganbench.registries import SOURCES

HASH_CHUNK = 1 << 20


@SOURCES.register("folder")
class FolderSource(FileSource):
    """PNG/JPEG files under ``path`` (recursive). Labels from class sub-folders (``labels``: None =
    when every image is in a sub-folder and there are at least two of them: a lone ``epoch_10/`` is
    a folder of samples, not a class); all-integer folder names are the class numbers themselves,
    other names are numbered in sorted order. ``labels=True`` takes even one sub-folder as a class."""

    kind = "folder"

    def __init__(self, path: str, labels: bool | None = None) -> None:
        super().__init__(str(path))
        folder = Path(path)
        if labels and folder.is_dir() and (top := top_level_images(folder)):
            raise SourceError(
                f"{self}: {option_name('labels', True)} but images lie directly in the folder (e.g. "
                f"{top[0].name}); put every image in a class sub-folder, or pass "
                f"{option_name('labels', False)}"
            )
        try:
            self.files = ImageFiles(path, labels)
        except ConfigError as e:
            raise SourceError(f"folder source: {e}") from None
        self.size = len(self.files)
        self.class_names = list(self.files.classes)
        self.label_rule: str | None = None
        if labels is None and len(self.class_names) == 1:
            # one sub-folder holds everything: a one-class "label set" would make label metrics vacuous
            self.files.items = [(p, None) for p, _ in self.files.items]
            self.label_rule = (
                f"unlabelled: every image is in the one sub-folder {self.class_names[0]}/ "
                f"({option_name('labels', True)} makes it a class)"
            )
            self.class_names = []
        if self.class_names:
            numeric = all(name.isdigit() for name in self.class_names)
            mapping = [int(name) if numeric else i for i, name in enumerate(self.class_names)]
            self.labels = torch.tensor([mapping[y] for _, y in self.files.items], dtype=torch.int64)
            self.num_classes = max(mapping) + 1
            self.label_rule = "integer folder names" if numeric else "sorted folder names, numbered from 0"
        self._sha256: str | None = None

    @property
    def sha256(self) -> str:
        """sha256 over the images' relative paths (in their sorted order) and bytes, each
        length-prefixed; computed once, streaming (one more read of every file, cheap beside decoding
        them)."""
        if self._sha256 is None:
            root = Path(self.name)
            h = hashlib.sha256()
            for path, _ in self.files.items:
                rel = path.relative_to(root).as_posix().encode()
                h.update(len(rel).to_bytes(8, "little") + rel + path.stat().st_size.to_bytes(8, "little"))
                with open(path, "rb") as f:
                    while block := f.read(HASH_CHUNK):
                        h.update(block)
            self._sha256 = h.hexdigest()
        return self._sha256

    def read(self, idx: torch.Tensor) -> Batch:
        images = []
        first_shape = None
        for i in idx.tolist():
            try:
                img, _ = self.files[i]
            except GanbenchError as e:  # the message names the unreadable file
                raise SourceError(f"{self}: {e}") from e.__cause__
            if first_shape is None:
                first_shape = img.shape
            elif img.shape != first_shape:
                raise SourceError(
                    f"{self}: {self.files.items[i][0]} is {tuple(img.shape)} (C×H×W) but other images are "
                    f"{tuple(first_shape)}; all images must have one size"
                )
            images.append(img)
        return torch.stack(images), (self.labels[idx] if self.labels is not None else None)

    def describe(self) -> dict[str, Any]:
        out = {
            **super().describe(),
            "path": str(Path(self.name).resolve()),
            "files": self.size,
            "sha256": self.sha256,
            "sha256_of": "sorted relative paths and file bytes",
        }
        if self.class_names:
            out.update(class_folders=self.class_names)
        if self.label_rule:
            out.update(label_rule=self.label_rule)
        return out
