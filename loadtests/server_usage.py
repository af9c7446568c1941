"""CPU seconds and peak memory of a server's process tree while a load level runs."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable

import psutil

from infragap.reports.records import ServerUsage

SAMPLE_INTERVAL_S = 0.25


def allowed_cores(processes: Iterable[psutil.Process]) -> list[int]:
    """The CPUs the processes may run on (their affinity), together; [] where unknown."""
    cores: set[int] = set()
    for proc in processes:
        with contextlib.suppress(psutil.Error, AttributeError):
            cores.update(proc.cpu_affinity() or [])
    return sorted(cores)


class UsageMonitor:
    """Samples a process tree in a background thread between start() and stop().

    CPU time is per process, so a process that exits mid-level takes its seconds with
    it; the last sample seen for each pid is kept so those seconds still count.
    """

    def __init__(self, tree: Callable[[], list[psutil.Process]]) -> None:
        self._tree = tree
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self.peak_rss_bytes = 0
        self.cores: set[int] = set()
        self._started = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self) -> None:
        rss = 0
        tree = self._tree()
        self.cores.update(allowed_cores(tree))
        for proc in tree:
            with contextlib.suppress(psutil.Error):
                with proc.oneshot():
                    times = proc.cpu_times()
                    cpu = times.user + times.system
                    rss += proc.memory_info().rss
                self._first.setdefault(proc.pid, cpu)
                self._last[proc.pid] = cpu
        self.peak_rss_bytes = max(self.peak_rss_bytes, rss)

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL_S):
            self._sample()

    def start(self) -> None:
        self._started = time.monotonic()
        self._sample()
        self._thread.start()

    def stop(self) -> ServerUsage:
        self._stop.set()
        self._thread.join()
        self._sample()
        cpu_s = sum(self._last[pid] - self._first[pid] for pid in self._last)
        return ServerUsage(
            cpu_s=round(cpu_s, 3),
            wall_s=round(time.monotonic() - self._started, 3),
            peak_rss_bytes=self.peak_rss_bytes,
            cores=sorted(self.cores),
        )
