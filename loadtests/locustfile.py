"""The one Locust user, run only inside the Locust subprocess that
`infragap.loadtests.runner.run_level` starts (Locust's gevent patching stays there).

INFRAGAP_LOAD_TARGET names the load target (infragap.loadtests.target); the other
INFRAGAP_LOAD_* variables carry the rest. Users are closed-loop with no think time.
User k sends requests k, k + N, k + 2N, ... of the seeded stream (N users), serialised
before Locust's clock starts, so every variant receives the same requests. Every
request's exact latency goes to our own log (Locust rounds the times it keeps).
"""

from __future__ import annotations

import itertools
import os
import time
from typing import Any

import gevent
from locust import FastHttpUser, constant, events, task

from infragap.loadtests.handoff import LocustSettings
from infragap.loadtests.latency_log import (
    SPAWNED,
    STOPPING,
    USER_ERROR,
    format_marker,
    format_request,
)
from infragap.loadtests.target import TARGETS

LOG_BUFFER_BYTES = 1 << 20
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}

SETTINGS = LocustSettings.from_env(os.environ)
TARGET = TARGETS.get(SETTINGS.target)
PATH = TARGET.path(SETTINGS.target_option)
STREAM = TARGET.bodies(SETTINGS.requests_file, SETTINGS.target_option)

# Appends stay in memory during the run so that no disk write stalls the event loop.
_log = open(SETTINGS.latency_log, "w", encoding="utf-8", buffering=LOG_BUFFER_BYTES)  # noqa: SIM115
_user_numbers = itertools.count()


@events.init.add_listener
def _refresh_loop_clock(**_: Any) -> None:
    # gevent's loop clock stands still while this file is imported; --run-time is
    # scheduled on it, so a stale clock would end the run early by the import time.
    gevent.get_hub().loop.update_now()


@events.request.add_listener
def _record_request(
    response_time: float,
    exception: BaseException | None = None,
    start_time: float | None = None,
    **_: Any,
) -> None:
    start = start_time if start_time is not None else time.time() - response_time / 1000.0
    error = "" if exception is None else str(exception) or type(exception).__name__
    _log.write(format_request(start, float(response_time), exception is None, error))


@events.spawning_complete.add_listener
def _record_spawned(**_: Any) -> None:
    _log.write(format_marker(SPAWNED, time.time()))


@events.test_stopping.add_listener
def _record_stopping(**_: Any) -> None:
    _log.write(format_marker(STOPPING, time.time()))


@events.user_error.add_listener
def _record_user_error(exception: BaseException, **_: Any) -> None:
    _log.write(format_marker(USER_ERROR, time.time(), f"{type(exception).__name__}: {exception}"))


@events.test_stop.add_listener
def _flush_log(**_: Any) -> None:
    _log.flush()


@events.quitting.add_listener
def _close_log(**_: Any) -> None:
    _log.close()


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
        body = response.json()
    except ValueError:
        return "HTTP 200 without JSON in the body"
    return TARGET.answer_problem(body, units)


class TargetUser(FastHttpUser):
    wait_time = constant(0)
    network_timeout = SETTINGS.request_timeout_s
    connection_timeout = SETTINGS.request_timeout_s

    def on_start(self) -> None:
        self._position = next(_user_numbers)

    @task
    def send(self) -> None:
        body, units = STREAM[self._position % len(STREAM)]
        self._position += SETTINGS.users
        with self.client.post(
            PATH, data=body, headers=JSON_HEADERS, catch_response=True
        ) as response:
            problem = transport_problem(response) or answer_problem(response, units)
            if problem:
                response.failure(problem)
            else:
                response.success()
