"""SAGAN (Zhang et al. 2019): the SNGAN ResNet nets with self-attention in G and D and spectral
norm in *both* G and D; class-conditional BN in G and a projection D when conditional.

The paper's ImageNet 128 model puts attention on the 32×32 feature maps of both nets (its best
setting); the other resolutions use the ResNet family's architectures with attention on the maps
at half the output side. ``attn_res`` moves it (0 = none); orthogonal init as in BigGAN.
"""

from __future__ import annotations

from typing import ClassVar

from ganbench.models.family import ImageFamily, with_defaults
from ganbench.models.resnet import ResNetDiscriminator, ResNetGenerator
from ganbench.registries import MODELS

ATTN = {28: 14, 32: 16, 48: 24, 64: 32, 128: 32}


@with_defaults(sn=True, init="ortho")  # spectral norm in G too (the paper's); BigGAN's init
class SAGANGenerator(ResNetGenerator):
    family: ClassVar[str] = "sagan"
    default_attn: ClassVar[dict[int, int]] = ATTN


@with_defaults(init="ortho")
class SAGANDiscriminator(ResNetDiscriminator):
    family: ClassVar[str] = "sagan"
    default_attn: ClassVar[dict[int, int]] = ATTN


@MODELS.register("sagan")
class SAGAN(ImageFamily):
    """SAGAN; ``model.g``: ch, attn_res, sn, init; ``model.d``: as the resnet family's D."""

    name = "sagan"
    generator = SAGANGenerator
    discriminator = SAGANDiscriminator
    resolutions = (28, 32, 48, 64, 128)
    conditionings = ("none", "acgan", "projection")
    unsupported = {
        "concat": "SAGAN conditions G through class-conditional batch norm and D by projection; "
        "use 'projection' (the paper's) or 'acgan'"
    }
