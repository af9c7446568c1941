"""Run a per-file function over many files, in worker processes when -j asks for it."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
# Starting a worker costs tens of milliseconds: a few files are read sooner here.
ITEMS_PER_WORKER = 8
# Allocations between two runs of the garbage collector's youngest generation (Python's
# default is 700). Each file's analysis builds and drops a whole syntax tree, freed
# without the collector (no reference cycles): with the default, the collector
# traversed live trees thousands of times a scan, for nothing to free.
ALLOCATIONS_PER_COLLECTION = 50_000


def default_jobs() -> int:
    return os.cpu_count() or 1


def run_all(func: Callable[[T], R], items: Sequence[T], jobs: int) -> list[R]:
    """`[func(item) for item in items]`, in order; `func` must be a module-level function.

    With jobs == 1, or fewer than ITEMS_PER_WORKER items for each of two workers,
    everything runs in this process, which keeps tracebacks simple and small runs fast.
    """
    workers = min(jobs, len(items) // ITEMS_PER_WORKER)
    if workers <= 1:
        with fewer_collections():
            return [func(item) for item in items]
    from concurrent.futures import ProcessPoolExecutor  # only a parallel run pays for it

    # Small chunks: a worker given the last big chunk would leave the other one idle.
    chunk = max(1, len(items) // (workers * 32))
    with ProcessPoolExecutor(max_workers=workers, initializer=_collect_less) as pool:
        return list(pool.map(func, items, chunksize=chunk))


@contextmanager
def fewer_collections() -> Iterator[None]:
    before = gc.get_threshold()
    _collect_less()
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _collect_less() -> None:
    gc.set_threshold(ALLOCATIONS_PER_COLLECTION, *gc.get_threshold()[1:])
