"""The serving results as typed data: levels by variant and user count, and Triton's
advantage over each naive variant with bootstrap intervals. Pure: no HTML, no charts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from infragap.reports import format as fmt
from infragap.reports.bootstrap import RatioEstimate, ratio_of_means, ratio_of_percentiles
from infragap.reports.compare import Metric
from infragap.reports.records import LevelRecord
from infragap.suites.serving.records import ServingLevel

PROVEN = "triton"
JSON_PROVEN = "triton-json"  # the same server, tensors as JSON instead of binary
BASELINES = (
    "naive-reload",
    "naive-hoisted",
    "naive-batched",
    "your-endpoint",  # --naive-url: the team's own service
    "before-app",  # --before-after: the repository's app before the migration
    "after-app",  # ... and after it, calling Triton
)
ORDER = (*BASELINES, PROVEN, JSON_PROVEN)
DESCRIPTIONS = {
    "naive-reload": "the reload-per-request endpoint",
    "naive-hoisted": "the load-once Flask endpoint",
    "naive-batched": "the Flask endpoint with hand-written micro-batching",
    "triton": "Triton with dynamic batching",
    "triton-json": "Triton with its tensors as JSON",
    "your-endpoint": "your endpoint",
    "before-app": "the app before the migration",
    "after-app": "the migrated app calling Triton",
}
TAIL = 99.0
# Fewer per-second samples than this make a throughput interval more guess than measure.
MIN_SECONDS = 5


@dataclass(frozen=True)
class Level:
    """One level record of any load-driven suite, read leniently: a field an older or
    interrupted file lacks reads as empty."""

    variant: str
    users: int
    record: LevelRecord

    @property
    def latencies(self) -> list[float]:
        return list(self.record.get("latencies_ms") or [])

    @property
    def per_second(self) -> list[float]:
        return list(self.record.get("throughput_per_s") or [])

    def latency(self, key: str) -> float | None:
        summary = cast(Mapping[str, float | None], self.record.get("latency_ms") or {})
        return summary.get(key)

    @property
    def triton(self) -> dict[str, Any]:
        return cast(ServingLevel, self.record).get("triton") or {}

    @property
    def server(self) -> Mapping[str, Any]:
        return self.record.get("server") or {}

    @property
    def loadgen(self) -> Mapping[str, Any]:
        return self.record.get("loadgen") or {}


def variant_names(section: dict[str, Any]) -> list[str]:
    """Variants in ORDER, then any others."""
    names = list(section.get("variants") or {})
    return [n for n in ORDER if n in names] + [n for n in names if n not in ORDER]


def levels_of(section: dict[str, Any]) -> dict[str, dict[int, Level]]:
    """{variant: {users: Level}} from the section's level records."""
    table: dict[str, dict[int, Level]] = {}
    for name in variant_names(section):
        for record in (section["variants"][name] or {}).get("levels") or []:
            users = int(record["users"])
            table.setdefault(name, {})[users] = Level(name, users, record)
    return table


def describe(variant: str) -> str:
    return DESCRIPTIONS.get(variant, variant)


@dataclass(frozen=True)
class Advantage:
    """Triton against one baseline at one user level; both ratios read ">1 = Triton better"."""

    baseline: str
    users: int
    throughput: RatioEstimate  # triton / baseline, mean per-second throughput
    tail: RatioEstimate  # baseline p99 / triton p99
    baseline_p99: float | None
    proven_p99: float | None


def advantage(proven: Level, base: Level) -> Advantage:
    return Advantage(
        baseline=base.variant,
        users=proven.users,
        throughput=ratio_of_means(proven.per_second, base.per_second),
        tail=ratio_of_percentiles(base.latencies, proven.latencies, TAIL),
        baseline_p99=base.latency("p99"),
        proven_p99=proven.latency("p99"),
    )


def advantages(levels: dict[str, dict[int, Level]]) -> list[Advantage]:
    """Every (baseline, shared user level) pair, by baseline then users."""
    proven = levels.get(PROVEN, {})
    found = []
    for base in BASELINES:
        for users in sorted(set(proven) & set(levels.get(base, {}))):
            found.append(advantage(proven[users], levels[base][users]))
    return found


def headline(found: list[Advantage]) -> list[Advantage]:
    """Per baseline, the advantage at the highest user level both variants ran."""
    top: dict[str, Advantage] = {}
    for adv in found:
        if adv.baseline not in top or adv.users > top[adv.baseline].users:
            top[adv.baseline] = adv
    return list(top.values())


# Per-request phases inside Triton: (label, field in the level's "triton" record, older name).
TRITON_PHASES = (
    ("queue", "mean_queue_us", "queue_us_per_request"),
    ("input", "mean_compute_input_us", None),
    ("inference", "mean_compute_infer_us", "compute_us_per_request"),
    ("output", "mean_compute_output_us", None),
)


def triton_phases(record: dict[str, Any]) -> dict[str, float | None]:
    """Microseconds per request in each phase; None where the server did not report it."""
    found = {}
    for label, key, older in TRITON_PHASES:
        value = record.get(key)
        if value is None and older is not None:
            value = record.get(older)
        found[label] = value
    return found


def level_metrics(key: str, group: str, level: Level) -> list[Metric]:
    """A level's comparable figures: throughput (per-second samples), p50 and p99."""
    latencies = tuple(level.latencies)
    return [
        Metric(
            f"{key}/throughput", group, "throughput", "req/s", "higher", tuple(level.per_second)
        ),
        Metric(f"{key}/p50", group, "p50 latency", "ms", "lower", latencies, 50.0),
        Metric(f"{key}/p99", group, "p99 latency", "ms", "lower", latencies, 99.0),
    ]


def metrics(section: dict[str, Any]) -> list[Metric]:
    found = []
    for name, by_users in levels_of(section).items():
        for users in sorted(by_users):
            found += level_metrics(
                f"{name}/{users}", f"{name} at {fmt.users(users)}", by_users[users]
            )
    return found
