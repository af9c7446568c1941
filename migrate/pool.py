"""Run a per-file function over many files, in worker processes when -j asks for it."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def default_jobs() -> int:
    return os.cpu_count() or 1


def run_all(func: Callable[[T], R], items: Sequence[T], jobs: int) -> list[R]:
    """`[func(item) for item in items]`, in order; `func` must be a module-level function.

    With jobs == 1 (or one item) everything runs in this process, which keeps tracebacks
    simple and tests fast.
    """
    if jobs <= 1 or len(items) <= 1:
        return [func(item) for item in items]
    from concurrent.futures import ProcessPoolExecutor  # only a parallel run pays for it

    workers = min(jobs, len(items))
    chunk = max(1, len(items) // (workers * 8))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(func, items, chunksize=chunk))
