"""Turning one load level's raw measurements into its results record, and the
in-process ceiling the servers are compared with."""

from __future__ import annotations

import statistics
import time
from typing import Any

from infragap.reports.stats import latency_summary, rate

LOADGEN_BUSY_PERCENT = 90.0
CEILING_SAMPLES = 5


def level_record(
    load: Any, server: dict[str, Any], triton: dict[str, Any] | None, rows_per_request: int
) -> dict[str, Any]:
    """Pure: the JSON record of one (variant, users) level from a LevelLoad."""
    requests = len(load.latencies_ms)
    return {
        "users": load.users,
        "window_s": load.window_s,
        "requests": requests,
        "failures": load.failures,
        "failure_messages": load.failure_messages,
        "throughput_rps": rate(requests, load.window_s),
        "rows_per_s": rate(requests * rows_per_request, load.window_s),
        "throughput_per_s": load.throughput_per_s,
        "latency_ms": latency_summary(load.latencies_ms),
        "latencies_ms": [round(x, 3) for x in load.latencies_ms],
        "server": server,
        "loadgen": {
            "cpu_percent_mean": load.loadgen_cpu_percent,
            "cpu_percent_peak": load.loadgen_cpu_peak,
        },
        "triton": triton,
    }


def level_warnings(variant: str, level: dict[str, Any]) -> list[str]:
    """Pure: what makes a level's numbers less trustworthy."""
    where = f"{variant} at {level['users']} users"
    warnings = []
    if level["failures"]:
        warnings.append(f"{where}: {level['failures']} failed requests")
    if level["requests"] == 0:
        warnings.append(f"{where}: no request completed inside the measured window")
    if (level["loadgen"]["cpu_percent_peak"] or 0) >= LOADGEN_BUSY_PERCENT:
        warnings.append(
            f"{where}: the load generator reached {level['loadgen']['cpu_percent_peak']:.0f}% "
            "CPU, so it may have limited the load"
        )
    return warnings


def in_process_ceiling(
    model: Any, batch_rows: int, dense_dim: int, seconds: float, device: str = "cpu"
) -> dict:
    """Rows per second of the bare model at `batch_rows`: what a server can approach."""
    import torch

    batch_rows = max(1, batch_rows)
    model = model.to(device)
    generator = torch.Generator().manual_seed(0)
    users = torch.zeros((batch_rows, 1), dtype=torch.int64, device=device)
    items = torch.zeros((batch_rows, 1), dtype=torch.int64, device=device)
    dense = torch.randn((batch_rows, dense_dim), generator=generator).to(device)
    samples = []
    calls_total = 0
    elapsed_total = 0.0
    with torch.inference_mode():
        for _ in range(3):
            model(users, items, dense)
        # Several short samples, median reported: one long sample is at the mercy of
        # whatever else the machine does for that stretch.
        for _ in range(CEILING_SAMPLES):
            calls = 0
            start = time.perf_counter()
            while time.perf_counter() - start < seconds / CEILING_SAMPLES:
                # .cpu() waits for the device, as a server must before it answers.
                model(users, items, dense).cpu()
                calls += 1
            elapsed = time.perf_counter() - start
            samples.append(calls * batch_rows / elapsed)
            calls_total += calls
            elapsed_total += elapsed
    return {
        "batch_rows": batch_rows,
        "rows_per_s": statistics.median(samples),
        "samples_rows_per_s": samples,
        "forward_ms": elapsed_total / calls_total * 1000,
        "torch_threads": torch.get_num_threads(),
        "device": device,
    }
