"""The features pair's request stream and its two wire formats (pure; no Locust here).

A request asks for the model's features of a few users as of one moment. The same
seeded stream goes to the naive endpoint (`naive-features`: `POST /features`) and to
Feast's feature server (`feast-features`: `POST /get-online-features`, asking for a
feature service, the endpoint's option).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infragap.atomic import write_atomically
from infragap.errors import LoadError
from infragap.loadtests.target import TARGETS, Body, LoadTarget

FEATURE_REQUESTS_VERSION = 1
NAIVE_TARGET = "naive-features"
FEAST_TARGET = "feast-features"
PATHS = {NAIVE_TARGET: "/features", FEAST_TARGET: "/get-online-features"}


def write_feature_requests(requests: list[list[int]], request_ts: int, path: Path) -> None:
    """Save user-id lists (one per request) and the moment they are asked about."""
    if not requests or not all(requests):
        raise LoadError("the feature request list is empty: give at least one user id each")
    payload = {
        "version": FEATURE_REQUESTS_VERSION,
        "request_ts": int(request_ts),
        "requests": [[int(i) for i in ids] for ids in requests],
    }
    write_atomically(path, json.dumps(payload))  # never a partial file, even on a full disk


def read_feature_requests(path: Path) -> tuple[list[list[int]], int]:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LoadError(
            f"cannot read the feature request file {path}: {exc}; "
            "write it with write_feature_requests"
        ) from exc
    if payload.get("version") != FEATURE_REQUESTS_VERSION or not payload.get("requests"):
        raise LoadError(
            f"{path} is not a version-{FEATURE_REQUESTS_VERSION} feature request file: "
            "write it again with write_feature_requests"
        )
    return payload["requests"], int(payload["request_ts"])


def naive_body(user_ids: list[int]) -> dict[str, Any]:
    return {"user_id": user_ids}


def feast_body(user_ids: list[int], request_ts: int, feature_service: str) -> dict[str, Any]:
    return {
        "feature_service": feature_service,
        "entities": {"user_id": user_ids, "request_ts": [request_ts] * len(user_ids)},
    }


def naive_problem(body: Any, users: int) -> str | None:
    """Why a 200 answer of the naive endpoint is not complete for `users` users, or None."""
    rows = body.get("rows") if isinstance(body, dict) else None
    if not isinstance(rows, list) or len(rows) != users:
        return f"HTTP 200 without {users} feature rows in the body"
    return None


def feast_problem(body: Any, users: int) -> str | None:
    """Why a 200 answer of Feast's feature server is not complete for `users` users, or None."""
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list) or not results:
        return "HTTP 200 without results in the body"
    if any(len(r.get("values") or []) != users for r in results):
        return f"HTTP 200 with a feature that has no value for each of {users} users"
    return None


def naive_bodies(path: Path, _option: str) -> list[Body]:
    requests, _ = read_feature_requests(path)
    return [Body(json.dumps(naive_body(ids)), len(ids)) for ids in requests]


def feast_bodies(path: Path, feature_service: str) -> list[Body]:
    requests, request_ts = read_feature_requests(path)
    return [
        Body(json.dumps(feast_body(ids, request_ts, feature_service)), len(ids)) for ids in requests
    ]


TARGETS.register(NAIVE_TARGET)(
    LoadTarget(
        description="the naive Flask feature endpoint: POST /features",
        path=lambda _option: PATHS[NAIVE_TARGET],
        bodies=naive_bodies,
        answer_problem=naive_problem,
    )
)

TARGETS.register(FEAST_TARGET)(
    LoadTarget(
        description="Feast's HTTP feature server: POST /get-online-features, a feature service",
        path=lambda _option: PATHS[FEAST_TARGET],
        bodies=feast_bodies,
        answer_problem=feast_problem,
    )
)
