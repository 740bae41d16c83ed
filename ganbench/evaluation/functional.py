"""The low-level evaluation functions, importable from one place (like ``torch.nn.functional``)::

    from ganbench.evaluation.functional import frechet_distance, feature_statistics, prdc

Each takes features (numpy arrays or torch tensors, real first where the order matters) and returns
numbers; the registered metrics (:mod:`ganbench.evaluation.metrics`) call these same functions.
"""

from ganbench.evaluation.fid_infinity import fid_infinity
from ganbench.evaluation.frechet import feature_statistics, fid_from_features, frechet_distance
from ganbench.evaluation.inception_score import inception_score
from ganbench.evaluation.intra_fid import intra_fid
from ganbench.evaluation.kid import kernel_inception_distance
from ganbench.evaluation.prdc import prdc
from ganbench.evaluation.reference import reference_statistics
from ganbench.evaluation.statistics import FeatureStatistics, extract_features

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
