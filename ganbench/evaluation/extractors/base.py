"""The feature-extractor interface, the float → uint8 quantisation, and batched extraction.

One API for every extractor: ``extractor(images) -> (features, logits | None)``, one forward pass
giving both (FID/KID/PR/DC use the features, IS and class assignment the logits), so generated
samples go through the network once. ``features(x)`` / ``logits(x)`` are conveniences over it.

Image extractors take **uint8** tensors N×C×H×W (C = 1 or 3, values 0..255): generated float images
are quantised first with :func:`quantize_to_uint8`, exactly like real images stored as 8-bit files,
so real and fake go through the same preprocessing. Features and logits come back float32.
"""

from __future__ import annotations

import contextlib
import itertools
import warnings
from collections.abc import Iterable, Iterator
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from ganbench.errors import SourceError

Output = tuple[torch.Tensor, torch.Tensor | None]  # (features N×dim, logits N×num_classes or None)


class FeatureExtractor(nn.Module):
    """Base class. Subclasses set the attributes below and implement :meth:`compute`.

    - ``name``: registry name; ``mode``: the preprocessing/backend variant (recorded in results);
    - ``dim``: feature width; ``num_classes``: logit width, None when there are no logits;
    - ``weights_hash``: sha256 of the weights file, ``"random-init"``, or ``"none"`` (no weights);
    - ``preprocessing``: a one-line description; ``preprocessing_version``: bumped whenever ganbench
      changes the preprocessing, so cached reference statistics are recomputed.
    """

    name: str = ""
    mode: str = "default"
    dim: int = 0
    num_classes: int | None = None
    weights_hash: str = "none"
    weights_file: str | None = None
    preprocessing: str = ""
    preprocessing_version: str = "1"
    channels: tuple[int, ...] = (1, 3)  # accepted input channel counts

    # --- the API -------------------------------------------------------------------------------
    def forward(self, images: torch.Tensor) -> Output:  # type: ignore[override]
        images = self.check_input(images)
        with torch.no_grad(), full_fp32():
            feats, logits = self.compute(images.to(self.device))
        feats = feats.float().reshape(len(images), -1)
        return feats, (logits.float() if logits is not None else None)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self(images)[0]

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        if self.num_classes is None:
            raise SourceError(f"feature extractor {self.name!r} has no logits (it gives features only)")
        out = self(images)[1]
        assert out is not None
        return out

    def compute(self, images: torch.Tensor) -> Output:
        """Checked input on the extractor's device → (features, logits or None)."""
        raise NotImplementedError

    # --- helpers -------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        for t in itertools.chain(self.parameters(), self.buffers()):
            return t.device
        return torch.device("cpu")

    def check_input(self, images: Any) -> torch.Tensor:
        return check_uint8_images(images, self.name, self.channels)

    def provenance(self) -> dict[str, Any]:
        return {
            "extractor": self.name,
            "mode": self.mode,
            "dim": self.dim,
            "num_classes": self.num_classes,
            "weights_hash": self.weights_hash,
            "weights_file": self.weights_file,
            "preprocessing": self.preprocessing,
            "preprocessing_version": self.preprocessing_version,
        }


@contextlib.contextmanager
def full_fp32() -> Iterator[None]:
    """No TF32 in CUDA convolutions/matmuls while extracting: on Ampere+ GPUs TF32 (torch's default for
    cuDNN convolutions) moves Inception features by ~5e-4 relative. stylegan2-ada-pytorch's
    calc_metrics.py turns it off for the same reason."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the allow_tf32 flags are deprecated in favour of fp32_precision
        saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def check_uint8_images(images: Any, who: str, channels: tuple[int, ...] = (1, 3)) -> torch.Tensor:
    """Raise SourceError unless ``images`` is a uint8 tensor N×C×H×W with C in ``channels``."""
    expected = f"a torch.uint8 tensor N×C×H×W with C in {channels} (values 0..255)"
    if not isinstance(images, torch.Tensor):
        raise SourceError(f"{who}: expected {expected}, got {type(images).__name__}")
    if images.dtype != torch.uint8:
        hint = (
            " (quantise float images in [-1, 1] with quantize_to_uint8 first)"
            if images.is_floating_point()
            else ""
        )
        raise SourceError(f"{who}: expected {expected}, got dtype {images.dtype}{hint}")
    if images.ndim != 4 or images.shape[1] not in channels:
        raise SourceError(f"{who}: expected {expected}, got shape {tuple(images.shape)}")
    return images


def to_rgb(images: torch.Tensor) -> torch.Tensor:
    """Gray N×1×H×W → N×3×H×W by repeating the channel (as stylegan2-ada's metric_utils does)."""
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


def quantize_to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Float images in [-1, 1] → uint8, as docs/protocols.md pins it: ``(x·127.5 + 128).clamp(0, 255)``
    then truncation (``.to(torch.uint8)``).

    This is stylegan2-ada-pytorch's conversion (``metric_utils.compute_feature_stats_for_generator``:
    ``(img * 127.5 + 128).clamp(0, 255).to(torch.uint8)``): the +128 instead of +127.5 plus truncation
    rounds x·127.5 + 127.5 half-up. clean-fid expects the caller's generator to output [0, 255] itself
    and does not quantise before its float resize; we quantise so generated and real images (8-bit
    files) are treated identically.
    """
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        got = x.dtype if isinstance(x, torch.Tensor) else type(x).__name__
        raise SourceError(f"quantize_to_uint8: expected a float tensor with values in [-1, 1], got {got}")
    if not torch.isfinite(x).all():
        raise SourceError("quantize_to_uint8: the images contain NaN or inf")
    return (x * 127.5 + 128).clamp(0, 255).to(torch.uint8)


def extract(
    extractor: FeatureExtractor,
    batches: Iterable[torch.Tensor],
    device: torch.device | str | None = None,
    progress: bool = False,
    desc: str | None = None,
    total: int | None = None,
) -> Output:
    """Run ``extractor`` over an iterable of batches (no grad) → concatenated (features, logits|None)
    on the CPU. ``device`` moves the extractor first; ``total`` (batches) sizes the progress bar."""
    if device is not None:
        extractor.to(device)
    extractor.eval()
    feats: list[torch.Tensor] = []
    logits: list[torch.Tensor] = []
    bar = tqdm(batches, desc=desc or f"features ({extractor.name})", total=total, disable=not progress)
    with torch.no_grad():
        for batch in bar:
            f, lg = extractor(batch)
            feats.append(f.cpu())
            if lg is not None:
                logits.append(lg.cpu())
    if not feats:
        raise SourceError(f"{extractor.name}: no batches to extract features from")
    return torch.cat(feats), (torch.cat(logits) if logits else None)
