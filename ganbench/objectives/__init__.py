"""Adversarial losses, Lipschitz methods, conditioning and training techniques."""

from ganbench.objectives import conditioning, lipschitz, losses, techniques  # noqa: F401  (registration)
