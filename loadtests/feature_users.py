"""Locust users for the features pair: the naive endpoint and Feast's feature server.

Imported by locustfile.py; each class is abstract unless INFRAGAP_LOAD_TARGET selects
it. User k sends requests k, k + N, ... of the seeded stream, as the ranking users do.
"""

from __future__ import annotations

import itertools
import json
import os
from typing import Any, ClassVar

from locust import FastHttpUser, constant, task

from infragap.loadtests.feature_requests import (
    FEAST_TARGET,
    FEATURE_TARGETS,
    NAIVE_TARGET,
    PATHS,
    answer_problem,
    feast_body,
    naive_body,
    read_feature_requests,
)
from infragap.loadtests.handoff import LocustSettings

SETTINGS = LocustSettings.from_env(os.environ)
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


def _stream(target: str) -> list[tuple[str, int]]:
    """Bodies serialised before Locust's clock starts, with their user counts."""
    if target not in FEATURE_TARGETS:
        return []
    requests, request_ts = read_feature_requests(SETTINGS.requests_file)
    if target == NAIVE_TARGET:
        return [(json.dumps(naive_body(ids)), len(ids)) for ids in requests]
    return [
        (json.dumps(feast_body(ids, request_ts, SETTINGS.model_name)), len(ids)) for ids in requests
    ]


STREAM = _stream(SETTINGS.target)
_user_numbers = itertools.count()


class _FeatureUser(FastHttpUser):
    abstract = True
    wait_time = constant(0)
    network_timeout = SETTINGS.request_timeout_s
    connection_timeout = SETTINGS.request_timeout_s

    target: ClassVar[str]

    def on_start(self) -> None:
        self._position = next(_user_numbers)

    @task
    def lookup(self) -> None:
        body, users = STREAM[self._position % len(STREAM)]
        self._position += SETTINGS.users
        with self.client.post(
            PATHS[self.target], data=body, headers=JSON_HEADERS, catch_response=True
        ) as response:
            problem = self._problem(response, users)
            if problem:
                response.failure(problem)
            else:
                response.success()

    def _problem(self, response: Any, users: int) -> str | None:
        if response.status_code == 0:
            error = response.error
            return f"no response: {type(error).__name__}: {error}"
        if response.status_code != 200:
            return f"HTTP {response.status_code}"
        try:
            body = response.json()
        except ValueError:
            return "HTTP 200 without JSON in the body"
        return answer_problem(self.target, body, users)


class NaiveFeaturesUser(_FeatureUser):
    """The naive Flask endpoint: POST /features."""

    abstract = SETTINGS.target != NAIVE_TARGET
    target = NAIVE_TARGET


class FeastFeaturesUser(_FeatureUser):
    """Feast's HTTP feature server: POST /get-online-features with the feature service."""

    abstract = SETTINGS.target != FEAST_TARGET
    target = FEAST_TARGET
