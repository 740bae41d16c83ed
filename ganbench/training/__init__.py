"""Training: the trainer, checkpoints, EMA, devices; importing registers the ``run`` evaluation source."""

from ganbench.training import run_source  # noqa: F401  (registration)
