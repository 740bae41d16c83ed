"""Evaluation core: sources → extractors → statistics → metrics, usable alone as a library.

Importing it registers the extractors, metrics and sources. The one-call API is
``ganbench.evaluate`` (:mod:`ganbench.evaluation.api`); the low-level functions import from
:mod:`ganbench.evaluation.functional`.
"""

from ganbench.evaluation import (  # noqa: F401  (registration)
    cmmd,
    equivariance,
    extractors,
    memorisation,
    metrics,
    modes,
    msssim,
    prd,
    sources,
    stacked,
    translation_metrics,
    vendi,
)
