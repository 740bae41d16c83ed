"""evaluation"""

from ganbench.evaluation import metrics  # noqa: F401  (registration: fid, kid, is, prdc, ...)
from ganbench.evaluation import extractors  # noqa: F401  (registration)
from ganbench.evaluation import sources, stacked  # noqa: F401  (registration: SOURCES, stacked_modes)
