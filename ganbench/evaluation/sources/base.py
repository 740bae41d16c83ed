"""What every evaluation source shares: the interface, value ranges and quantisation, and
conforming images to the reference shape.

Every source yields uint8 batches N×C×H×W (values 0..255) with labels or None, for a requested
number of samples and a seed. File sources hold a fixed number of images: ``n`` of them are drawn
as a seeded random subset, in seeded random order (so Inception-Score splits do not follow file
names or class folders). Float images are quantised with docs/protocols.md's
``(x·127.5 + 128).clamp(0, 255)`` after mapping the declared range onto [-1, 1].
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from typing import Any, ClassVar

import torch

from ganbench.data.preprocess import Preprocess
from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation.extractors.base import quantize_to_uint8
from ganbench.evaluation.options import OptionNamer, keyword_name, option_name, option_names  # noqa: F401

Batch = tuple[torch.Tensor, torch.Tensor | None]  # (uint8 N×C×H×W, int64 labels or None)
ValueRange = tuple[float, float]

RANGES = ("-1,1", "0,1", "0,255")
# A float image may overshoot its declared range a little (no final tanh) and is clamped by the
# quantisation, as the protocol does; beyond a quarter of the range width the declaration is wrong.
RANGE_SLACK = 0.25
# Samples seen before a declared range the data contradicts is reported (RangeWatch): thousands of
# images, each of thousands of pixels, leave no doubt; a whole set smaller than this is judged at its end.
RANGE_CHECK_SAMPLES = 1000


def range_choices() -> str:
    return " / ".join(option_name("value_range", r) for r in RANGES)


class RangeWarning(UserWarning):
    """Float images contradict the value range that was explicitly declared for them."""


def parse_range(text: str | tuple[float, float] | None, who: str) -> ValueRange | None:
    """``"-1,1"`` → (-1.0, 1.0). Any ``lo,hi`` with lo < hi is accepted; the usual ones are RANGES."""
    if text is None or isinstance(text, tuple):
        return text
    try:
        lo, hi = (float(v) for v in str(text).split(","))
    except ValueError:
        raise ConfigError(
            f"{who}: value range {text!r}; expected LO,HI, e.g. {range_choices()} (on the command line "
            f"write --range=-1,1 with '=', or argparse takes -1,1 for an option)"
        ) from None
    if not lo < hi:
        raise ConfigError(f"{who}: value range {text!r} must have LO < HI")
    return lo, hi


class RangeWatch:
    """The span of the float values one pass over a source gave so far, to catch a declared range
    the data contradicts (values beyond it are refused per batch by :func:`float_to_uint8`):

    - under a range with negative values (e.g. [-1, 1]) no value below its middle: [0, 1] images;
    - under a range above 1 (e.g. 0..255) no value above 1: [0, 1] (or [-1, 1]) images.

    Judged once, after :data:`RANGE_CHECK_SAMPLES` samples (so a wrong run stops early) or at the end
    of a smaller pass. A range that was only defaulted (a generator without ``--range``) is refused;
    an explicitly declared one gets a :class:`RangeWarning` (kept in ``warning``, and recorded): a
    collapsed generator may truly give only bright images, and declaring its range is the way to say so.
    """

    def __init__(self, value_range: ValueRange, who: str, declared: bool = True, source: Any = None) -> None:
        # ``source`` gets the warning as ``range_warning`` when it is given (its consumer may stop
        # reading after the last batch, before code after a generator's loop would run)
        self.value_range, self.who, self.declared, self.source = value_range, who, declared, source
        self.n, self.min, self.max = 0, math.inf, -math.inf
        self.judged = False
        self.warning: str | None = None

    def update(self, x_min: float, x_max: float, n: int) -> None:
        self.n += n
        self.min, self.max = min(self.min, x_min), max(self.max, x_max)
        if not self.judged and self.n >= RANGE_CHECK_SAMPLES:
            self.judge()

    def finish(self) -> None:
        if not self.judged and self.n:
            self.judge()

    def likely_range(self) -> str | None:
        """The range the values seen suggest, when they contradict the declared one."""
        lo, hi = self.value_range
        if lo < 0 and self.min >= (lo + hi) / 2:
            return "0,1" if (lo, hi) == (-1.0, 1.0) else f"{(lo + hi) / 2:g},{hi:g}"
        if hi > 1 and self.max <= 1:
            return "-1,1" if self.min < 0 else "0,1"
        return None

    def judge(self) -> None:
        self.judged = True
        likely = self.likely_range()
        if likely is None:
            return
        lo, hi = self.value_range
        how = "declared" if self.declared else "defaults to"
        msg = (
            f"{self.who}: the range {how} [{lo:g}, {hi:g}] but after {self.n} samples every value lies in "
            f"[{self.min:.4g}, {self.max:.4g}], which reads as [{likely.replace(',', ', ')}] images; scored "
            f"under [{lo:g}, {hi:g}] they give wrong numbers: pass {option_name('value_range', likely)}"
        )
        if self.declared:
            self.warning = msg + " (or ignore this if the declared range is right)"
            if self.source is not None:
                self.source.range_warning = self.warning
            warnings.warn(self.warning, RangeWarning, stacklevel=2)
        else:
            lo_hi = f"{lo:g},{hi:g}"
            raise SourceError(f"{msg} (or {option_name('value_range', lo_hi)} if that range is right)")


def float_to_uint8(
    x: torch.Tensor,
    value_range: ValueRange,
    who: str,
    index: torch.Tensor | None = None,
    watch: RangeWatch | None = None,
) -> torch.Tensor:
    """Float images in ``value_range`` → uint8 via [-1, 1] and :func:`quantize_to_uint8`; NaN/inf and
    values far outside the declared range raise (naming ``who`` and the first bad sample: its
    position in the batch, or ``index[position]`` (its index in the file) when ``index`` is given).
    ``watch`` follows the values over the whole pass (see :class:`RangeWatch`)."""
    finite = torch.isfinite(x.reshape(len(x), -1)).all(dim=1)
    if not bool(finite.all()):
        first = int((~finite).nonzero()[0])
        where = f"sample {first}" if index is None else f"sample {int(index[first])} of the file"
        raise SourceError(f"{who}: {where} contains NaN or inf ({int((~finite).sum())} bad samples)")
    lo, hi = value_range
    slack = RANGE_SLACK * (hi - lo)
    x_min, x_max = float(x.min()), float(x.max())
    if x_min < lo - slack or x_max > hi + slack:
        raise SourceError(
            f"{who}: values span [{x_min:.4g}, {x_max:.4g}] but the declared range is [{lo:g}, {hi:g}]; "
            f"declare the right one ({range_choices()})"
        )
    if watch is not None:
        watch.update(x_min, x_max, len(x))
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
        return Preprocess(resolution=h_ref, channels=c_ref)(images)
    if (h, w) != (h_ref, w_ref):
        raise SourceError(
            f"{who}: images are {h}×{w} but the reference images are {h_ref}×{w_ref}; generate at the "
            f"reference resolution, or pass {option_name('resize', True)} to resize them "
            f"(recorded in the result)"
        )
    if c == c_ref:
        return images
    if c == 1 and c_ref == 3:
        return images.expand(-1, 3, -1, -1)
    if c == 3 and c_ref == 1:
        if bool((images[:, 0] == images[:, 1]).all()) and bool((images[:, 0] == images[:, 2]).all()):
            return images[:, :1]
        raise SourceError(
            f"{who}: colour (3-channel) images but the reference is gray (1 channel); pass "
            f"{option_name('resize', True)} to convert them with the luma weights (recorded in the result)"
        )
    raise SourceError(f"{who}: images have {c} channels, the reference has {c_ref}")


class EvalSource:
    """Base class. ``size`` is the number of samples a file source holds (None: a generator, which
    gives any number); ``conditional`` generators take the labels they are asked for."""

    kind: ClassVar[str] = ""
    size: int | None = None
    conditional: bool = False
    num_classes: int | None = None
    float_output: bool = False  # samples are float images quantised here (else stored as uint8)
    range_warning: str | None = None  # a RangeWatch warning of the last pass (recorded in describe())

    def __init__(self, name: str) -> None:
        self.name = name

    def __str__(self) -> str:
        return f"{self.kind} source {self.name}"

    def to(self, device: torch.device | str) -> EvalSource:
        return self

    def check_count(self, n: int, batch_size: int) -> None:
        """Raise unless ``n`` samples in batches of ``batch_size`` can be given (before any work)."""
        if n < 1 or batch_size < 1:
            raise ConfigError(f"{self}: n and batch size must be >= 1, got n={n}, batch size {batch_size}")

    def batches(
        self, n: int, batch_size: int, seed: int, labels: torch.Tensor | None = None
    ) -> Iterator[Batch]:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        out = {"kind": self.kind, "name": self.name, "num_classes": self.num_classes}
        if self.range_warning:  # the number was computed despite it: keep it beside the number
            out["range_warning"] = self.range_warning
        return out

    def default_reference(self) -> Any:
        """The DataSource to compare with when none is named (a run folder: its training data)."""
        return None


class FileSource(EvalSource):
    """A fixed set of stored images; subclasses implement :meth:`read` of given indices."""

    labels: torch.Tensor | None = None
    value_range: ValueRange | None = None  # float files: their declared range (always declared)
    _watch: RangeWatch | None = None  # the pass in progress (read() feeds it)

    def read(self, idx: torch.Tensor) -> Batch:
        raise NotImplementedError

    def check_count(self, n: int, batch_size: int) -> None:
        if n > (self.size or 0):
            raise SourceError(
                f"{self}: holds {self.size} images, {n} were asked for (lower {option_name('n')})"
            )
        super().check_count(n, batch_size)

    def indices(self, n: int, seed: int) -> torch.Tensor:
        """The file indices of the ``n`` images drawn for ``seed``, in the order they are read."""
        return torch.randperm(self.size or 0, generator=torch.Generator().manual_seed(seed))[:n]

    def drawn_labels(self, n: int, seed: int) -> torch.Tensor | None:
        """The labels of the images :meth:`batches` yields for ``n`` and ``seed`` (None: unlabelled)."""
        return self.labels[self.indices(n, seed)] if self.labels is not None else None

    def batches(
        self, n: int, batch_size: int, seed: int, labels: torch.Tensor | None = None
    ) -> Iterator[Batch]:
        if labels is not None:
            raise SourceError(f"{self}: stored images cannot be generated for given labels")
        self.check_count(n, batch_size)
        order = self.indices(n, seed)
        watch = RangeWatch(self.value_range, str(self), source=self) if self.value_range is not None else None
        self._watch = watch
        for i in range(0, n, batch_size):
            batch = self.read(order[i : i + batch_size])
            if watch is not None and i + batch_size >= n:
                watch.finish()  # a set smaller than RANGE_CHECK_SAMPLES is judged on its last batch
            yield batch
