"""Process supervision: every child we start is stopped on success, failure and Ctrl-C.

Children start in their own session (process group), so stopping one also stops what
it spawned (tritonserver's backend stubs, Locust's greenlets' helpers). Descendants that
left the group are found through psutil and stopped too. While children are being
stopped, a further SIGINT or SIGTERM is held back until the clean-up is done, and a
watchdog process (infragap/watchdog.py) stops them if the harness itself is killed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

from infragap.errors import ServerStartError

STOP_GRACE_S = 10.0
# How the environment variable that marks one Supervisor's children (and theirs) begins.
MARK_PREFIX = "INFRAGAP_SUPERVISED_"


@dataclass
class Child:
    """One supervised process and the file its output goes to."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    descendants: set[int] = field(default_factory=set)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, limit: int = 4000) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return "(no log)"
        return data[-limit:].decode("utf-8", "replace")

    def process_tree(self) -> list[psutil.Process]:
        """The process and all its live descendants (for CPU/RSS accounting)."""
        try:
            root = psutil.Process(self.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
        self.descendants.update(p.pid for p in tree[1:])
        return tree

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        self.process_tree()  # remember descendants before the root goes away
        if self.alive():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=grace_s)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=grace_s)
        _kill_pids(self.descendants, grace_s)


def _kill_pids(pids: set[int], grace_s: float) -> None:
    procs = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            proc.terminate()
            procs.append(proc)
    _, survivors = psutil.wait_procs(procs, timeout=grace_s)
    for proc in survivors:
        with contextlib.suppress(psutil.Error):
            proc.kill()


HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """A second Ctrl-C or SIGTERM must not cut the clean-up short and leave children
    running: inside this block both are noted, and delivered to the previous handlers
    once it ends (on the main thread; elsewhere signals never interrupt anyway)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []

    def note(signum: int, frame: object) -> None:
        noted.append(signum)

    previous = {signum: signal.signal(signum, note) for signum in HELD_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            # None: a handler installed outside Python, which cannot be put back; use SIG_DFL.
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        for held in dict.fromkeys(noted):
            signal.raise_signal(held)


_OPEN: weakref.WeakSet[Supervisor] = weakref.WeakSet()


def children_left_running() -> list[Child]:
    """Children of any Supervisor that are still alive (after clean-up: none)."""
    return [child for supervisor in list(_OPEN) for child in supervisor.children if child.alive()]


class _Watchdog:
    """This Supervisor's end of the pipe to its watchdog process (infragap/watchdog.py)."""

    def __init__(self, log_path: Path, mark: str) -> None:
        with open(log_path, "wb") as log:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "infragap.watchdog", str(os.getpid()), mark],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def tell(self, message: str) -> None:
        assert self.popen.stdin is not None
        with contextlib.suppress(OSError):  # a dead watchdog must not stop the run
            self.popen.stdin.write(f"{message}\n".encode())
            self.popen.stdin.flush()

    def close(self) -> None:
        self.tell("bye")
        with contextlib.suppress(OSError):
            assert self.popen.stdin is not None
            self.popen.stdin.close()
        try:
            self.popen.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


class Supervisor:
    """Starts children and stops all of them when the `with` block ends, however it ends.

    The first child also starts a watchdog process that stops the children if this
    process dies without stopping them (SIGKILL); it leaves with the last `stop_all`.
    Each child's environment carries this Supervisor's mark, so the watchdog also finds
    a child this process was killed too early to tell it about.
    """

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: list[Child] = []
        self._watchdog: _Watchdog | None = None
        self.mark = f"{MARK_PREFIX}{secrets.token_hex(8)}"
        _OPEN.add(self)

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Child:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self._watchdog is None:
            self._watchdog = _Watchdog(self.log_dir / "watchdog.log", self.mark)
        log_path = self.log_dir / f"{name}.log"
        # A Ctrl-C between the spawn and the registration would leave a child nobody
        # stops (seen: a Locust worker outliving an interrupted run): it waits until the
        # child is on the list and the watchdog knows it. A SIGKILL cannot wait: for that
        # window the watchdog finds the child by the mark in its environment.
        with signals_held(), open(log_path, "wb") as log:
            popen = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**(os.environ if env is None else env), self.mark: "1"},
                cwd=cwd,
                start_new_session=True,
            )
            child = Child(name=name, popen=popen, log_path=log_path)
            self.children.append(child)
            self._watchdog.tell(f"+{child.pid}")
        return child

    def stop(self, child: Child) -> None:
        with signals_held():
            child.stop()
            if child in self.children:
                self.children.remove(child)
            if self._watchdog is not None:
                self._watchdog.tell(f"-{child.pid}")

    def stop_all(self) -> None:
        """Stop every child, newest first, then the watchdog. Safe to call again."""
        with signals_held():
            while self.children:
                self.stop(self.children[-1])
            if self._watchdog is not None:
                self._watchdog.close()
                self._watchdog = None

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()


def wait_until(
    ready: Callable[[], bool], child: Child, timeout_s: float, what: str, poll_s: float = 0.2
) -> None:
    """Poll `ready` until true; fail with the child's log if it dies or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not child.alive():
            raise ServerStartError(
                f"{what} exited with code {child.popen.returncode} before it was ready; "
                f"its log ({child.log_path}) ends with:\n{child.log_tail()}"
            )
        if ready():
            return
        time.sleep(poll_s)
    raise ServerStartError(
        f"{what} was not ready after {timeout_s:.0f} s: raise the start timeout or read its "
        f"log ({child.log_path}), which ends with:\n{child.log_tail()}"
    )


def http_ok(url: str, timeout_s: float = 2.0) -> Callable[[], bool]:
    """A readiness probe: GET `url` answers 200."""

    def probe() -> bool:
        try:
            return requests.get(url, timeout=timeout_s).status_code == 200
        except requests.RequestException:
            return False

    return probe
