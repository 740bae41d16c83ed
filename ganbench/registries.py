"""Every component registry, in one place. Modules register into these on import.

``load_all()`` imports the modules that register, so a name lookup sees every component.
"""

from __future__ import annotations

import importlib

from ganbench.registry import Registry

DATASETS: Registry = Registry("dataset")
MODELS: Registry = Registry("model")
LOSSES: Registry = Registry("adversarial loss")
LIPSCHITZ: Registry = Registry("Lipschitz method")
TECHNIQUES: Registry = Registry("training technique")
CONDITIONINGS: Registry = Registry("conditioning")
EXTRACTORS: Registry = Registry("feature extractor")
METRICS: Registry = Registry("metric")
EXECUTORS: Registry = Registry("executor")
SOURCES: Registry = Registry("evaluation source")
# NVIDIA network classes ganbench can rebuild from a network pickle without running its code: the
# pickled class's ``module.ClassName`` (e.g. ``training.networks.Generator``) -> a builder
# ``(init_args, init_kwargs) -> nn.Module`` whose state-dict keys and shapes are NVIDIA's
NVIDIA_NETWORKS: Registry = Registry("NVIDIA network class")

_MODULES = (
    "ganbench.data",
    "ganbench.models",
    "ganbench.objectives",
    "ganbench.evaluation",
    "ganbench.training",
    "ganbench.runners",
)


def load_all() -> None:
    for name in _MODULES:
        importlib.import_module(name)
