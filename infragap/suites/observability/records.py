"""The observability suite's results, typed: what steps.py writes and the report reads."""

from __future__ import annotations

from typing import Any, TypedDict

from infragap.reports.records import LevelRecord


class AnswerRecord(TypedDict):
    """One answer (workloads.operator_questions.Answer) with the exact figure and its
    error; breakdowns (by status, by variant) give the largest error over their keys."""

    question: str
    value: float | dict[str, float] | None
    note: str
    source: str
    bytes_read: int
    seconds: float | None
    exact: float | dict[str, float] | None
    abs_error: float | None
    rel_error: float | None


class LevelAnswers(TypedDict):
    source: str  # "promql" or "log"
    window_s: float
    window_end_s: float
    items: list[AnswerRecord]


class ObservabilityLevel(LevelRecord, total=False):
    answers: LevelAnswers
    triton: dict[str, Any] | None  # Triton's counter deltas, for the triton variant


class ObservationCost(TypedDict):
    ns_per_observation: float
    min_ns: float
    repeats: int
    observations: int
    description: str
    floor_subtracted: bool


class LayoutAnswer(TypedDict):
    q: float
    exact_ms: float | None
    histogram_ms: float | None
    abs_error_ms: float | None
    rel_error: float | None
    bucket_width_ms: float | None
    above_last_bound: bool


class LayoutFidelity(TypedDict):
    bounds: list[float]
    buckets: int
    answers: dict[str, LayoutAnswer]  # "p50", "p99"


class Fidelity(TypedDict):
    samples: int
    quantiles: list[str]
    layouts: dict[str, LayoutFidelity]  # "otel", "prometheus-client" (defaults), "slo"
    source: str
    slo_ms: float


class JobAlert(TypedDict):
    fired: bool
    first_firing_s_after_start: float | None


class Alerting(TypedDict):
    slo_ms: float
    window: str
    # also "for": the alert's hold, a keyword TypedDict's class syntax cannot name
    slowed: dict[str, Any]  # delay_ms, share, users, p99_ms, requests
    jobs: dict[str, JobAlert]
    naive: str
