"""The one plugin pattern: a named registry filled by a decorator.

Suites, variants and codemod rules all register this way, so the CLI and the report
stay generic and a new plugin needs no edit outside its own file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from infragap.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> plugin. `kind` names the plugin family in error messages."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def add(item: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = item
            return item

        return add

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise ConfigError(f"unknown {self.kind} {name!r}: choose one of {known}") from None

    def names(self) -> list[str]:
        return list(self._items)

    def __iter__(self) -> Iterator[tuple[str, T]]:
        return iter(self._items.items())

    def __contains__(self, name: object) -> bool:
        return name in self._items


def import_plugins(package: str) -> None:
    """Import every module under `package`, so each plugin registers itself.

    Adding a plugin is then adding a file: no list of imports to keep in step. Plugin
    modules import their heavy dependencies lazily, inside functions.
    """
    root = importlib.import_module(package)
    for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        importlib.import_module(info.name)
