"""The ganbench Fashion-MNIST classifier: a small CNN shipped with the package as a feature extractor.

Its 128-d penultimate activations (after BatchNorm + ReLU) serve FID/KID/PR/DC on Fashion-MNIST and
its 10 logits serve IS, class assignment and stacked mode counting (docs/protocols.md), like the MNIST
classifier of the Stacked-MNIST protocol. Weights: ``ganbench/assets/fmnist_classifier.pt`` (a plain
state dict, loaded with ``weights_only=True`` after its sha256 is checked), trained from a checkout by
``python scripts/train_fmnist_classifier.py --recipe recipes/extractors/fmnist_classifier.yaml``; the
metadata of that run (test accuracy, recipe, time, that command) is
``ganbench/assets/fmnist_classifier.json``.

Input: uint8 N×1×28×28. N×3×H×W or other sizes are accepted: RGB is converted to gray with the
ITU-R 601 weights PIL's ``convert("L")`` uses (0.299, 0.587, 0.114; in float, not rounded), and other
sizes are resized to 28×28 with torch's antialiased bilinear interpolation. Other shapes raise.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganbench.errors import WeightsError
from ganbench.evaluation import weights as W
from ganbench.evaluation.extractors.base import FeatureExtractor, Output
from ganbench.registries import EXTRACTORS

ASSET_NAME = "fmnist_classifier.pt"
ASSET_SHA256 = "15005cd587d7d1a69cfdfc1a9920df7cdea45b5e33bc420b46de862127b623ce"
FEATURE_DIM = 128
NUM_CLASSES = 10
CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
_GRAY = (0.299, 0.587, 0.114)


def asset_path(name: str = ASSET_NAME) -> Path:
    return Path(str(resources.files("ganbench") / "assets" / name))


def _conv(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class FMNISTNet(nn.Module):
    """28×28 gray in [-1, 1] → (128-d features, 10 logits). ~0.46 M parameters (1.8 MB)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_conv(1, 32),
            nn.MaxPool2d(2),  # 14×14
            *_conv(32, 64),
            nn.MaxPool2d(2),  # 7×7
            *_conv(64, 64),
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, FEATURE_DIM, bias=False),
            nn.BatchNorm1d(FEATURE_DIM),
            nn.ReLU(inplace=True),
        )
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(FEATURE_DIM, NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feats = self.body(x)
        return feats, self.head(self.dropout(feats))


def normalize(gray_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 N×1×28×28 → float in [-1, 1] (the training and the extractor share this)."""
    return gray_uint8.float() / 127.5 - 1


def to_gray28(images: torch.Tensor) -> torch.Tensor:
    """uint8 N×{1,3}×H×W → float N×1×28×28 in [0, 255] (documented in the module docstring)."""
    x = images.float()
    if x.shape[1] == 3:
        w = torch.tensor(_GRAY, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        x = (x * w).sum(1, keepdim=True)
    if x.shape[-2:] != (28, 28):
        x = F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False, antialias=True)
    return x


class Gray28Extractor(FeatureExtractor):
    """A network shipped with ganbench that reads 28×28 grayscale Fashion-MNIST (the classifier, the
    SimCLR encoder): the input preparation, and the shipped asset's sanity number in the provenance
    (``meta_key`` of ``asset_meta``, when the weights are the shipped ``asset_sha256``)."""

    mode = "gray28"
    channels = (1, 3)
    preprocessing = "RGB->gray (0.299,0.587,0.114), antialiased bilinear to 28x28 if needed, x/127.5-1"
    asset_meta: str
    asset_sha256: str
    meta_key: str

    def __init__(self, net: nn.Module, weights_hash: str, weights_file: str | None) -> None:
        super().__init__()
        self.net = net.eval().requires_grad_(False)
        self.weights_hash = weights_hash
        self.weights_file = weights_file
        self.eval()

    @staticmethod
    def prepare(images: torch.Tensor) -> torch.Tensor:
        if images.shape[1] == 1 and images.shape[-2:] == (28, 28):
            return normalize(images)  # the native input: exactly the training preprocessing
        return to_gray28(images) / 127.5 - 1

    def provenance(self) -> dict[str, Any]:
        out = super().provenance()
        meta = asset_path(self.asset_meta)
        if self.weights_hash == self.asset_sha256 and meta.is_file():
            out[self.meta_key] = json.loads(meta.read_text()).get(self.meta_key)
        return out


class FMNISTClassifierExtractor(Gray28Extractor):
    name = "fmnist-classifier"
    dim = FEATURE_DIM
    num_classes = NUM_CLASSES
    asset_meta, asset_sha256, meta_key = "fmnist_classifier.json", ASSET_SHA256, "test_accuracy"

    def compute(self, images: torch.Tensor) -> Output:
        return self.net(self.prepare(images))


def load_state(
    path: str | Path, expected_sha256: str | None, what: str = "classifier"
) -> tuple[dict[str, torch.Tensor], str]:
    """The state dict at ``path`` and its sha256, checked against ``expected_sha256`` when given
    (``what``: the shipped network the messages name; the SimCLR encoder shares this)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: Fashion-MNIST {what} weights not found")
    digest = W.file_sha256(path)
    if expected_sha256 is not None and digest != expected_sha256:
        raise WeightsError(
            f"{path}: sha256 {digest} does not match the shipped {what}'s {expected_sha256}; the "
            "package file is corrupt or was replaced (reinstall ganbench, or retrain with the recipe in "
            "docs/extractors.md and pass the new file as weights=PATH)"
        )
    return torch.load(path, map_location="cpu", weights_only=True), digest


@EXTRACTORS.register("fmnist-classifier")
def fmnist_classifier(
    weights: str | None = None, device: str | torch.device = "cpu"
) -> FMNISTClassifierExtractor:
    """The Fashion-MNIST classifier. ``weights``: None (the shipped asset, checksum verified), a path
    to a state dict trained with the recipe (its hash is recorded), or ``"random-init"``."""
    net = FMNISTNet()
    if weights == W.RANDOM_INIT:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            net = FMNISTNet()
        return FMNISTClassifierExtractor(net, W.RANDOM_INIT, None).to(device)
    path = asset_path() if weights is None else Path(weights).expanduser()
    state, digest = load_state(path, ASSET_SHA256 if weights is None else None)
    net.load_state_dict(state)
    return FMNISTClassifierExtractor(net, digest, str(path)).to(device)
