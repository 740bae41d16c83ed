"""Adversarial losses, Lipschitz methods, conditioning and training techniques."""

from ganbench.objectives import conditioning, drift, lipschitz, losses, packing, techniques  # noqa: F401  (registration)
