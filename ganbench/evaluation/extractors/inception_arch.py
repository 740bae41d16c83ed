"""Inception-V3 networks for FID: pytorch-fid's architecture and its pool3 path.

- :func:`fid_inception_v3` builds pytorch-fid's ``fid_inception_v3`` architecture (torchvision's
  Inception3 with 1008 classes and its TF-compatible blocks) *without* downloading anything: the
  reference function always downloads its weights, so we repeat its block table here, using the
  block classes from clean-fid's copy of pytorch-fid (a core dependency; pytorch-fid itself is a dev
  extra). A test checks the state-dict layout and outputs against ``pytorch_fid.inception``.
- :class:`Pool3` is the path of pytorch-fid's ``InceptionV3(output_blocks=[3])`` through it.

NVIDIA's ``inception-2015-12-05.pt`` (modes ``clean`` and ``legacy_tensorflow``) is not rebuilt
here: it is loaded with ``torch.jit.load``. The tests script a stand-in with its interface
(tests/helpers/inception_standin.py).
"""

from __future__ import annotations

import torch
import torchvision
from cleanfid.inception_pytorch import FIDInceptionA, FIDInceptionC, FIDInceptionE_1, FIDInceptionE_2
from torch import nn


def fid_inception_v3() -> torchvision.models.Inception3:
    """pytorch-fid's FID Inception architecture with untrained weights (load a state dict into it)."""
    net = torchvision.models.inception_v3(
        weights=None, num_classes=1008, aux_logits=False, init_weights=False
    )
    net.Mixed_5b = FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = FIDInceptionE_1(1280)
    net.Mixed_7c = FIDInceptionE_2(2048)
    return net.eval().requires_grad_(False)


class Pool3(nn.Module):
    """The path of pytorch-fid's ``InceptionV3(output_blocks=[3])``: normalised 299² input → N×2048."""

    def __init__(self, net: torchvision.models.Inception3) -> None:
        super().__init__()
        self.blocks = nn.Sequential(
            net.Conv2d_1a_3x3,
            net.Conv2d_2a_3x3,
            net.Conv2d_2b_3x3,
            nn.MaxPool2d(kernel_size=3, stride=2),
            net.Conv2d_3b_1x1,
            net.Conv2d_4a_3x3,
            nn.MaxPool2d(kernel_size=3, stride=2),
            net.Mixed_5b,
            net.Mixed_5c,
            net.Mixed_5d,
            net.Mixed_6a,
            net.Mixed_6b,
            net.Mixed_6c,
            net.Mixed_6d,
            net.Mixed_6e,
            net.Mixed_7a,
            net.Mixed_7b,
            net.Mixed_7c,
            nn.AdaptiveAvgPool2d(output_size=(1, 1)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x).flatten(1)


def random_init_(module: nn.Module, seed: int = 0) -> nn.Module:
    """Deterministic random weights that keep activations O(1) through a deep ReLU net (He-normal
    convolutions, unit BN), without touching the global RNG: ``weights="random-init"`` of mode
    ``legacy_pytorch``, for plumbing tests only."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.reset_parameters()
                m.reset_running_stats()
    return module
