"""Datasets (registered in ``ganbench.registries.DATASETS``)."""

from ganbench.data import toy  # noqa: F401  (registration)
from ganbench.data import folder, stacked, vision  # noqa: F401  (registration: image datasets)
