"""Level records for the load sweep and the in-process lookup micro-benchmark."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from infragap.reports.stats import latency_summary, rate

LOADGEN_BUSY_PERCENT = 90.0


def level_record(load: Any, server: dict[str, Any], entities_per_request: int) -> dict[str, Any]:
    """Pure: the JSON record of one (variant, users) level from a LevelLoad."""
    requests = len(load.latencies_ms)
    return {
        "users": load.users,
        "window_s": load.window_s,
        "requests": requests,
        "failures": load.failures,
        "failure_messages": load.failure_messages,
        "throughput_rps": rate(requests, load.window_s),
        "entities_per_s": rate(requests * entities_per_request, load.window_s),
        "throughput_per_s": load.throughput_per_s,
        "latency_ms": latency_summary(load.latencies_ms),
        "latencies_ms": [round(x, 3) for x in load.latencies_ms],
        "server": server,
        "loadgen": {
            "cpu_percent_mean": load.loadgen_cpu_percent,
            "cpu_percent_peak": load.loadgen_cpu_peak,
        },
    }


def level_warnings(variant: str, level: dict[str, Any]) -> list[str]:
    """Pure: what makes a level's numbers less trustworthy."""
    where = f"{variant} at {level['users']} users"
    warnings = []
    if level["failures"]:
        warnings.append(f"{where}: {level['failures']} failed requests")
    if level["requests"] == 0:
        warnings.append(f"{where}: no request completed inside the measured window")
    peak = level["loadgen"]["cpu_percent_peak"] or 0
    if peak >= LOADGEN_BUSY_PERCENT:
        warnings.append(
            f"{where}: the load generator reached {peak:.0f}% CPU, so it may have limited the load"
        )
    return warnings


def time_calls(
    call: Callable[[Sequence[int]], object],
    stream: Sequence[Sequence[int]],
    seconds: float,
    min_calls: int = 5,
) -> dict[str, Any]:
    """Call `call` on the stream's requests in turn for `seconds` (at least `min_calls`)."""
    call(stream[0])  # warm-up: first-call imports and caches are not a lookup's cost
    latencies: list[float] = []
    started = time.perf_counter()
    i = 0
    while time.perf_counter() - started < seconds or len(latencies) < min_calls:
        ids = stream[i % len(stream)]
        begin = time.perf_counter()
        call(ids)
        latencies.append((time.perf_counter() - begin) * 1000)
        i += 1
    elapsed = time.perf_counter() - started
    return {
        "calls": len(latencies),
        "seconds": elapsed,
        "calls_per_s": rate(len(latencies), elapsed),
        "latency_ms": latency_summary(latencies),
        "latencies_ms": [round(x, 4) for x in latencies],
    }
