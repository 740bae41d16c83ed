"""Whether a metric's long inner loops show a progress bar: the evaluation's progress setting
(``ganbench eval --no-progress``, ``evaluate(progress=...)``) reaches the metric functions through a
context variable that :func:`ganbench.evaluation.metric.compute_metrics` sets, so a metric's
parameters (validated from recipes) never carry it. A direct library call (``prdc(...)``) shows no
bar unless it passes ``progress=True``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from tqdm.auto import tqdm

_PROGRESS: ContextVar[bool] = ContextVar("ganbench_metric_progress", default=False)


@contextmanager
def metric_progress(on: bool) -> Iterator[None]:
    """Metric loops inside show their bars when ``on`` (a context variable: threads keep their own)."""
    token = _PROGRESS.set(bool(on))
    try:
        yield
    finally:
        _PROGRESS.reset(token)


def progress_bar(total: int, desc: str, progress: bool | None = None) -> tqdm:
    """A bar over ``total`` work units (distance blocks), shown when ``progress`` is True, or when it
    is None and the evaluation asked for progress. Transient (``leave=False``), as the extraction's."""
    show = _PROGRESS.get() if progress is None else progress
    return tqdm(total=total, desc=desc, disable=not show, leave=False, unit="block")
