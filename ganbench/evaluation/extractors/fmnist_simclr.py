"""A self-supervised Fashion-MNIST feature extractor: a small CNN trained without labels (SimCLR).

The 10-class classifier (``fmnist-classifier``) keeps what separates the classes and discards the
rest, so P/R/D/C in its space barely see image quality (uniform noise gets precision 0.28–0.64).
This encoder was trained by contrastive learning instead (Chen et al. 2020, SimCLR: two augmented
views of each training image, the NT-Xent loss on a projection head, the head dropped for
features), so its 128-d features describe the images themselves, not only their class.

Weights: ``ganbench/assets/fmnist_simclr.pt`` (the encoder's state dict only; loaded with
``weights_only=True`` after its sha256 is checked), trained on the Fashion-MNIST training split
from a checkout by ``python scripts/train_fmnist_simclr.py --recipe recipes/extractors/fmnist_simclr.yaml``;
that run's metadata (kNN accuracy on the test split, recipe, time, the command) is
``ganbench/assets/fmnist_simclr.json``. Labels were used only for that accuracy check.

Input: as the classifier's (uint8 N×1×28×28 native; RGB to gray with the ITU-R 601 weights and
other sizes resized to 28×28 with antialiased bilinear interpolation), scaled to [-1, 1]. No logits.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ganbench.evaluation import weights as W
from ganbench.evaluation.extractors.base import Output
from ganbench.evaluation.extractors.fmnist_classifier import Gray28Extractor, asset_path, load_state
from ganbench.registries import EXTRACTORS

ASSET_NAME = "fmnist_simclr.pt"
ASSET_SHA256 = "3c5aa524c868744b470ae9e2cd4b9a1644da0be0e9e4e9fc51593563f7b7673f"
FEATURE_DIM = 128
PROJECTION_DIM = 64


def _conv(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]


class SimCLREncoder(nn.Module):
    """28×28 gray in [-1, 1] → 128-d features (global average pool of the last block). ~97 k
    parameters: narrow early layers so that two views of 60 000 images per epoch train on one CPU
    thread in about a minute."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_conv(1, 16),
            nn.MaxPool2d(2),  # 14×14
            *_conv(16, 32),
            nn.MaxPool2d(2),  # 7×7
            *_conv(32, 64),
            *_conv(64, FEATURE_DIM, stride=2),  # 4×4
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class ProjectionHead(nn.Module):
    """SimCLR's g(·): an MLP the contrastive loss sees; used in training only, never shipped."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(FEATURE_DIM, FEATURE_DIM, bias=False),
            nn.BatchNorm1d(FEATURE_DIM),
            nn.ReLU(inplace=True),
            nn.Linear(FEATURE_DIM, PROJECTION_DIM),
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)


class FMNISTSimCLRExtractor(Gray28Extractor):
    name = "fmnist-simclr"
    dim = FEATURE_DIM
    num_classes = None
    asset_meta, asset_sha256, meta_key = "fmnist_simclr.json", ASSET_SHA256, "knn_accuracy"

    def compute(self, images: torch.Tensor) -> Output:
        return self.net(self.prepare(images)), None  # features only: no logits


@EXTRACTORS.register("fmnist-simclr")
def fmnist_simclr(weights: str | None = None, device: str | torch.device = "cpu") -> FMNISTSimCLRExtractor:
    """The self-supervised Fashion-MNIST encoder. ``weights``: None (the shipped asset, checksum
    verified), a path to an encoder state dict trained with the recipe, or ``"random-init"``."""
    if weights == W.RANDOM_INIT:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            net = SimCLREncoder()
        return FMNISTSimCLRExtractor(net, W.RANDOM_INIT, None).to(device)
    path = asset_path(ASSET_NAME) if weights is None else Path(weights).expanduser()
    state, digest = load_state(path, ASSET_SHA256 if weights is None else None, "SimCLR encoder")
    net = SimCLREncoder()
    net.load_state_dict(state)
    return FMNISTSimCLRExtractor(net, digest, str(path)).to(device)
