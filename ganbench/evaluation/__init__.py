"""Evaluation core: extractors, reference statistics, metrics, sources (importing registers them).

The low-level functions, importable from here::

    from ganbench.evaluation import fid_from_features, frechet_distance, feature_statistics
    from ganbench.evaluation import FeatureStatistics, reference_statistics
    from ganbench.evaluation import kernel_inception_distance, prdc, inception_score, intra_fid

``prdc``, ``inception_score`` and ``intra_fid`` are also the names of the modules that define
those functions, and ``import ganbench.evaluation.prdc as P`` must keep giving the module. So
those three modules are made callable: ``prdc(real, fake)`` calls ``prdc.prdc(real, fake)``, and
``prdc.precision_recall`` etc. stay where they are.
"""

import types

# the registering modules first (extractors, metrics, modes, sources, stacked), then the functions
from ganbench.evaluation import (  # noqa: F401
    extractors,
    inception_score,
    intra_fid,
    metrics,
    modes,
    prdc,
    sources,
    stacked,
)
from ganbench.evaluation.fid_infinity import fid_infinity
from ganbench.evaluation.frechet import feature_statistics, fid_from_features, frechet_distance
from ganbench.evaluation.kid import kernel_inception_distance
from ganbench.evaluation.reference import reference_statistics
from ganbench.evaluation.statistics import FeatureStatistics, extract_features


class _CallableModule(types.ModuleType):
    """A module that, called, calls its function of the same name."""

    def __call__(self, *args, **kwargs):
        return getattr(self, self.__name__.rpartition(".")[2])(*args, **kwargs)


for _module in (prdc, inception_score, intra_fid):
    _module.__class__ = _CallableModule

__all__ = [
    "FeatureStatistics",
    "extract_features",
    "feature_statistics",
    "fid_from_features",
    "fid_infinity",
    "frechet_distance",
    "inception_score",
    "intra_fid",
    "kernel_inception_distance",
    "prdc",
    "reference_statistics",
]
