"""Model families (registered in ``ganbench.registries.MODELS``)."""

from ganbench.models import biggan, dcgan, mlp, resnet, sagan  # noqa: F401  (registration)
