"""What a load target is, and the registry targets add themselves to.

A load target is one wire format a load-driven suite drives: the URL path, the request
bodies (serialised from the suite's seeded request file) and what makes an HTTP 200
answer right. It is pure and Locust-free, so the harness validates target names with it
and the Locust process builds its one user class from it (locustfile.py). A new target
is a new module in `infragap.loadtests.targets` (or an extension module, see
`infragap.registry.import_extensions`) that registers itself::

    TARGETS.register("my-wire")(LoadTarget(description, path, bodies, answer_problem))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from infragap.registry import Registry, import_plugins

# identity: Locust would ask for gzip, and Triton would then compress every answer, a cost
# the Flask side never pays and that Triton's own clients do not ask for.
JSON_HEADERS: Mapping[str, str] = MappingProxyType(
    {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "Accept-Encoding": "identity",
    }
)


class Body(NamedTuple):
    """A request ready to send: its payload (JSON text, or bytes for a binary protocol), how
    many units (rows, entities) it asks for, and its HTTP headers."""

    payload: str | bytes
    units: int
    headers: Mapping[str, str] = JSON_HEADERS


@dataclass(frozen=True)
class LoadTarget:
    description: str
    path: Callable[[str], str]
    """URL path of the request, given the endpoint's option (a model or service name)."""
    bodies: Callable[[Path, str], list[Body]]
    """Every request of the suite's seeded request file, serialised, given the option."""
    answer_problem: Callable[[Any, int], str | None]
    """Why a decoded HTTP 200 JSON answer for `units` units is wrong, or None when right."""


TARGETS: Registry[LoadTarget] = Registry("load target")


def load_targets() -> Registry[LoadTarget]:
    """Every load target, registered (importing each module of infragap.loadtests.targets)."""
    import_plugins("infragap.loadtests.targets")
    return TARGETS
