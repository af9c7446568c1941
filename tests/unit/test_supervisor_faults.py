"""Supervisor under faults: a second signal during clean-up, and a harness killed outright."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from infragap.processes import Supervisor, children_left_running, signals_held

# A harness that starts a child, a grandchild in its own session (it leaves the child's
# process group, as some servers' workers do) and prints their pids.
HARNESS = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from infragap import processes
    from infragap.processes import Supervisor

    if sys.argv[2] == "untold":  # as if killed between the spawn and telling the watchdog
        tell = processes._Watchdog.tell
        processes._Watchdog.tell = lambda self, m: None if m[0] == "+" else tell(self, m)
    supervisor = Supervisor(Path(sys.argv[1]))
    script = (
        "import subprocess, sys, time; "
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'], "
        "start_new_session=True); print(p.pid, flush=True); time.sleep(300)"
    )
    child = supervisor.start("server", [sys.executable, "-c", script])
    log = Path(sys.argv[1]) / "server.log"
    while not log.read_text().strip():
        time.sleep(0.05)
    print(json.dumps([child.pid, int(log.read_text())]), flush=True)
    time.sleep(300)
    """
)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait_gone(pids: list[int], timeout_s: float) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.1)
    return [pid for pid in pids if _alive(pid)]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("watchdog", ["told", "untold"])
def test_children_and_grandchildren_die_with_a_killed_harness(
    tmp_path: Path, watchdog: str
) -> None:
    harness = subprocess.Popen(
        [sys.executable, "-c", HARNESS, str(tmp_path / "logs"), watchdog],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert harness.stdout is not None
    pids = json.loads(harness.stdout.readline())
    watchdogs = [p.pid for p in psutil.Process(harness.pid).children() if p.pid not in pids]
    assert all(_alive(pid) for pid in pids) and watchdogs
    harness.kill()  # SIGKILL: nothing in the harness runs
    harness.wait()
    assert _wait_gone(pids + watchdogs, 20) == []


def test_stop_all_ends_the_watchdog_too(
    tmp_path: Path, live_descendants: Callable[[], set[int]]
) -> None:
    before = live_descendants()
    with Supervisor(tmp_path / "logs") as supervisor:
        child = supervisor.start("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
        assert len(live_descendants() - before) == 2  # the child and its watchdog
    assert live_descendants() - before == set()
    # other tests' session fixtures may hold servers of their own: only ours must be gone
    assert child not in children_left_running()


def test_a_signal_during_clean_up_waits_until_it_is_done() -> None:
    got: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: got.append(signum))
    try:
        with signals_held():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)  # a Python handler runs between bytecodes: it had its chance
            assert got == []
        assert got == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_second_signal_does_not_cut_stop_all_short(tmp_path: Path) -> None:
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    supervisor = Supervisor(tmp_path / "logs")
    slow_exit = "lambda *_: (time.sleep(1.5), sys.exit(0))"
    argv = [
        sys.executable,
        "-c",
        f"import signal, sys, time; signal.signal(15, {slow_exit}); time.sleep(60)",
    ]
    children = [supervisor.start(f"slow-{i}", argv) for i in range(2)]
    time.sleep(1)  # both have installed their handler
    # Each takes 1.5 s to leave, so stop_all is inside its wait when the signal comes.
    try:
        with pytest.raises(KeyboardInterrupt):
            timer = _signal_after(0.5)
            try:
                supervisor.stop_all()
            finally:
                timer.join()
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert [child.pid for child in children if child.alive()] == []
    assert supervisor.children == []


def _signal_after(delay_s: float) -> threading.Thread:
    def send() -> None:
        time.sleep(delay_s)
        os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=send)
    thread.start()
    return thread
