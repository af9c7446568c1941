"""The closed-loop Locust user every pair drives its endpoints with.

User k sends requests k, k + N, k + 2N, ... of a stream serialised before Locust's
clock starts (N users), so every variant receives the same requests. Subclasses say
where the requests go and what a correct answer looks like. Imported only inside the
Locust subprocess.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from typing import Any

from locust import FastHttpUser, constant, task

from infragap.loadtests.handoff import LocustSettings

SETTINGS = LocustSettings.from_env(os.environ)
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}

_user_numbers = itertools.count()


def transport_problem(response: Any) -> str | None:
    """Why the response is not an HTTP 200 at all, or None."""
    if response.status_code == 0:
        error = response.error
        return f"no response: {type(error).__name__}: {error}"
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    return None


class StreamUser(FastHttpUser):
    abstract = True
    wait_time = constant(0)
    network_timeout = SETTINGS.request_timeout_s
    connection_timeout = SETTINGS.request_timeout_s

    def stream(self) -> Sequence[tuple[str, int]]:
        """(JSON body, rows or entities in it) for every request of the seeded stream."""
        raise NotImplementedError

    def path(self) -> str:
        raise NotImplementedError

    def answer_problem(self, response: Any, count: int) -> str | None:
        """Why an HTTP 200 answer for `count` rows is wrong, or None when it is right."""
        raise NotImplementedError

    def on_start(self) -> None:
        self._position = next(_user_numbers)

    @task
    def send(self) -> None:
        stream = self.stream()
        body, count = stream[self._position % len(stream)]
        self._position += SETTINGS.users
        with self.client.post(
            self.path(), data=body, headers=JSON_HEADERS, catch_response=True
        ) as response:
            problem = transport_problem(response) or self.answer_problem(response, count)
            if problem:
                response.failure(problem)
            else:
                response.success()
