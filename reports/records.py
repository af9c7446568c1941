"""The records that cross rooms, typed: suites write them, the results file holds them as
plain JSON, the report reads them back through the same types.

TypedDicts, so that a record is its JSON shape (schema_version 1, unchanged) and mypy
checks every key on both sides. A suite adds its own fields to a level by subclassing
`LevelRecord` in its own files (see `ServingLevel`, `FeaturesLevel`). Fields added
after the first files were written are `NotRequired`, so older files still read.
"""

from __future__ import annotations

from typing import Any, TypedDict

from typing_extensions import NotRequired


class LatencySummary(TypedDict):
    """Exact nearest-rank percentiles, max and mean in ms; all None when nothing completed."""

    p50: float | None
    p90: float | None
    p95: float | None
    p99: float | None
    p99_9: float | None
    max: float | None
    mean: float | None


class ServerUsage(TypedDict):
    """The server's process tree over the whole level, warm-up included."""

    cpu_s: float
    wall_s: float
    peak_rss_bytes: int
    cores: NotRequired[list[int]]  # the CPUs its processes were allowed to run on


class LoadgenUsage(TypedDict):
    """The load generator's own CPU, in percent of one core, inside the window."""

    cpu_percent_mean: float
    cpu_percent_peak: float
    cores: NotRequired[list[int]]  # the CPUs its processes were allowed to run on


class ArrivalRecord(TypedDict):
    """An open-loop level's schedule: seeded sends at `offered_rps` over `connections`."""

    kind: str  # "constant" | "poisson"
    offered_rps: float
    connections: int


class SendsRecord(TypedDict):
    """How the generator kept to its schedule inside the window."""

    count: int
    late: int  # sent over 10 ms late with a connection free: the generator fell behind
    backlogged: int  # waited for a busy connection: the server held them back
    max_delay_ms: float
    generator_behind: bool  # more than 1% of sends late


class SteadyRecord(TypedDict):
    """The level's windows and whether the last three agreed (perf_analyzer's rule)."""

    window_s: float
    percentile: float
    tolerance: float
    windows: list[list[float | None]]  # [req/s, percentile ms] per window run
    settled: bool
    judged_on: NotRequired[str]  # "percentile", or "median" for windows too small for it


class LevelRecord(TypedDict):
    """One (variant, load level) of a load-driven suite. `users` is the closed loop's
    user count, or the open loop's connections (then `arrival` is set)."""

    users: int
    window_s: float
    requests: int
    failures: int
    failure_messages: dict[str, int]
    throughput_rps: float
    throughput_per_s: list[int]
    latency_ms: LatencySummary
    latencies_ms: list[float]  # every successful request in the window, exact
    server: ServerUsage
    loadgen: LoadgenUsage
    arrival: NotRequired[ArrivalRecord]
    sends: NotRequired[SendsRecord]
    steady: NotRequired[SteadyRecord]


class VariantCheck(TypedDict):
    """How one variant's answers compared with the in-process reference."""

    passed: bool
    requests_checked: NotRequired[int]
    max_abs_diff: NotRequired[float]
    mismatches: NotRequired[list[str]]
    values_differ: NotRequired[int]
    examples: NotRequired[list[Any]]


class Equivalence(TypedDict):
    """Checked before any load: a variant that computes something else gets no figure."""

    passed: bool
    reference: str
    variants: dict[str, VariantCheck]
    tolerance_abs: NotRequired[float]
    entities: NotRequired[int]


class GitState(TypedDict):
    commit: str | None
    dirty: bool | None


class WriterRecord(TypedDict):
    """The infragap process writing the file, so a reader can tell one that died."""

    pid: int
    process_started: float  # its start time (psutil create_time): a reused pid differs
    hostname: str


class RunMetadata(TypedDict):
    """Provenance of a run (see infragap.environment.run_metadata)."""

    id: str
    started_at: str
    finished_at: str | None
    command: list[str]
    git: GitState
    versions: dict[str, str | None]
    host: dict[str, Any]
    seed: int
    config: dict[str, Any]
    writer: NotRequired[WriterRecord]
