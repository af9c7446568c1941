"""The one Locust user, run only inside the Locust subprocess that
`infragap.loadtests.runner.run_level` starts (Locust's gevent patching stays there).

INFRAGAP_LOAD_TARGET names the load target (infragap.loadtests.target); the other
INFRAGAP_LOAD_* variables carry the rest (handoff.LocustSettings). Every request's exact
latency goes to our own log (Locust rounds the times it keeps); the log is flushed a few
times a second so the runner can watch a level settle, and the run ends early when the
runner writes the stop file.

- Closed loop: N users with no think time; user k sends requests k, k + N, k + 2N, ...
  of the seeded stream, so every variant receives the same requests.
- Open loop: N users are N connections sharing one seeded schedule of send times; send i
  carries request i. A user idle at a send's time sends it then; when every connection
  is busy the send waits (backlogged) and its latency still counts from its intended
  time, as wrk2 and MLPerf's LoadGen measure.
- Across processes or machines (Locust's master and W workers): worker k of W takes
  users k, k + W, ... of the closed loop, or sends k, k + W, ... of the one seeded
  schedule, so together they send the same requests as one process would; it sends its
  latency lines to the master in Locust messages, and the master writes the log.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import time
from typing import Any

import gevent
from locust import FastHttpUser, constant, events, task
from locust.runners import MasterRunner, WorkerRunner

from infragap.loadtests.arrivals import Arrivals
from infragap.loadtests.handoff import LocustSettings
from infragap.loadtests.latency_log import SPAWNED as SPAWNED_MARKER
from infragap.loadtests.latency_log import STOPPING, USER_ERROR, format_marker, format_request
from infragap.loadtests.target import TARGETS, Body

LOG_BUFFER_BYTES = 1 << 20
LOG_MESSAGE = "infragap_latency_lines"
UNSENT = "not sent before the level ended: every connection was busy (the server fell behind)"
FLUSH_EVERY_S = 0.25
# The schedule starts this long after the first user, so the others are spawned by then.
SCHEDULE_LEAD_S = 0.2

SETTINGS = LocustSettings.from_env(os.environ)
TARGET = TARGETS.get(SETTINGS.target)
PATH = TARGET.path(SETTINGS.target_option)
STREAM = [
    # Body(*...): a plugin's target may still return plain (payload, units) pairs; one
    # plain dict of headers per body, as Locust's client takes them, built once.
    (body.payload, body.units, dict(body.headers))
    for body in (Body(*b) for b in TARGET.bodies(SETTINGS.requests_file, SETTINGS.target_option))
]

_user_numbers = itertools.count()
_runner: Any = None  # Locust's runner: local, master or worker, known at init


class Schedule:
    """The open loop's shared send times: (index, intended epoch s) in order; a worker
    keeps every `share`-th send from `first` on."""

    def __init__(self, arrivals: Arrivals) -> None:
        self._offsets = arrivals.offsets()
        self._index = itertools.count()
        self._start: float | None = None

    def next_send(self, first: int = 0, share: int = 1) -> tuple[int, float]:
        if self._start is None:
            self._start = time.time() + SCHEDULE_LEAD_S
        while True:
            index, offset = next(self._index), next(self._offsets)
            if index % share == first:
                return index, self._start + offset

    def due_unsent(self, now: float, first: int = 0, share: int = 1) -> list[float]:
        """Intended times of this process's sends that fell due before `now` but no
        connection ever took: the backlog of a server slower than the rate."""
        due: list[float] = []
        while self._start is not None:
            index, offset = next(self._index), next(self._offsets)
            if self._start + offset >= now:
                break
            if index % share == first:
                due.append(self._start + offset)
        return due


SCHEDULE = (
    Schedule(Arrivals(SETTINGS.arrival, SETTINGS.rate_per_s, SETTINGS.seed))  # type: ignore[arg-type]
    if SETTINGS.open_loop
    else None
)


class LatencyLines:
    """Where latency lines go: the log file (one process, or the master), or, on a worker,
    a buffer sent to the master as a Locust message at every flush."""

    def __init__(self) -> None:
        self._file: Any = None
        self._buffer = io.StringIO()

    def open(self) -> None:
        # Appends stay in memory between flushes so no disk write stalls the event loop.
        self._file = open(SETTINGS.latency_log, "w", encoding="utf-8", buffering=LOG_BUFFER_BYTES)  # noqa: SIM115

    def write(self, line: str) -> None:
        (self._file or self._buffer).write(line)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()
        elif isinstance(_runner, WorkerRunner) and self._buffer.tell():
            _runner.send_message(LOG_MESSAGE, {"lines": self._buffer.getvalue()})
            self._buffer = io.StringIO()

    def close(self) -> None:
        self.flush()
        if self._file is not None:
            self._file.close()


_log = LatencyLines()


def _watch() -> None:
    """Flush the log often; end the run when the runner asks (the level settled)."""
    stop = SETTINGS.stop_file
    while True:
        gevent.sleep(FLUSH_EVERY_S)
        _log.flush()
        if stop is not None and stop.exists() and not isinstance(_runner, WorkerRunner):
            _runner.quit()
            return


@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    global _runner
    _runner = environment.runner
    # gevent's loop clock stands still while this file is imported; --run-time is
    # scheduled on it, so a stale clock would end the run early by the import time.
    gevent.get_hub().loop.update_now()
    if not isinstance(_runner, WorkerRunner):
        _log.open()
    if isinstance(_runner, MasterRunner):
        _runner.register_message(LOG_MESSAGE, lambda msg, **_: _log.write(msg.data["lines"]))
    gevent.spawn(_watch)


def _coordinator() -> bool:
    """The process that writes the run's markers: the only one, or the master."""
    return not isinstance(_runner, WorkerRunner)


