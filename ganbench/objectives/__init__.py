"""Adversarial losses, Lipschitz methods, conditioning and training techniques."""

from ganbench.objectives import (  # noqa: F401  (registration)
    augment,
    conditioning,
    drift,
    lipschitz,
    losses,
    packing,
    path_length,
    techniques,
    translation,
)
