"""The features pair's request stream and its two wire formats (pure; no Locust here).

A request asks for the model's features of a few users as of one moment. The same
seeded stream goes to the naive endpoint (`POST /features`) and to Feast's feature
server (`POST /get-online-features`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infragap.errors import LoadError

FEATURE_REQUESTS_VERSION = 1
NAIVE_TARGET = "naive-features"
FEAST_TARGET = "feast-features"
FEATURE_TARGETS = (NAIVE_TARGET, FEAST_TARGET)
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
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload), encoding="utf-8")


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


def answer_problem(target: str, body: Any, users: int) -> str | None:
    """Why a 200 answer is not a complete answer for `users` users, or None when it is."""
    if target == NAIVE_TARGET:
        rows = body.get("rows") if isinstance(body, dict) else None
        if not isinstance(rows, list) or len(rows) != users:
            return f"HTTP 200 without {users} feature rows in the body"
        return None
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list) or not results:
        return "HTTP 200 without results in the body"
    if any(len(r.get("values") or []) != users for r in results):
        return f"HTTP 200 with a feature that has no value for each of {users} users"
    return None
