"""Opening a source from a command-line argument: detect its kind, check its options, build it."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from ganbench.errors import SourceError
from ganbench.evaluation.sources.base import EvalSource
from ganbench.registries import SOURCES, load_all
from ganbench.schema import check_params


def detect_kind(spec: str) -> str:
    """The source kind a SOURCE argument names (see ``ganbench eval --help``)."""
    p = Path(spec)
    if p.is_dir():
        return "run" if (p / "record.json").is_file() else "folder"
    if p.is_file():
        if p.suffix.lower() in (".npy", ".npz"):
            return "array"
        if p.suffix.lower() == ".py":
            raise SourceError(f"{spec}: a Python file; name its factory as {spec}:factory")
        return "torchscript"
    if ":" in spec:
        return "callable"
    raise SourceError(
        f"source {spec!r}: no such file or folder, and not package.module:factory; expected an image folder, "
        f".npy/.npz array, TorchScript file, module:factory, or ganbench run folder"
    )


def open_source(spec: str, kind: str | None = None, **options: Any) -> EvalSource:
    """Build the source ``spec`` (kind detected unless given); ``options`` are checked against the
    kind's parameters, and an option that does not apply to it is an error naming the valid ones."""
    load_all()  # the ``run`` kind registers from the training layer
    kind = kind or detect_kind(spec)
    factory = SOURCES.get(kind, "--kind")
    options = {k: v for k, v in options.items() if v is not None}
    checked = check_params(factory, options, f"{kind} source {spec}", skip=_first_param(factory))
    return factory(spec, **checked)


def _first_param(factory: type) -> tuple[str, ...]:
    params = [p for p in inspect.signature(factory.__init__).parameters if p != "self"]
    return (params[0],) if params else ()
