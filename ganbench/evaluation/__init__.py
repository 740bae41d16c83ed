"""Evaluation core: extractors, reference statistics, metrics, sources (importing registers them)."""

from ganbench.evaluation import extractors, metrics, modes, sources, stacked  # noqa: F401
