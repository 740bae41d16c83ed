"""The one registry pattern: names map to factories, unknown names list the valid choices."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from ganbench.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named table of factories (classes or functions) for one kind of component."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: ``@LOSSES.register("hinge")``."""

        def add(factory: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = factory
            return factory

        return add

    def unregister(self, name: str) -> T:
        """Remove ``name`` (a component registered for a while: a test, a plugin being reloaded)."""
        return self._entries.pop(name)

    def get(self, name: str, where: str = "") -> T:
        """The factory for ``name``; ``where`` (e.g. ``recipe.yaml: objective.loss``) goes in the error."""
        try:
            return self._entries[name]
        except KeyError:
            place = f"{where}: " if where else ""
            raise ConfigError(
                f"{place}unknown {self.kind} {name!r}; valid choices: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
