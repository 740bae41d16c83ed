"""data"""

from ganbench.data import folder, stacked, vision  # noqa: F401  (registration: image datasets)
