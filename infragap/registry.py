"""The one plugin pattern: a named registry filled by a decorator.

Suites, variants and codemod rules all register this way, so the CLI and the report
stay generic and a new plugin needs no edit outside its own file.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from infragap.errors import ConfigError

T = TypeVar("T")

PLUGINS_ENV = "INFRAGAP_PLUGINS"
ENTRY_POINT_GROUP = "infragap.plugins"


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
    import_extensions()


def extension_modules(environ: dict[str, str] | None = None) -> list[str]:
    """Modules outside infragap that add plugins: the `infragap.plugins` entry points of
    installed distributions, then INFRAGAP_PLUGINS (comma-separated module names)."""
    names = []
    if _may_declare_plugins():
        from importlib import metadata  # reads every distribution: only when it must

        names = [ep.value for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)]
    listed = (environ if environ is not None else os.environ).get(PLUGINS_ENV, "")
    names += [name.strip() for name in listed.split(",") if name.strip()]
    return names


def _may_declare_plugins(paths: list[str] | None = None) -> bool:
    """Whether an installed distribution may declare `infragap.plugins` entry points.

    importlib.metadata reads every distribution's metadata to answer (60 ms in an
    environment with Airflow and Feast, most of a `migrate scan` start-up); a search of
    the entry_points.txt files beside them answers the usual "none" in a few. A path
    entry it cannot read that way (a zip, an egg) leaves the answer to importlib.
    """
    marker = f"[{ENTRY_POINT_GROUP}]"
    for entry in sys.path if paths is None else paths:
        folder = entry or "."
        if os.path.isfile(folder):
            return True
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if name.endswith(".egg"):
                return True
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            try:
                with open(os.path.join(folder, name, "entry_points.txt"), encoding="utf-8") as f:
                    if marker in f.read():
                        return True
            except (OSError, UnicodeDecodeError):
                continue
    return False


def import_extensions() -> None:
    """Import every extension module once; one module may add a suite, a load target and a
    report section together (a whole pair). Child processes inherit INFRAGAP_PLUGINS, so
    the Locust process finds the same load targets as the harness."""
    for name in extension_modules():
        try:
            importlib.import_module(name)
        except ImportError as error:
            raise ConfigError(
                f"cannot import the plugin module {name!r} ({error}): fix {PLUGINS_ENV} or "
                "the `infragap.plugins` entry point, or install the module"
            ) from error
