"""The serving pair's wire formats over one seeded request file: the naive Flask JSON API
(`flask`) and the KServe v2 HTTP inference protocol Triton serves (`kserve`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from infragap.atomic import write_atomically
from infragap.errors import LoadError
from infragap.loadtests.target import TARGETS, Body, LoadTarget
from infragap.workloads.ranking_requests import (
    RankingRequest,
    scores_from_flask,
    scores_from_kserve,
    to_flask_json,
    to_kserve_json,
)

REQUESTS_FILE_VERSION = 1


def write_requests_file(requests: list[RankingRequest], path: Path) -> None:
    """Save the seeded request stream for the Locust process (plain fields, not a wire format)."""
    if not requests:
        raise LoadError("the request list is empty: generate at least one request")
    payload = {"version": REQUESTS_FILE_VERSION, "requests": [asdict(r) for r in requests]}
    write_atomically(path, json.dumps(payload))  # never a partial file, even on a full disk


def read_requests_file(path: Path) -> list[RankingRequest]:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LoadError(
            f"cannot read the request file {path}: {exc}; write it with write_requests_file"
        ) from exc
    if payload.get("version") != REQUESTS_FILE_VERSION or not payload.get("requests"):
        raise LoadError(
            f"{path} is not a version-{REQUESTS_FILE_VERSION} request file with requests in it: "
            "write it again with write_requests_file"
        )
    return [RankingRequest(**fields) for fields in payload["requests"]]


def _bodies(
    encode: Callable[[RankingRequest], dict[str, Any]],
) -> Callable[[Path, str], list[Body]]:
    def bodies(path: Path, _option: str) -> list[Body]:
        return [(json.dumps(encode(r)), r.rows) for r in read_requests_file(path)]

    return bodies


def _scores_problem(decode: Callable[[Any], list[float]]) -> Callable[[Any, int], str | None]:
    def answer_problem(body: Any, rows: int) -> str | None:
        try:
            scores = decode(body)
        except (KeyError, TypeError, ValueError):
            return "HTTP 200 without scores in the body"
        if len(scores) != rows:
            return f"HTTP 200 with {len(scores)} scores for {rows} rows"
        return None

    return answer_problem


def kserve_path(model_name: str) -> str:
    return f"/v2/models/{model_name}/infer"


TARGETS.register("flask")(
    LoadTarget(
        description="the naive Flask JSON API: POST /predict, answer {'scores': [...]}",
        path=lambda _option: "/predict",
        bodies=_bodies(to_flask_json),
        answer_problem=_scores_problem(scores_from_flask),
    )
)

TARGETS.register("kserve")(
    LoadTarget(
        description="the KServe v2 HTTP inference protocol, as Triton serves it",
        path=kserve_path,
        bodies=_bodies(to_kserve_json),
        answer_problem=_scores_problem(scores_from_kserve),
    )
)
