"""Grid expansion and executors (registered in ``ganbench.registries.EXECUTORS``)."""

from ganbench.runners import local  # noqa: F401  (registration)
