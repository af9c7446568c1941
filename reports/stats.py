"""Pure statistics over raw measurements: exact percentiles, rates, summaries."""

from __future__ import annotations

import math
from collections.abc import Sequence

from infragap.reports.records import LatencySummary

PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)


def percentile_key(p: float) -> str:
    """50 -> 'p50', 99.9 -> 'p99_9' (JSON-friendly keys)."""
    text = f"{p:g}".replace(".", "_")
    return f"p{text}"


def nearest_rank(sorted_values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile: a value some request really had, no interpolation."""
    if not sorted_values:
        raise ValueError("no values")
    if not 0 < p <= 100:
        raise ValueError(f"percentile {p} outside (0, 100]")
    rank = math.ceil(p / 100 * len(sorted_values))
    return float(sorted_values[max(rank, 1) - 1])


def latency_summary(latencies_ms: Sequence[float]) -> LatencySummary:
    """p50..p99.9, max and mean of the given latencies; all None when there are none."""
    if not latencies_ms:
        return LatencySummary(
            p50=None, p90=None, p95=None, p99=None, p99_9=None, max=None, mean=None
        )
    ordered = sorted(latencies_ms)
    return LatencySummary(
        p50=nearest_rank(ordered, 50.0),
        p90=nearest_rank(ordered, 90.0),
        p95=nearest_rank(ordered, 95.0),
        p99=nearest_rank(ordered, 99.0),
        p99_9=nearest_rank(ordered, 99.9),
        max=float(ordered[-1]),
        mean=math.fsum(ordered) / len(ordered),
    )


def rate(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator
