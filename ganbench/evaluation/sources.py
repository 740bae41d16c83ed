"""Evaluation sources: where the samples to score come from (registered in ``registries.SOURCES``).

Every source yields uint8 batches N×C×H×W (values 0..255) with labels or None, for a requested
number of samples and a seed:

- ``folder``: PNG/JPEG files under a folder (recursive); class sub-folders give labels;
- ``array``: a ``.npy`` / ``.npz`` array, N×C×H×W, N×H×W×C or N×H×W, uint8 or float in a declared
  range; ``.npz`` keys ``images`` (or a named key) and optionally ``labels``; never unpickled;
- ``torchscript``: a TorchScript generator file, called as ``G(z)`` or ``G(z, y)``;
- ``callable``: ``package.module:factory`` or ``path/to/file.py:factory``; ``factory()`` returns the
  generator. This imports and runs the user's code, which is the point of it;
- ``run``: a ganbench run folder; its record's config rebuilds G, the checkpoint gives the weights
  (registered by ``ganbench.training.run_source``, beside the code that writes checkpoints).

File sources hold a fixed number of images: ``n`` of them are drawn as a seeded random subset, in
seeded random order (so Inception-Score splits do not follow file names or class folders).
Generators draw latents exactly as :func:`ganbench.evaluation.evaluator.generate` does: all ``n``
latents from a CPU generator seeded with ``seed``, then uniform labels from the same generator, so a
run folder evaluated here gives the numbers its training run recorded for the same seed.
Float images are quantised with docs/protocols.md's ``(x·127.5 + 128).clamp(0, 255)`` after mapping the
declared range onto [-1, 1].
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ganbench.errors import ConfigError, GanbenchError, SourceError
from ganbench.evaluation.extractors.base import quantize_to_uint8
from ganbench.io import sha256_file
from ganbench.registries import SOURCES
from ganbench.schema import check_params

Batch = tuple[torch.Tensor, torch.Tensor | None]  # (uint8 N×C×H×W, int64 labels or None)
ValueRange = tuple[float, float]

RANGES = ("-1,1", "0,1", "0,255")
# A float image may overshoot its declared range a little (no final tanh) and is clamped by the
# quantisation, as the protocol does; beyond a quarter of the range width the declaration is wrong.
RANGE_SLACK = 0.25


def parse_range(text: str | tuple[float, float] | None, who: str) -> ValueRange | None:
    """``"-1,1"`` → (-1.0, 1.0). Any ``lo,hi`` with lo < hi is accepted; the usual ones are RANGES."""
    if text is None or isinstance(text, tuple):
        return text
    try:
        lo, hi = (float(v) for v in str(text).split(","))
    except ValueError:
        raise ConfigError(
            f"{who}: value range {text!r}; expected LO,HI, e.g. {', '.join(RANGES)} (on the command line "
            f"write --range=-1,1 with '=', or argparse takes -1,1 for an option)"
        ) from None
    if not lo < hi:
        raise ConfigError(f"{who}: value range {text!r} must have LO < HI")
    return lo, hi


def float_to_uint8(x: torch.Tensor, value_range: ValueRange, who: str) -> torch.Tensor:
    """Float images in ``value_range`` → uint8 via [-1, 1] and :func:`quantize_to_uint8`; NaN/inf and
    values far outside the declared range raise (naming ``who`` and the first bad sample)."""
    finite = torch.isfinite(x.reshape(len(x), -1)).all(dim=1)
    if not bool(finite.all()):
        first = int((~finite).nonzero()[0])
        raise SourceError(f"{who}: sample {first} contains NaN or inf ({int((~finite).sum())} bad samples)")
    lo, hi = value_range
    slack = RANGE_SLACK * (hi - lo)
    x_min, x_max = float(x.min()), float(x.max())
    if x_min < lo - slack or x_max > hi + slack:
        raise SourceError(
            f"{who}: values span [{x_min:.4g}, {x_max:.4g}] but the declared range is [{lo:g}, {hi:g}]; "
            f"declare the right one (--range=-1,1 / 0,1 / 0,255)"
        )
    x = x.to(torch.float32)
    if (lo, hi) != (-1.0, 1.0):
        x = (x - lo) * (2.0 / (hi - lo)) - 1.0
    return quantize_to_uint8(x)


def conform(
    images: torch.Tensor, shape: tuple[int, int, int], who: str, resize: bool = False
) -> torch.Tensor:
    """Make uint8 ``images`` N×c×h×w match the reference ``shape`` (C, H, W).

    Only lossless channel changes happen by default: gray → RGB (repeat), and RGB → gray when the
    three channels are equal (e.g. gray samples written as RGB PNGs). A different size, or colour
    images for a gray reference, raise unless ``resize`` (antialiased resize + luma, as the datasets
    preprocess real images; recorded in the provenance).
    """
    c_ref, h_ref, w_ref = shape
    n, c, h, w = images.shape
    if resize and ((h, w) != (h_ref, w_ref) or (c == 3 and c_ref == 1)):
        from ganbench.data.preprocess import Preprocess

        return Preprocess(resolution=h_ref, channels=c_ref)(images)
    if (h, w) != (h_ref, w_ref):
        raise SourceError(
            f"{who}: images are {h}×{w} but the reference images are {h_ref}×{w_ref}; generate at the "
            f"reference resolution, or pass --resize to resize them (recorded in the result)"
        )
    if c == c_ref:
        return images
    if c == 1 and c_ref == 3:
        return images.expand(-1, 3, -1, -1)
    if c == 3 and c_ref == 1:
        if bool((images[:, 0] == images[:, 1]).all()) and bool((images[:, 0] == images[:, 2]).all()):
            return images[:, :1]
        raise SourceError(
            f"{who}: colour (3-channel) images but the reference is gray (1 channel); pass --resize to "
            f"convert them with the luma weights (recorded in the result)"
        )
    raise SourceError(f"{who}: images have {c} channels, the reference has {c_ref}")


def _as_labels(y: Any, n: int, who: str, num_classes: int | None = None) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(y)) if not isinstance(y, torch.Tensor) else y
    if t.ndim != 1 or len(t) != n:
        raise SourceError(f"{who}: expected {n} labels (a 1-D array), got shape {tuple(t.shape)}")
    if t.dtype.is_floating_point or t.dtype == torch.bool or t.is_complex():
        raise SourceError(f"{who}: labels must be integers, got dtype {t.dtype}")
    t = t.to(torch.int64)
    if n and int(t.min()) < 0:
        raise SourceError(f"{who}: labels must be >= 0, got {int(t.min())}")
    if n and num_classes is not None and int(t.max()) >= num_classes:
        raise SourceError(f"{who}: label {int(t.max())} is out of range for {num_classes} classes")
    return t


# ---------------------------------------------------------------------------------------------
# the interface


class EvalSource:
    """Base class. ``size`` is the number of samples a file source holds (None: a generator, which
    gives any number); ``conditional`` generators take the labels they are asked for."""

    kind: ClassVar[str] = ""
    size: int | None = None
    conditional: bool = False
    num_classes: int | None = None
    float_output: bool = False  # samples are float images quantised here (else stored as uint8)

    def __init__(self, name: str) -> None:
        self.name = name

    def __str__(self) -> str:
        return f"{self.kind} source {self.name}"

    def to(self, device: torch.device | str) -> EvalSource:
        return self

    def batches(
        self, n: int, batch_size: int, seed: int, labels: torch.Tensor | None = None
    ) -> Iterator[Batch]:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "num_classes": self.num_classes}

    def default_reference(self) -> Any:
        """The DataSource to compare with when none is named (a run folder: its training data)."""
        return None


class FileSource(EvalSource):
    """A fixed set of stored images; subclasses implement :meth:`read` of given indices."""

    labels: torch.Tensor | None = None

    def read(self, idx: torch.Tensor) -> Batch:
        raise NotImplementedError

    def batches(
        self, n: int, batch_size: int, seed: int, labels: torch.Tensor | None = None
    ) -> Iterator[Batch]:
        assert self.size is not None
        if labels is not None:
            raise SourceError(f"{self}: stored images cannot be generated for given labels")
        if n > self.size:
            raise SourceError(f"{self}: holds {self.size} images, {n} were asked for (lower --n)")
        if n < 1 or batch_size < 1:
            raise ConfigError(f"{self}: n and batch size must be >= 1, got n={n}, batch size {batch_size}")
        order = torch.randperm(self.size, generator=torch.Generator().manual_seed(seed))[:n]
        for i in range(0, n, batch_size):
            yield self.read(order[i : i + batch_size])


# ---------------------------------------------------------------------------------------------
# folder


@SOURCES.register("folder")
class FolderSource(FileSource):
    """PNG/JPEG files under ``path`` (recursive). Labels from class sub-folders (``labels``: None =
    when every image is in a sub-folder); all-integer folder names are the class numbers themselves,
    other names are numbered in sorted order."""

    kind = "folder"

    def __init__(self, path: str, labels: bool | None = None) -> None:
        from ganbench.data.folder import ImageFiles

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


# ---------------------------------------------------------------------------------------------
# numpy arrays


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
            raise ConfigError(f"array source {p}: layout {layout!r}; valid choices: nchw, nhwc")
        self.sha256 = sha256_file(p)
        labels = None
        try:
            if p.suffix == ".npz":
                with np.load(p, allow_pickle=False) as f:
                    names = list(f.files)
                    k = key or ("images" if "images" in names else (names[0] if len(names) == 1 else None))
                    if k is None or k not in names:
                        raise SourceError(
                            f"array source {p}: no array {key or 'images'!r}; the file holds "
                            f"{', '.join(names) or 'nothing'} (name the images with --key)"
                        )
                    arr = f[k]
                    if labels_key in names and labels_key != k:
                        labels = f[labels_key]
                self.key = k
            else:
                if key is not None:
                    raise ConfigError(f"array source {p}: --key applies to .npz files only")
                arr = np.load(p, allow_pickle=False, mmap_mode="r")  # large files stay on disk
                self.key = None
        except ValueError as e:  # object arrays need pickle: refused, never unpickled
            raise SourceError(f"array source {p}: cannot be read without unpickling ({e})") from None
        except (OSError, zipfile.BadZipFile, EOFError) as e:
            raise SourceError(f"array source {p}: not a readable .npy/.npz file ({e})") from None
        self.dtype = str(arr.dtype)
        self.array, self.layout = self._layout(arr, layout, p)
        self.size = int(self.array.shape[0])
        if self.size == 0:
            raise SourceError(f"array source {p}: holds no images (shape {tuple(arr.shape)})")
        if arr.dtype == np.uint8:
            if value_range is not None and parse_range(value_range, str(p)) != (0.0, 255.0):
                raise ConfigError(
                    f"array source {p}: uint8 arrays are 0..255; --range={value_range} does not apply"
                )
            self.value_range = None
        elif np.issubdtype(arr.dtype, np.floating):
            if value_range is None:
                raise SourceError(
                    f"array source {p}: float array ({arr.dtype}); declare its value range with "
                    f"--range=-1,1, --range=0,1 or --range=0,255"
                )
            self.value_range = parse_range(value_range, f"array source {p}")
            self.float_output = True
        else:
            raise SourceError(
                f"array source {p}: dtype {arr.dtype}; expected uint8 (0..255) or a float array with --range"
            )
        if labels is not None:
            self.labels = _as_labels(labels, self.size, f"array source {p}: {labels_key!r}")
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
                    f"name the layout with --layout"
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
        who = (
            f"{self} (samples {idx[:3].tolist()}...)" if len(idx) > 3 else f"{self} (samples {idx.tolist()})"
        )
        if self.value_range is not None:
            x = float_to_uint8(x, self.value_range, who)
        return x, (self.labels[idx] if self.labels is not None else None)

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "path": str(Path(self.name).resolve()),
            "sha256": self.sha256,
            "key": self.key,
            "dtype": self.dtype,
            "layout": self.layout,
            "value_range": list(self.value_range) if self.value_range else None,
            "count": self.size,
            "has_labels": self.labels is not None,
        }


# ---------------------------------------------------------------------------------------------
# generators


class GeneratorSource(EvalSource):
    """Any callable ``G(z)`` / ``G(z, y)`` returning float images N×C×H×W in ``value_range``."""

    kind = "generator"
    float_output = True

    def __init__(
        self,
        G: Callable[..., Any],
        name: str,
        z_dim: int | None = None,
        num_classes: int | None = None,
        value_range: str | ValueRange | None = "-1,1",
    ) -> None:
        super().__init__(name)
        self.G = G
        z_dim = z_dim if z_dim is not None else _int_attr(G, "z_dim")
        if z_dim is None:
            raise SourceError(f"{self}: the generator has no integer z_dim attribute; pass --z-dim")
        if z_dim < 1:
            raise ConfigError(f"{self}: z_dim must be >= 1, got {z_dim}")
        self.z_dim = int(z_dim)
        self.num_classes = num_classes if num_classes is not None else _int_attr(G, "num_classes")
        if self.num_classes is not None and self.num_classes < 1:
            raise ConfigError(f"{self}: num_classes must be >= 1, got {self.num_classes}")
        self.conditional = self.num_classes is not None
        self.value_range = parse_range(value_range or "-1,1", str(self))
        self.device = torch.device("cpu")

    def to(self, device: torch.device | str) -> GeneratorSource:
        self.device = torch.device(device)
        if isinstance(self.G, (nn.Module, torch.jit.ScriptModule)):
            self.G = self.G.to(self.device)
        return self

    def latents(
        self, n: int, seed: int, labels: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """As :func:`ganbench.evaluation.evaluator.generate`: z first, then labels, one CPU generator."""
        gen = torch.Generator().manual_seed(seed)
        z = torch.randn(n, self.z_dim, generator=gen)
        if labels is not None:
            if not self.conditional:
                raise SourceError(f"{self}: labels were asked for but the generator is unconditional")
            labels = _as_labels(labels, n, f"{self}: requested labels", self.num_classes)
        elif self.conditional:
            labels = torch.randint(self.num_classes, (n,), generator=gen)
        return z, labels

    @torch.no_grad()
    def batches(
        self, n: int, batch_size: int, seed: int, labels: torch.Tensor | None = None
    ) -> Iterator[Batch]:
        if n < 1 or batch_size < 1:
            raise ConfigError(f"{self}: n and batch size must be >= 1, got n={n}, batch size {batch_size}")
        z, labels = self.latents(n, seed, labels)
        module = self.G if isinstance(self.G, nn.Module) else None
        was_training = module.training if module is not None else False
        if module is not None:
            module.eval()
        try:
            for i in range(0, n, batch_size):
                zb = z[i : i + batch_size].to(self.device)
                yb = labels[i : i + batch_size] if labels is not None else None
                try:
                    out = self.G(zb) if yb is None else self.G(zb, yb.to(self.device))
                except GanbenchError:
                    raise
                except Exception as e:  # the user's code failed: say where and with what inputs
                    args = f"z {tuple(zb.shape)}" + (f" and y {tuple(yb.shape)}" if yb is not None else "")
                    raise SourceError(
                        f"{self}: calling the generator with {args} failed: {type(e).__name__}: {e}"
                    ) from e
                yield self._check_output(out, len(zb)), yb
        finally:
            if module is not None:
                module.train(was_training)

    def _check_output(self, out: Any, n: int) -> torch.Tensor:
        expected = (
            f"a float tensor of shape ({n}, C, H, W) with C = 1 or 3, values in {list(self.value_range)}"
        )
        if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
            raise SourceError(f"{self}: the generator returned a {type(out).__name__}; expected {expected}")
        if not isinstance(out, torch.Tensor):
            raise SourceError(f"{self}: the generator returned {type(out).__name__}; expected {expected}")
        if out.ndim != 4 or out.shape[0] != n or out.shape[1] not in (1, 3):
            raise SourceError(f"{self}: the generator returned shape {tuple(out.shape)}; expected {expected}")
        if not out.is_floating_point():
            raise SourceError(f"{self}: the generator returned dtype {out.dtype}; expected {expected}")
        return float_to_uint8(out.detach().float().cpu(), self.value_range, str(self))

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "z_dim": self.z_dim,
            "conditional": self.conditional,
            "value_range": list(self.value_range),
            "latents": "z ~ N(0, I) for all n from torch.Generator().manual_seed(seed), then uniform labels",
        }


def _int_attr(obj: Any, name: str) -> int | None:
    try:
        value = getattr(obj, name, None)
    except Exception:  # noqa: BLE001 - TorchScript modules raise on some attribute lookups
        return None
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


@SOURCES.register("torchscript")
class TorchScriptSource(GeneratorSource):
    """A TorchScript generator file (``torch.jit.save``), called as ``G(z)`` or ``G(z, y)``."""

    kind = "torchscript"

    def __init__(
        self,
        path: str,
        z_dim: int | None = None,
        num_classes: int | None = None,
        value_range: str | None = "-1,1",
    ) -> None:
        p = Path(path)
        if not p.is_file():
            raise SourceError(f"torchscript source {p}: file not found")
        try:
            with (
                warnings.catch_warnings()
            ):  # torch >= 2.10 deprecates TorchScript; it is still a format we read
                warnings.simplefilter("ignore", FutureWarning)
                G = torch.jit.load(str(p), map_location="cpu")
        except Exception as e:  # noqa: BLE001 - torch raises RuntimeError/ValueError for non-TorchScript files
            raise SourceError(
                f"torchscript source {p}: not a TorchScript file "
                f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
                f"save the generator with torch.jit.save(torch.jit.script(G), path)"
            ) from None
        self.sha256 = sha256_file(p)
        super().__init__(G, str(p), z_dim, num_classes, value_range)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "path": str(Path(self.name).resolve()), "sha256": self.sha256}


@SOURCES.register("callable")
class CallableSource(GeneratorSource):
    """``package.module:factory`` or ``path/to/file.py:factory``: ``factory()`` returns the generator
    (an ``nn.Module`` or any callable). This imports and runs that code: use it on code you trust."""

    kind = "callable"

    def __init__(
        self,
        spec: str,
        z_dim: int | None = None,
        num_classes: int | None = None,
        value_range: str | None = "-1,1",
    ) -> None:
        factory = load_factory(spec)
        try:
            G = factory()
        except Exception as e:
            raise SourceError(f"callable source {spec}: the factory raised {type(e).__name__}: {e}") from e
        if not callable(G):
            raise SourceError(
                f"callable source {spec}: the factory returned {type(G).__name__}, which is not callable; "
                f"it must return the generator (an nn.Module or a function of z [, y])"
            )
        super().__init__(G, spec, z_dim, num_classes, value_range)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "spec": self.name, "generator_type": type(self.G).__name__}


def load_factory(spec: str) -> Callable[[], Any]:
    """The object named by ``module:attr`` or ``file.py:attr`` (the current folder is importable)."""
    where, sep, attr = spec.rpartition(":")
    if not sep or not where or not attr:
        raise SourceError(
            f"callable source {spec!r}: expected package.module:factory or path/to/file.py:factory"
        )
    try:
        if where.endswith(".py") or Path(where).is_file():
            path = Path(where).resolve()
            if not path.is_file():
                raise SourceError(f"callable source {spec!r}: {where} not found")
            mod_name = f"_ganbench_eval_{path.stem}_{abs(hash(str(path)))}"
            module_spec = importlib.util.spec_from_file_location(mod_name, path)
            assert module_spec is not None and module_spec.loader is not None
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[mod_name] = module
            module_spec.loader.exec_module(module)
        else:
            if "" not in sys.path and str(Path.cwd()) not in sys.path:
                sys.path.insert(0, str(Path.cwd()))  # as `python -m` would: the user's own modules
            module = importlib.import_module(where)
    except GanbenchError:
        raise
    except Exception as e:
        raise SourceError(
            f"callable source {spec!r}: importing {where} failed: {type(e).__name__}: {e}"
        ) from e
    try:
        factory = getattr(module, attr)
    except AttributeError:
        raise SourceError(f"callable source {spec!r}: {where} has no attribute {attr!r}") from None
    if not callable(factory):
        raise SourceError(f"callable source {spec!r}: {attr} is a {type(factory).__name__}, not a factory")
    return factory


# ---------------------------------------------------------------------------------------------
# opening a source from a command-line argument


def detect_kind(spec: str) -> str:
    """The source kind a SOURCE argument names (see ``ganbench eval --help``)."""
    p = Path(spec)
    if p.is_dir():
        return "run" if (p / "record.json").is_file() else "folder"
    if p.is_file():
        if p.suffix.lower() in (".npy", ".npz"):
            return "array"
        if p.suffix.lower() == ".py":
            raise SourceError(f"{spec}: a Python file; name its factory as {spec}:factory")
        return "torchscript"
    if ":" in spec:
        return "callable"
    raise SourceError(
        f"source {spec!r}: no such file or folder, and not package.module:factory; expected an image folder, "
        f".npy/.npz array, TorchScript file, module:factory, or ganbench run folder"
    )


def open_source(spec: str, kind: str | None = None, **options: Any) -> EvalSource:
    """Build the source ``spec`` (kind detected unless given); ``options`` are checked against the
    kind's parameters, and an option that does not apply to it is an error naming the valid ones."""
    from ganbench.registries import load_all

    load_all()
    kind = kind or detect_kind(spec)
    factory = SOURCES.get(kind, "--kind")
    options = {k: v for k, v in options.items() if v is not None}
    checked = check_params(factory, options, f"{kind} source {spec}", skip=_first_param(factory))
    return factory(spec, **checked)


def _first_param(factory: type) -> tuple[str, ...]:
    params = [p for p in inspect.signature(factory.__init__).parameters if p != "self"]
    return (params[0],) if params else ()
