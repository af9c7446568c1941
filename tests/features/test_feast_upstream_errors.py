"""`feast serve` 0.47's answers to bad requests beyond a 4xx, pinned (README, "Known limits").

infragap does not proxy Feast's feature server (a proxy would distort the measurement),
so these are upstream behaviours (an id of the wrong type, also a 500, is pinned in
test_features_integration.py): each case sends one bad request to the real server and
asserts today's status code. A failure means an upgrade changed the answer (upstream
fixed it): update README.md's "Known limits" and the expected code here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from infragap.proven.feast_repo import names

pytestmark = pytest.mark.integration

UPGRADE_HINT = (
    "feast serve's answer changed (an upgrade fixed it?): update README.md's Known limits "
    "and the expected code here"
)


def cases(ts: int) -> dict[str, tuple[bytes, int]]:
    """name: (body, the status code feast serve 0.47 answers today)."""

    def body(**fields: Any) -> bytes:
        return json.dumps(fields).encode()

    service = names.FEATURE_SERVICE
    return {
        "empty entity list": (
            body(feature_service=service, entities={"user_id": [], "request_ts": []}),
            500,
        ),
        "NaN id (not JSON)": (
            body(feature_service=service, entities={"user_id": [float("nan")], "request_ts": [ts]}),
            500,
        ),
        "Infinity id (not JSON)": (
            body(feature_service=service, entities={"user_id": [float("inf")], "request_ts": [ts]}),
            500,
        ),
        "id beyond int64": (
            body(feature_service=service, entities={"user_id": [2**64], "request_ts": [ts]}),
            500,
        ),
        "no feature_service nor features": (
            body(entities={"user_id": [1], "request_ts": [ts]}),
            500,
        ),
        # A client error, as it should be (pinned beside the rest, which are not).
        "no entities": (body(feature_service=service), 422),
    }


@pytest.mark.parametrize(
    "name",
    [
        "empty entity list",
        "NaN id (not JSON)",
        "Infinity id (not JSON)",
        "id beyond int64",
        "no feature_service nor features",
        "no entities",
    ],
)
def test_feast_serve_answers_this_bad_request_as_pinned(features_run, name):
    url = features_run.endpoints["feast"].url
    body, expected = cases(features_run.request_ts)[name]
    response = requests.post(
        f"{url}/get-online-features",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == expected, (UPGRADE_HINT, name, response.text[:300])
    assert requests.get(f"{url}/health", timeout=10).ok, "feast serve stopped after a bad request"
