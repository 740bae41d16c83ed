"""Model families (registered in ``ganbench.registries.MODELS``)."""

from ganbench.models import (  # noqa: F401  (registration)
    biggan,
    dcgan,
    mlp,
    progan,
    resnet,
    sagan,
    stylegan,
    translation_families,
)
