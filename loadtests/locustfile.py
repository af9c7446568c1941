"""Locust users for the serving pair, run only inside the Locust subprocess that
`infragap.loadtests.runner.run_level` starts (Locust's gevent patching stays there).

INFRAGAP_LOAD_TARGET selects the user class (the others are marked abstract; the
features pair's users live in feature_users.py and are imported here); the
other INFRAGAP_LOAD_* variables carry the rest. Users are closed-loop with no think
time. User k sends requests k, k + N, k + 2N, ... of the seeded list (N users), so every
variant receives the same stream.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import gevent
from locust import events

from infragap.loadtests.feature_users import FeastFeaturesUser, NaiveFeaturesUser  # noqa: F401
from infragap.loadtests.handoff import read_requests_file
from infragap.loadtests.latency_log import (
    SPAWNED,
    STOPPING,
    USER_ERROR,
    format_marker,
    format_request,
)
from infragap.loadtests.stream_user import SETTINGS, StreamUser
from infragap.workloads.ranking_requests import (
    RankingRequest,
    scores_from_flask,
    scores_from_kserve,
    to_flask_json,
    to_kserve_json,
)

LOG_BUFFER_BYTES = 1 << 20


@dataclass(frozen=True)
class Wire:
    """One HTTP wire format: where requests go, how they are encoded, how scores come back."""

    path: str
    encode: Callable[[RankingRequest], dict[str, Any]]
    decode: Callable[[dict[str, Any]], list[float]]


WIRES = {
    "flask": Wire("/predict", to_flask_json, scores_from_flask),
    "kserve": Wire(f"/v2/models/{SETTINGS.model_name}/infer", to_kserve_json, scores_from_kserve),
}

# Serialized here, before Locust starts its clock, so that the warm-up is spent on load.
STREAM = (
    [
        (json.dumps(WIRES[SETTINGS.target].encode(r)), r.rows)
        for r in read_requests_file(SETTINGS.requests_file)
    ]
    if SETTINGS.target in WIRES
    else []
)

# Appends stay in memory during the run so that no disk write stalls the event loop.
_log = open(SETTINGS.latency_log, "w", encoding="utf-8", buffering=LOG_BUFFER_BYTES)  # noqa: SIM115


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


class _RankingUser(StreamUser):
    abstract = True
    wire: ClassVar[Wire]

    def stream(self) -> list[tuple[str, int]]:
        return STREAM

    def path(self) -> str:
        return self.wire.path

    def answer_problem(self, response: Any, rows: int) -> str | None:
        try:
            scores = self.wire.decode(response.json())
        except (ValueError, KeyError, TypeError):
            return "HTTP 200 without scores in the body"
        if len(scores) != rows:
            return f"HTTP 200 with {len(scores)} scores for {rows} rows"
        return None


class FlaskRankingUser(_RankingUser):
    """The naive Flask JSON API: POST /predict, answer {"scores": [...]}."""

    abstract = SETTINGS.target != "flask"
    wire = WIRES["flask"]


class KServeRankingUser(_RankingUser):
    """The KServe v2 HTTP inference protocol, as Triton serves it."""

    abstract = SETTINGS.target != "kserve"
    wire = WIRES["kserve"]