@events.spawning_complete.add_listener
def _record_spawned(**_: Any) -> None:
    if _coordinator():
        _log.write(format_marker(SPAWNED_MARKER, time.time()))


@events.test_stopping.add_listener
def _record_stopping(**_: Any) -> None:
    now = time.time()
    if _coordinator():
        _log.write(format_marker(STOPPING, now))
    # Sends still waiting for a connection never get an answer: failed, not forgotten,
    # or an overloaded level would report only the requests it managed to serve.
    for intended in SCHEDULE.due_unsent(now, *_share()) if SCHEDULE else []:
        waited_ms = (now - intended) * 1000.0
        _log.write(format_request(intended, waited_ms, False, UNSENT, waited_ms, True))


@events.user_error.add_listener
def _record_user_error(exception: BaseException, **_: Any) -> None:
    _log.write(format_marker(USER_ERROR, time.time(), f"{type(exception).__name__}: {exception}"))


@events.test_stop.add_listener
def _flush_log(**_: Any) -> None:
    _log.flush()  # a worker's last lines reach the master before it reports stopped


@events.quitting.add_listener
def _close_log(**_: Any) -> None:
    _log.close()


def _share() -> tuple[int, int]:
    """(this process's index, processes sharing the load)."""
    if isinstance(_runner, WorkerRunner):
        return max(_runner.worker_index, 0), SETTINGS.workers
    return 0, 1


def transport_problem(response: Any) -> str | None:
    """Why the response is not an HTTP 200 at all, or None."""
    if response.status_code == 0:
        error = response.error
        return f"no response: {type(error).__name__}: {error}"
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    return None


def answer_problem(response: Any, units: int) -> str | None:
    """Why an HTTP 200 answer is wrong for the target, or None when it is right."""
    try:
        body = json.loads(response.content)
    except (ValueError, TypeError):
        return "HTTP 200 without JSON in the body"
    return TARGET.answer_problem(body, units)


class TargetUser(FastHttpUser):
    wait_time = constant(0)
    network_timeout = SETTINGS.request_timeout_s
    connection_timeout = SETTINGS.request_timeout_s

    def _next(self) -> tuple[int, float, bool]:
        """(request index, intended send time, whether it waited for this connection)."""
        if SCHEDULE is None:
            index = self._position
            self._position += SETTINGS.users
            return index, time.time(), False
        index, intended = SCHEDULE.next_send(*_share())
        wait = intended - time.time()
        if wait > 0:
            gevent.sleep(wait)
        return index, intended, wait < 0

    def on_start(self) -> None:
        first, share = _share()
        self._position = next(_user_numbers) * share + first
        self._url = self.client._build_url(PATH)

    @task
    def send(self) -> None:
        index, intended, backlogged = self._next()
        payload, units, headers = STREAM[index % len(STREAM)]
        delay_ms = (time.time() - intended) * 1000.0
        started = time.perf_counter()  # the response time itself at full resolution
        # Straight to Locust's HTTP client, past its request events and statistics: we log
        # every request ourselves (measured: about 10% more requests per generator core).
        reply = self.client._send_request_safe_mode(
            "POST", self._url, payload=payload, headers=headers
        )
        broken = None
        try:
            reply.content  # noqa: B018 - reads the whole body inside the timing
        except Exception as error:  # a connection lost mid-body is a failed request
            broken = f"no complete answer: {type(error).__name__}: {error}"
        response_ms = (time.perf_counter() - started) * 1000.0
        problem = broken or transport_problem(reply) or answer_problem(reply, units)
        # From the intended send time: waiting to be sent is part of the latency.
        latency_ms = response_ms + max(delay_ms, 0.0)
        _log.write(
            format_request(
                intended, latency_ms, problem is None, problem or "", delay_ms, backlogged
            )
        )
