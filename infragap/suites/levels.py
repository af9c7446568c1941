"""What every load-driven suite shares: the user sweep option and the per-level record.

A level is one (variant, user count) run of the load runner; suites add their own
fields (rows per second, Triton's batching, ...) to the record built here.
"""

from __future__ import annotations

from typing import Any

from infragap.errors import ConfigError
from infragap.reports.stats import latency_summary, rate

LOADGEN_BUSY_PERCENT = 90.0


def parse_users(text: str) -> list[int]:
    """`--users 1,8,32` -> [1, 8, 32], or ConfigError saying what is wrong."""
    try:
        users = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"--users {text!r}: give user counts like 1,8,32") from None
    if not users or any(u < 1 for u in users):
        raise ConfigError(f"--users {text!r}: give positive user counts like 1,8,32")
    return users


def level_record(load: Any, server: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Pure: the JSON record of one level from a LevelLoad, plus the suite's `extra` fields."""
    requests = len(load.latencies_ms)
    return {
        "users": load.users,
        "window_s": load.window_s,
        "requests": requests,
        "failures": load.failures,
        "failure_messages": load.failure_messages,
        "throughput_rps": rate(requests, load.window_s),
        "throughput_per_s": load.throughput_per_s,
        "latency_ms": latency_summary(load.latencies_ms),
        "latencies_ms": [round(x, 3) for x in load.latencies_ms],
        "server": server,
        "loadgen": {
            "cpu_percent_mean": load.loadgen_cpu_percent,
            "cpu_percent_peak": load.loadgen_cpu_peak,
        },
        **extra,
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
