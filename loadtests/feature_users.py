"""Locust users for the features pair: the naive endpoint and Feast's feature server.

Imported by locustfile.py; each class is abstract unless INFRAGAP_LOAD_TARGET selects
it. User k sends requests k, k + N, ... of the seeded stream, as the ranking users do.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

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
from infragap.loadtests.stream_user import SETTINGS, StreamUser


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


class _FeatureUser(StreamUser):
    abstract = True
    target: ClassVar[str]

    def stream(self) -> list[tuple[str, int]]:
        return STREAM

    def path(self) -> str:
        return PATHS[self.target]

    def answer_problem(self, response: Any, users: int) -> str | None:
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
