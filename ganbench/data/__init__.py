"""Datasets (importing registers them in ``ganbench.registries.DATASETS``)."""

from ganbench.data import fmnist_translation, folder, stacked, toy, translation_folders, vision  # noqa: F401
