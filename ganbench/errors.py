"""Exceptions with messages a user can act on: they name the file, key or argument and the choices."""

from __future__ import annotations


class GanbenchError(Exception):
    """Base class: every error ganbench raises on purpose."""


class ConfigError(GanbenchError, ValueError):
    """A recipe, grid or argument is invalid. Raised before any work starts."""


class SourceError(GanbenchError, ValueError):
    """An evaluation source (folder, array, generator) gave data of the wrong kind."""


class WeightsError(GanbenchError, FileNotFoundError):
    """Feature-extractor weights are missing or fail their checksum."""


class DivergedError(GanbenchError, FloatingPointError):
    """Training produced NaN/inf losses; the run is recorded as diverged."""


class CheckpointMismatchError(GanbenchError, ValueError):
    """A checkpoint belongs to another run config."""
