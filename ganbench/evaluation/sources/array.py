"""``array``: a ``.npy`` / ``.npz`` array of images, never unpickled.

N×C×H×W, N×H×W×C or N×H×W, uint8 or float in a declared range; ``.npz`` keys ``images`` (or a
named key) and optionally ``labels``.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation.arrays import as_labels
from ganbench.evaluation.sources.base import (
    Batch,
    FileSource,
    float_to_uint8,
    option_name,
    parse_range,
    range_choices,
)
from ganbench.io import sha256_file
from ganbench.registries import SOURCES


@SOURCES.register("array")
class ArraySource(FileSource):
    """A ``.npy`` or ``.npz`` file of images (see the module docstring), loaded with
    ``allow_pickle=False``. ``value_range`` is required for float arrays ("-1,1", "0,1", "0,255");
    ``layout`` ("nchw" / "nhwc") only when the shape is ambiguous."""

    kind = "array"

    def __init__(
        self,
        path: str,
        value_range: str | None = None,
        key: str | None = None,
        labels_key: str = "labels",
        layout: str | None = None,
    ) -> None:
        super().__init__(str(path))
        p = Path(path)
        if not p.is_file():
            raise SourceError(f"array source {p}: file not found")
        if layout not in (None, "nchw", "nhwc"):
            raise ConfigError(f"array source {p}: {option_name('layout', layout)}; valid choices: nchw, nhwc")
        self.sha256 = sha256_file(p)
        labels = None
        try:
            if p.suffix == ".npz":
                with np.load(p, allow_pickle=False) as f:
                    names = list(f.files)
                    k = key or ("images" if "images" in names else (names[0] if len(names) == 1 else None))
                    if k is None or k not in names:
                        raise SourceError(f"array source {p}: {_missing_key(p, key, names)}")
                    arr = f[k]
                    if labels_key in names and labels_key != k:
                        labels = f[labels_key]
                self.key = k
            else:
                if key is not None:
                    raise ConfigError(f"array source {p}: {option_name('key')} applies to .npz files only")
                arr = np.load(p, allow_pickle=False, mmap_mode="r")  # large files stay on disk
                self.key = None
        except SourceError:  # ours (a ValueError too): not a pickling matter
            raise
        except ValueError as e:  # object arrays need pickle: refused, never unpickled
            raise SourceError(f"array source {p}: cannot be read without unpickling ({e})") from None
        except (OSError, zipfile.BadZipFile, EOFError) as e:
            raise SourceError(f"array source {p}: not a readable .npy/.npz file ({e})") from None
        self.path: Path | None = p
        self._set_images(arr, labels, value_range, layout, p, repr(labels_key))

    @classmethod
    def from_array(
        cls,
        images: np.ndarray | torch.Tensor,
        value_range: str | None = None,
        labels: np.ndarray | torch.Tensor | None = None,
        layout: str | None = None,
    ) -> ArraySource:
        """Images held in memory (``ganbench.evaluate(array)``), checked like a file's; the content
        sha256 stands in for the file's in the provenance."""
        arr = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
        if layout not in (None, "nchw", "nhwc"):
            raise ConfigError(
                f"array source in memory: {option_name('layout', layout)}; valid choices: nchw, nhwc"
            )
        self = cls.__new__(cls)
        FileSource.__init__(self, "<in memory>")
        self.sha256 = hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()
        self.key, self.path = None, None
        self._set_images(arr, labels, value_range, layout, Path("<in memory>"), "labels")
        return self

    def _set_images(
        self, arr: np.ndarray, labels: Any, value_range: str | None, layout: str | None, p: Path, what: str
    ) -> None:
        """Shape, dtype, value range and labels of the image array ``arr`` (from a file or memory)."""
        self.dtype = str(arr.dtype)
        self.array, self.layout = self._layout(arr, layout, p)
        self.size = int(self.array.shape[0])
        if self.size == 0:
            raise SourceError(f"array source {p}: holds no images (shape {tuple(arr.shape)})")
        if arr.dtype == np.uint8:
            if value_range is not None and parse_range(value_range, str(p)) != (0.0, 255.0):
                raise ConfigError(
                    f"array source {p}: uint8 arrays are 0..255; "
                    f"{option_name('value_range', value_range)} does not apply"
                )
            self.value_range = None
        elif np.issubdtype(arr.dtype, np.floating):
            if value_range is None:
                raise SourceError(
                    f"array source {p}: float array ({arr.dtype}); declare its value range with "
                    f"{range_choices()}"
                )
            self.value_range = parse_range(value_range, f"array source {p}")
            self.float_output = True
        else:
            raise SourceError(
                f"array source {p}: dtype {arr.dtype}; expected uint8 (0..255) or a float array with "
                f"{option_name('value_range')}"
            )
        if labels is not None:
            self.labels = as_labels(labels, f"array source {p}: {what}", self.size)
            self.num_classes = int(self.labels.max()) + 1

    @staticmethod
    def _layout(arr: np.ndarray, layout: str | None, p: Path) -> tuple[np.ndarray, str]:
        expected = "N×C×H×W, N×H×W×C (C = 1 or 3) or N×H×W"
        if arr.ndim == 3:
            return arr[:, None], "nhw"
        if arr.ndim != 4:
            raise SourceError(f"array source {p}: shape {tuple(arr.shape)}; expected {expected}")
        nchw, nhwc = arr.shape[1] in (1, 3), arr.shape[3] in (1, 3)
        if layout is None:
            if nchw and nhwc:
                raise SourceError(
                    f"array source {p}: shape {tuple(arr.shape)} reads as N×C×H×W and as N×H×W×C; "
                    f"name the layout with {option_name('layout', 'nchw')} or {option_name('layout', 'nhwc')}"
                )
            if not (nchw or nhwc):
                raise SourceError(f"array source {p}: shape {tuple(arr.shape)}; expected {expected}")
            layout = "nchw" if nchw else "nhwc"
        elif not (nchw if layout == "nchw" else nhwc):
            raise SourceError(
                f"array source {p}: shape {tuple(arr.shape)} has no 1 or 3 channels in {layout} layout"
            )
        return (arr if layout == "nchw" else arr.transpose(0, 3, 1, 2)), layout

    def read(self, idx: torch.Tensor) -> Batch:
        # sorted reads are sequential on a memory-mapped file; the batch keeps the random order
        order = np.argsort(idx.numpy(), kind="stable")
        rows = np.empty_like(order)
        rows[order] = np.arange(len(order))
        block = np.ascontiguousarray(self.array[idx.numpy()[order]])[rows]
        x = torch.from_numpy(block)
        if self.value_range is not None:
            x = float_to_uint8(x, self.value_range, str(self), index=idx, watch=self._watch)
        return x, (self.labels[idx] if self.labels is not None else None)

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "path": str(self.path.resolve()) if self.path is not None else None,
            "sha256": self.sha256,
            "key": self.key,
            "dtype": self.dtype,
            "layout": self.layout,
            "value_range": list(self.value_range) if self.value_range else None,
            "count": self.size,
            "has_labels": self.labels is not None,
        }


def _missing_key(p: Path, key: str | None, names: list[str]) -> str:
    """Why no images array was found in the .npz ``p``, with what it holds and how to choose one."""
    what = f"no array {key!r}" if key is not None else "no array 'images' (and more than one array)"
    held = ", ".join(f"{name!r} {_npz_member(p, name)}" for name in names) or "no arrays"
    pick = names[0] if names else "NAME"
    return f"{what}; the file holds {held}: name the images with {option_name('key', pick)}"


def _npz_member(p: Path, name: str) -> str:
    """dtype and shape of one .npz member from its header alone (no data read, nothing unpickled)."""
    try:
        with zipfile.ZipFile(p) as z, z.open(f"{name}.npy") as fh:
            version = np.lib.format.read_magic(fh)
            read = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read(fh)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return "(unreadable)"
    return "(object array, not readable)" if dtype.hasobject else f"{dtype} {tuple(shape)}"
