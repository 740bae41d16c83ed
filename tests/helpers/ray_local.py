"""A private local Ray instance for tests: 2 CPUs (this machine's), no dashboard, a small object
store, so that tests starting one do not differ in how."""

from __future__ import annotations

from typing import Any


def init_local_ray(ray: Any) -> None:
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=128 * 1024**2,
    )
