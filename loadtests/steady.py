"""Is a level in steady state? perf_analyzer's stability rule, on plain data (pure).

The measured part of a level is cut into equal windows. The level counts once its last
`SETTLE_WINDOWS` windows agree within ±`tolerance` of their mean on throughput and on
the watched latency percentile; the level then reports those windows. A level that has
not settled after `max_windows` is reported as measured (its last windows), marked
unstable, never dropped.

A percentile is only as steady as the requests behind it: with fewer than
`samples_for(p)` requests in a window its p99 is little more than its maximum, so
such windows are judged on their median instead (and the record says so).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from infragap.loadtests.latency_log import RequestRecord
from infragap.reports.stats import nearest_rank

SETTLE_WINDOWS = 3
TOLERANCE = 0.10


@dataclass(frozen=True)
class SteadyRule:
    """How a level is judged settled: windows of `window_s`, at most `max_windows`."""

    window_s: float
    max_windows: int
    percentile: float = 99.0
    tolerance: float = TOLERANCE


@dataclass(frozen=True)
class WindowStat:
    """One window: successful requests that started in it, per second, the watched
    percentile and the median of their latencies, and how many there were."""

    rps: float
    latency_ms: float | None
    median_ms: float | None = None
    count: int = 0


def samples_for(percentile: float) -> int:
    """Requests a window needs before its `percentile` is judged (10 beyond it)."""
    return math.ceil(round(1000 / (100 - percentile), 6)) if percentile < 100 else 10**9


def window_stats(
    records: Sequence[RequestRecord], start_s: float, window_s: float, count: int, percentile: float
) -> list[WindowStat]:
    """Stats of the `count` windows from `start_s`, by each request's (intended) start."""
    buckets: list[list[float]] = [[] for _ in range(count)]
    for record in records:
        if not record.ok:
            continue
        index = math.floor((record.start_s - start_s) / window_s)
        if 0 <= index < count:
            buckets[index].append(record.response_ms)
    stats = []
    for latencies in buckets:
        ordered = sorted(latencies)
        stats.append(
            WindowStat(
                len(ordered) / window_s,
                nearest_rank(ordered, percentile) if ordered else None,
                nearest_rank(ordered, 50.0) if ordered else None,
                len(ordered),
            )
        )
    return stats


def judged_on(stats: Sequence[WindowStat], percentile: float) -> str:
    """ "percentile" when every window holds enough requests for it, else "median"."""
    enough = all(s.count >= samples_for(percentile) for s in stats)
    return "percentile" if enough else "median"


def _agree(values: Sequence[float | None], tolerance: float) -> bool:
    if any(v is None for v in values):
        return False
    numbers = [float(v) for v in values if v is not None]
    mean = sum(numbers) / len(numbers)
    if mean == 0:
        return False
    return all(abs(v - mean) <= tolerance * mean for v in numbers)


def settled(
    stats: Sequence[WindowStat], tolerance: float = TOLERANCE, percentile: float = 99.0
) -> bool:
    """Whether the last SETTLE_WINDOWS windows agree on throughput and latency."""
    last = stats[-SETTLE_WINDOWS:]
    if len(last) < SETTLE_WINDOWS:
        return False
    if judged_on(last, percentile) == "percentile":
        latency = [s.latency_ms for s in last]
    else:
        latency = [s.median_ms for s in last]
    return _agree([s.rps for s in last], tolerance) and _agree(latency, tolerance)


def settle_point(
    stats: Sequence[WindowStat], tolerance: float = TOLERANCE, percentile: float = 99.0
) -> int | None:
    """The fewest windows after which the level had settled, or None if it never did."""
    for end in range(SETTLE_WINDOWS, len(stats) + 1):
        if settled(stats[:end], tolerance, percentile):
            return end
    return None
