"""A stand-in for NVIDIA's ``inception-2015-12-05.pt`` TorchScript, and random weights for Inception.

The real TorchScript cannot be downloaded here. :class:`TorchScriptInceptionLike` has its interface
and preprocessing (``layers``, ``output``, ``forward(img, return_features, use_fp16, no_output_bias)``,
TF1 bilinear resize inside) on pytorch-fid's architecture; scripted and saved, it is a file that
ganbench's ``clean`` / ``legacy_tensorflow`` modes and clean-fid's ``InceptionV3W`` both load, so the
plumbing of those modes is compared on the same file. Tests only: ganbench loads the real file with
``torch.jit.load``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ganbench.evaluation.extractors.inception_arch import Pool3, fid_inception_v3
from ganbench.evaluation.extractors.resize import _tf1_grid_resize


def randomise_(module: nn.Module, seed: int = 0) -> nn.Module:
    """Random values in *every* parameter and buffer that the forward pass reads, so that a state dict
    mapped to the wrong layer changes the output: He-normal convolutions / linears with random biases,
    and batch norms with random weight, bias, running mean and running variance (scaled so that
    activations stay O(1) through the deep net). Deterministic; the global RNG is left alone."""
    gen = torch.Generator().manual_seed(seed)

    def uniform(shape: torch.Size, lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(shape, generator=gen)

    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
            elif isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(uniform(torch.Size([c]), 0.8, 1.2))
                m.bias.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_var.copy_(uniform(torch.Size([c]), 0.8, 1.25))
    return module


class TorchScriptInceptionLike(nn.Module):
    """NVIDIA's TorchScript interface on pytorch-fid's architecture (random weights only)."""

    def __init__(self) -> None:
        super().__init__()
        net = fid_inception_v3()
        self.layers = Pool3(net)
        self.output = nn.Linear(2048, 1008)

    def forward(
        self,
        img: torch.Tensor,
        return_features: bool = False,
        use_fp16: bool = False,
        no_output_bias: bool = False,
    ) -> torch.Tensor:
        x = img.to(torch.float32)
        x = _tf1_grid_resize(x, (299, 299))  # the TorchScript resizes inside, TF1-style (float32 grid)
        x = (x - 128) / 128
        features = self.layers(x).reshape(-1, 2048)
        if return_features:
            return features
        if no_output_bias:
            logits = F.linear(features, self.output.weight)
        else:
            logits = self.output(features)
        return F.softmax(logits, dim=1)


def scripted_standin(path: str | Path, seed: int = 0) -> TorchScriptInceptionLike:
    """Save a scripted, randomly initialised stand-in at ``path``; returns the module it was made from."""
    net = randomise_(TorchScriptInceptionLike(), seed).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.script is deprecated, still how such files are made
        scripted = torch.jit.script(net)
    scripted.save(str(path))
    return net
