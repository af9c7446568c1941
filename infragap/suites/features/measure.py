"""The in-process lookup micro-benchmark."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from infragap.reports.stats import latency_summary, rate


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
