"""ganbench: GAN benchmarking and evaluation suite.

``ganbench.evaluate(fake, real=..., metrics=...)`` is the one-call Python API
(:mod:`ganbench.evaluation.api`).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["EvaluationResult", "__version__", "evaluate"]

_LAZY = {"evaluate": "ganbench.evaluation.api", "EvaluationResult": "ganbench.evaluation.api"}


def __getattr__(name: str) -> Any:
    # Imported on first use: `import ganbench` (every module, and the CLI's --help) must not pay for torch.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ganbench' has no attribute {name!r}")
