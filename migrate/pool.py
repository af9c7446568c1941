"""Run a per-file function over many files, in worker processes when -j asks for it."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
# Starting a worker costs tens of milliseconds: a few files are read sooner here.
ITEMS_PER_WORKER = 8


def default_jobs() -> int:
    return os.cpu_count() or 1


def run_all(func: Callable[[T], R], items: Sequence[T], jobs: int) -> list[R]:
    """`[func(item) for item in items]`, in order; `func` must be a module-level function.

    With jobs == 1, or fewer than ITEMS_PER_WORKER items for each of two workers,
    everything runs in this process, which keeps tracebacks simple and small runs fast.
    """
    workers = min(jobs, len(items) // ITEMS_PER_WORKER)
    if workers <= 1:
        return [func(item) for item in items]
    from concurrent.futures import ProcessPoolExecutor  # only a parallel run pays for it

    chunk = max(1, len(items) // (workers * 8))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(func, items, chunksize=chunk))
