"""Model families (registered in ``ganbench.registries.MODELS``)."""

from ganbench.models import biggan, dcgan, mlp, progan, resnet, sagan  # noqa: F401  (registration)
