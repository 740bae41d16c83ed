"""TensorFlow-1.x bilinear resize (``tf.image.resize_bilinear``, align_corners=False, no half-pixel
centres): output pixel j samples input coordinate j·(in/out), upper neighbour clamped to the border.

Written by hand because torch's ``F.interpolate(mode="bilinear")`` uses half-pixel centres. It is the
resize inside NVIDIA's ``inception-2015-12-05.pt`` TorchScript (an ``affine_grid`` whose translation is
shifted by 1/in − 1/out, then ``grid_sample`` with border padding), which we mirror, and the resize
torch-fidelity uses for its VGG16/Inception extractors (tests compare against both).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def resize_bilinear_tf1(x: torch.Tensor, size: tuple[int, int], exact: bool = False) -> torch.Tensor:
    """Float N×C×H×W → N×C×size[0]×size[1].

    ``exact=False`` samples on a float32 grid like the NVIDIA TorchScript (up to ~1e-5 of the value
    range off exact TF1 at 300 px); ``exact=True`` computes in float64 and casts back (≤ 1e-4 / 255).
    """
    if exact and x.dtype != torch.float64:
        return _tf1_grid_resize(x.double(), size).to(x.dtype)
    return _tf1_grid_resize(x, size)


def _tf1_grid_resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    n, c, h, w = x.shape
    out_h, out_w = size
    theta = torch.zeros(n, 2, 3, dtype=x.dtype, device=x.device)
    theta[:, 0, 0] = 1.0
    theta[:, 1, 1] = 1.0
    # With align_corners=False, this shift maps output pixel j to input coordinate j·in/out exactly.
    theta[:, 0, 2] = 1.0 / w - 1.0 / out_w
    theta[:, 1, 2] = 1.0 / h - 1.0 / out_h
    grid = F.affine_grid(theta, [n, c, out_h, out_w], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
