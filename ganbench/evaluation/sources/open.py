"""Opening a source from a command-line argument: detect its kind, check its options, build it."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from ganbench.errors import ConfigError, SourceError
from ganbench.evaluation.sources.base import EvalSource, option_name
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
        if p.suffix.lower() == ".pkl":  # read by a restricted unpickler, nothing in it runs
            return "nvidia-pickle"
        if p.suffix.lower() == ".py":
            raise SourceError(f"{spec}: a Python file; name its factory as {spec}:factory")
        return "torchscript"
    if ":" in spec:
        return "callable"
    raise SourceError(
        f"source {spec!r}: no such file or folder, and not package.module:factory; expected an image folder, "
        f".npy/.npz array, TorchScript file, NVIDIA .pkl, module:factory, or ganbench run folder"
    )


def open_source(spec: str, kind: str | None = None, **options: Any) -> EvalSource:
    """Build the source ``spec`` (kind detected unless given); ``options`` are checked against the
    kind's parameters, and an option that does not apply to it is an error naming the valid ones."""
    load_all()  # the ``run`` kind registers from the training layer
    kind = kind or detect_kind(spec)
    factory = SOURCES.get(kind, option_name("kind"))
    options = {k: v for k, v in options.items() if v is not None}
    skip = _first_param(factory)
    check_options(factory, options, f"{kind} source {spec}", f"the {kind} source", skip)
    checked = check_params(factory, options, f"{kind} source {spec}", skip=skip)
    return factory(spec, **checked)


def check_options(
    factory: Any, options: dict[str, Any], where: str, what: str, skip: tuple[str, ...] = ()
) -> None:
    """Refuse options ``factory`` does not take, spelled as the caller spells them (flags on the
    command line, keyword arguments in Python), with the ones it does take."""
    accepted = [p for p in _params(factory) if p not in skip]
    unknown = [k for k in options if k not in accepted]
    if unknown:
        names = ", ".join(option_name(k) for k in unknown)
        valid = ", ".join(option_name(k) for k in accepted) or "none"
        verb = "does" if len(unknown) == 1 else "do"
        raise ConfigError(f"{where}: {names} {verb} not apply to {what}; its options: {valid}")


def _params(factory: Any) -> list[str]:
    target = factory.__init__ if inspect.isclass(factory) else factory
    return [p for p in inspect.signature(target).parameters if p != "self"]


def _first_param(factory: type) -> tuple[str, ...]:
    params = _params(factory)
    return (params[0],) if params else ()
