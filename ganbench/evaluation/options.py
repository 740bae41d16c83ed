"""How an option is spelled in messages: one message serves the Python API and the CLI.

The Python API names keyword arguments (``value_range='0,1'``); ``ganbench eval`` installs a namer
that gives its flags (``--range=0,1``) for the duration of the call (a context variable, so
concurrent evaluations in threads keep their own spelling).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

OptionNamer = Callable[[str, Any], str]


def keyword_name(name: str, value: Any = None) -> str:
    """The Python API's spelling of an option: ``value_range`` / ``value_range='0,1'``."""
    return name if value is None else f"{name}={value!r}"


_NAMER: ContextVar[OptionNamer] = ContextVar("ganbench_option_namer", default=keyword_name)


def option_name(name: str, value: Any = None) -> str:
    """``name`` (set to ``value``) as the caller spells it: a keyword argument, or a flag on the CLI."""
    return _NAMER.get()(name, value)


@contextmanager
def option_names(namer: OptionNamer | None) -> Iterator[None]:
    """Spell options with ``namer`` in every message raised inside (None: keep the current one)."""
    if namer is None:
        yield
        return
    token = _NAMER.set(namer)
    try:
        yield
    finally:
        _NAMER.reset(token)
