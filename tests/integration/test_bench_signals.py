"""`infragap bench serving` on the tiny model, stopped the hard ways: SIGTERM twice in a
row, and SIGKILL. No process it started may survive either, checked by PID."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from infragap.reports.schema import WRITER_GONE, load

pytestmark = pytest.mark.integration

QUICK = ["--quick", "--model-size", "tiny", "--users", "1,4", "--duration", "5", "--warmup", "1"]


def start_bench(tmp_path: Path) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "infragap", "bench", "serving", *QUICK, "--no-report"]
    argv += ["--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _names(pids: set[int]) -> set[str]:
    names = set()
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            names.add(" ".join(psutil.Process(pid).cmdline()))
    return names


def wait_for_load(proc: subprocess.Popen[str], timeout_s: float = 300) -> set[int]:
    """Every process under the bench once Locust drives load (all three servers are up,
    Triton with its backend stub); the pids seen on the way."""
    seen: set[int] = set()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(psutil.NoSuchProcess):
            seen |= {p.pid for p in psutil.Process(proc.pid).children(recursive=True)}
        names = _names(seen)
        if any("locust" in n for n in names) and any("stub" in n for n in names):
            return seen
        time.sleep(0.2)
    stderr = proc.stderr.read() if proc.poll() is not None and proc.stderr else ""
    raise AssertionError(f"no load within {timeout_s} s: {stderr[-3000:]}")


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def survivors(pids: set[int], within_s: float) -> list[str]:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.2)
    return sorted(_names({pid for pid in pids if _alive(pid)}))


def results_file(tmp_path: Path) -> Path:
    (path,) = (tmp_path / "out").glob("results-*.json")
    return path


@pytest.mark.timeout(400)
def test_a_second_sigterm_does_not_cut_the_clean_up_short(tmp_path: Path) -> None:
    proc = start_bench(tmp_path)
    try:
        seen = wait_for_load(proc)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, stderr[-3000:]
    assert "interrupted (SIGTERM): every child process was stopped" in " ".join(stderr.split())
    assert survivors(seen, 2) == []
    serving = load(results_file(tmp_path))["suites"]["serving"]
    assert serving["status"] == "incomplete"
    assert serving["error"].startswith("interrupted (SIGTERM)")


@pytest.mark.timeout(400)
def test_sigkill_leaves_no_child_and_the_file_reads_interrupted(tmp_path: Path) -> None:
    proc = start_bench(tmp_path)
    try:
        seen = wait_for_load(proc)
        proc.kill()
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    # The watchdog stops the servers (SIGTERM, then SIGKILL after 5 s) and then itself.
    assert survivors(seen, 30) == []
    serving = load(results_file(tmp_path))["suites"]["serving"]
    assert serving["status"] == "incomplete" and serving["error"] == WRITER_GONE
