"""Datasets (importing registers them in ``ganbench.registries.DATASETS``)."""

from ganbench.data import folder, stacked, toy, vision  # noqa: F401
