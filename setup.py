"""Packaging beyond what pyproject.toml can say: the recipes.

``recipes/`` stays at the repository root (the README, docs and tests cite ``recipes/...``); the wheel
ships it as package data under ``ganbench/recipes`` so that ``ganbench recipes`` finds it after a
non-editable install. Everything else is in pyproject.toml.
"""

from setuptools import find_namespace_packages, setup

RECIPES = ["ganbench.recipes", *(f"ganbench.recipes.{p}" for p in find_namespace_packages("recipes"))]

setup(
    packages=[*find_namespace_packages(include=["ganbench*"]), *RECIPES],
    package_dir={"ganbench.recipes": "recipes"},
    package_data={"ganbench": ["assets/*"], **{p: ["*.yaml"] for p in RECIPES}},
)
