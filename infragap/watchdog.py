"""The watchdog a Supervisor starts beside its children: they must not outlive the harness.

`Supervisor` stops its children on success, failure, Ctrl-C and SIGTERM, but nothing runs
in a process killed by SIGKILL (an OOM kill, a CI timeout). So each Supervisor starts
this small process, in its own session, and tells it over a pipe which children it
started ("+PID") and stopped ("-PID"). When the pipe ends without a goodbye, or the
process that started it is gone, it stops every child still listed as `Child.stop` does:
SIGTERM to the child's process group and to every descendant it has seen, then SIGKILL
after a grace period. Descendants are remembered every second, so a grandchild that left
the group (or whose parent died first) is still found. A child started just before the
SIGKILL, too late to be told, is found by the Supervisor's mark in its environment, which
its own children inherit too.

PR_SET_PDEATHSIG alone would not do: it fires when the *thread* that forked the child
ends, and it reaches only direct children, not tritonserver's backend stubs nor the
processes Locust or `feast serve` start.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys

import psutil

GOODBYE = b"bye"
POLL_S = 1.0
GRACE_S = 5.0


class Watched:
    """One child root and the descendants seen under it."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.seen: dict[int, psutil.Process] = {}
        self.refresh()

    def refresh(self) -> None:
        with contextlib.suppress(psutil.Error):
            for proc in self.root.children(recursive=True):
                self.seen.setdefault(proc.pid, proc)

    def stop(self) -> list[psutil.Process]:
        """SIGTERM to the group and every live descendant; the ones signalled."""
        self.refresh()
        signalled = []
        if self.root.is_running():
            with contextlib.suppress(OSError):
                os.killpg(self.root.pid, signal.SIGTERM)
            signalled.append(self.root)
        for proc in self.seen.values():
            with contextlib.suppress(psutil.Error):
                proc.terminate()  # psutil refuses a pid that was reused
                signalled.append(proc)
        return signalled


def marked(mark: str) -> list[psutil.Process]:
    """Live processes whose environment carries `mark`, other than this one."""
    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if proc.pid != os.getpid() and mark in proc.environ():
                found.append(proc)
    return found


def stop_all(watched: dict[int, Watched], mark: str, grace_s: float = GRACE_S) -> None:
    signalled = [proc for child in watched.values() for proc in child.stop()]
    for proc in marked(mark):
        with contextlib.suppress(psutil.Error):
            proc.terminate()
            signalled.append(proc)
    _, survivors = psutil.wait_procs(signalled, timeout=grace_s)
    for child in watched.values():
        if child.root.is_running():
            with contextlib.suppress(OSError):
                os.killpg(child.root.pid, signal.SIGKILL)
    for proc in survivors:
        with contextlib.suppress(psutil.Error):
            proc.kill()


def apply(line: bytes, watched: dict[int, Watched]) -> None:
    sign, pid = line[:1], int(line[1:])
    if sign == b"+":
        with contextlib.suppress(psutil.Error):
            watched[pid] = Watched(pid)
    elif sign == b"-":
        watched.pop(pid, None)


def watch(fd: int, parent_pid: int, mark: str) -> None:
    """Follow the Supervisor's messages on `fd` until it says goodbye or goes away."""
    watched: dict[int, Watched] = {}
    pending = b""
    while True:
        readable, _, _ = select.select([fd], [], [], POLL_S)
        if readable:
            data = os.read(fd, 4096)
            if not data:
                break  # the Supervisor's end closed without a goodbye: it died
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if line == GOODBYE:
                    return
                if line:
                    apply(line, watched)
        if os.getppid() != parent_pid:
            break  # re-parented: the process that started us is gone
        for child in watched.values():
            child.refresh()
    stop_all(watched, mark)


def main() -> None:
    # Its own session already keeps terminal signals away; a stray one must not kill it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch(sys.stdin.fileno(), int(sys.argv[1]), sys.argv[2])


if __name__ == "__main__":
    main()
