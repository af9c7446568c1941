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
