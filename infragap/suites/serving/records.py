"""The serving suite's records, as the suite writes them and the report reads them."""

from __future__ import annotations

from typing import Any, TypedDict

from infragap.reports.records import LevelRecord


class ServingLevel(LevelRecord):
    rows_per_s: float
    # The fields of infragap.proven.triton.metrics.TritonLevelStats, or None for a
    # variant without Triton's metrics. Files written before 0.1 named two of them
    # queue_us_per_request and compute_us_per_request.
    triton: dict[str, Any] | None


class Ceiling(TypedDict):
    """The same model in-process at Triton's mean batch size: what a server can approach."""

    batch_rows: int
    rows_per_s: float  # median of samples_rows_per_s
    samples_rows_per_s: list[float]
    forward_ms: float
    torch_threads: int
    device: str
    requests_per_s: float
    at_users: int | None


class TritonTrial(TypedDict):
    """One short closed-loop level of one Triton configuration (see tuning.py)."""

    options: dict[str, int]  # queue_delay_us, instances, torch_threads
    throughput_rps: float
    latency_ms: dict[str, Any]
    requests: int
    failures: int
    mean_batch_size: float | None
    server_cpu_s: float


class TritonTuning(TypedDict):
    """The search that chose Triton's configuration, and every trial it ran."""

    source: str
    space: dict[str, list[int]]
    start: dict[str, int]
    fixed: list[str]  # knobs given on the command line, not searched
    chosen: dict[str, int]
    users: int
    warmup_s: float
    duration_s: float
    trials: list[TritonTrial]


class Isolation(TypedDict):
    """Rounds of valid requests sent together with one bad one (see isolation.py)."""

    rounds: int
    bad_statuses: dict[str, int]  # HTTP status -> count; "0" for no answer
    good_requests: int
    good_failed: int  # valid requests that did not get a 200
    good_statuses: dict[str, int]
