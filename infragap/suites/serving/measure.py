"""The in-process ceiling the servers are compared with."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

CEILING_SAMPLES = 5


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
    with torch.inference_mode():
        for _ in range(3):
            model(users, items, dense)
        # .cpu() waits for the device, as a server must before it answers.
        rate = sample_rate(lambda: model(users, items, dense).cpu(), batch_rows, seconds)
    return {
        "batch_rows": batch_rows,
        **rate,
        "torch_threads": torch.get_num_threads(),
        "device": device,
    }


def sample_rate(call: Callable[[], Any], rows: int, seconds: float) -> dict[str, Any]:
    """Rows per second of `call` (which handles `rows` rows), over `seconds`: the median of
    several short samples, since one long sample is at the mercy of whatever else the
    machine does for that stretch."""
    samples = []
    calls_total = 0
    elapsed_total = 0.0
    for _ in range(CEILING_SAMPLES):
        calls = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds / CEILING_SAMPLES:
            call()
            calls += 1
        elapsed = time.perf_counter() - start
        samples.append(calls * rows / elapsed)
        calls_total += calls
        elapsed_total += elapsed
    return {
        "rows_per_s": statistics.median(samples),
        "samples_rows_per_s": samples,
        "forward_ms": elapsed_total / calls_total * 1000,
        "seconds": elapsed_total,
    }
