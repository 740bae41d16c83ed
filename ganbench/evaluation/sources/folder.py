"""``folder``: PNG/JPEG files under a folder (recursive); class sub-folders give labels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ganbench.data.folder import ImageFiles
from ganbench.errors import ConfigError, GanbenchError, SourceError
from ganbench.evaluation.sources.base import Batch, FileSource
from ganbench.registries import SOURCES


@SOURCES.register("folder")
class FolderSource(FileSource):
    """PNG/JPEG files under ``path`` (recursive). Labels from class sub-folders (``labels``: None =
    when every image is in a sub-folder); all-integer folder names are the class numbers themselves,
    other names are numbered in sorted order."""

    kind = "folder"

    def __init__(self, path: str, labels: bool | None = None) -> None:
        super().__init__(str(path))
        try:
            self.files = ImageFiles(path, labels)
        except ConfigError as e:
            raise SourceError(f"folder source: {e}") from None
        self.size = len(self.files)
        self.class_names = list(self.files.classes)
        if self.class_names:
            numeric = all(name.isdigit() for name in self.class_names)
            mapping = [int(name) if numeric else i for i, name in enumerate(self.class_names)]
            self.labels = torch.tensor([mapping[y] for _, y in self.files.items], dtype=torch.int64)
            self.num_classes = max(mapping) + 1
            self.label_rule = "integer folder names" if numeric else "sorted folder names, numbered from 0"

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
        out = {**super().describe(), "path": str(Path(self.name).resolve()), "files": self.size}
        if self.class_names:
            out.update(class_folders=self.class_names, label_rule=self.label_rule)
        return out
