"""What the trainer and evaluator need from a dataset, whatever it holds (2-D points or images)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

import torch

from ganbench import schema
from ganbench.config import DataConfig
from ganbench.errors import ConfigError

Batch = tuple[torch.Tensor, torch.Tensor | None]  # (x, labels or None)


def no_options() -> None:
    """``data.params`` of a dataset that takes none."""


def check_options(options: Any, params: dict[str, Any], dataset: str, where: str = "") -> dict[str, Any]:
    """``params`` checked against the signature of ``options`` (the schema of ``data.params``),
    with its defaults filled in."""
    place = f"{where + ': ' if where else ''}dataset {dataset!r}: data.params"
    checked = schema.check_params(options, params, place)
    bound = inspect.signature(options).bind(**checked)
    bound.apply_defaults()
    return dict(bound.arguments)


class DataSource:
    """A dataset as the trainer sees it.

    ``stream(batch_size, seed, start)`` yields an endless, deterministic sequence of batches: the
    batch at position ``k`` depends only on (seed, k), so a resumed run asks for ``start=k`` and
    sees exactly what an uninterrupted run would have seen.

    Images are float tensors N×C×H×W in [-1, 1]; points are float tensors N×D.
    """

    kind: Literal["points", "images"] = "points"
    num_classes: int | None = None  # None = unlabelled
    sample_shape: tuple[int, ...] = ()
    # Facts the evaluation asks the dataset (class attributes, so validation reads them unbuilt):
    default_extractor: str | None = "inception"  # feature extractor when eval.extractor is unset
    stacked: bool = False  # channels are independent images: the default extractor sees each alone
    default_metrics: tuple[str, ...] = ("fid",)  # eval.metrics when the recipe names none
    metric_kinds: tuple[str, ...] | None = None  # the data kinds of the metrics it takes; None: (kind,)
    # What validation checks without opening the dataset: ``options``' signature is the schema of
    # ``data.params``; ``splits`` the valid ``data.split`` values (None: known only from the files).
    options: ClassVar[Any] = staticmethod(no_options)
    splits: ClassVar[tuple[str, ...] | None] = None
    dataset_name: ClassVar[str] = "dataset"

    @classmethod
    def check_params(cls, params: dict[str, Any], where: str = "") -> dict[str, Any]:
        """``data.params`` checked against :attr:`options`, defaults filled in (what the constructor
        uses); errors name ``where`` (the file), the dataset and the key."""
        return check_options(cls.options, params, cls.dataset_name, where)

    @classmethod
    def check_config(cls, cfg: DataConfig, where: str = "") -> dict[str, Any]:
        """The data section checked without opening the dataset: ``data.params`` and, when the
        class declares its splits, ``data.split``. Returns the checked params."""
        params = cls.check_params(cfg.params, where)
        if cls.splits is not None and cfg.split not in cls.splits:
            raise ConfigError(
                f"{where + ': ' if where else ''}data.split {cfg.split!r} for {cls.dataset_name!r}; "
                f"valid choices: {', '.join(cls.splits)}"
            )
        return params

    def stream(self, batch_size: int, seed: int, start: int = 0) -> Iterator[Batch]:
        raise NotImplementedError

    def describe(self) -> dict:
        """Provenance for the run record (name, split, size, files, ...)."""
        return {}
