"""A running system under test, as every load-driven suite hands it to the level driver."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import psutil

from infragap.processes import Child


@dataclass
class Endpoint:
    """One variant, started: where it answers and what it costs.

    `target` names its load target (infragap.loadtests.target), `target_option` what the
    target needs to know of it (Triton's model name, Feast's feature service).
    `processes` lists the process tree whose CPU and memory are the variant's cost
    (empty for a server infragap did not start); `metrics_url` is its Prometheus
    endpoint, when it has one.
    """

    name: str
    target: str
    url: str
    processes: Callable[[], list[psutil.Process]] = field(default=list)
    target_option: str = ""
    metrics_url: str | None = None


def process_tree(child: Child) -> Callable[[], list[psutil.Process]]:
    return child.process_tree
