"""Model families (registered in ``ganbench.registries.MODELS``)."""

from ganbench.models import (  # noqa: F401  (registration)
    biggan,
    dcgan,
    mlp,
    progan,
    resnet,
    sagan,
    stylegan,
    stylegan2,
    stylegan3,
    translation_families,
)
