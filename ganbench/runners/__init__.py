"""Grid expansion and executors (registered in ``ganbench.registries.EXECUTORS``)."""

from ganbench.runners import local, ray_executor  # noqa: F401  (registration; ray is imported only when used)
