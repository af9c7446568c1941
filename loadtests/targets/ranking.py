"""The serving pair's wire formats over one seeded request file: the naive Flask JSON API
(`flask`) and the KServe v2 HTTP inference protocol Triton serves, with its tensors as JSON
(`kserve`) or as binary data after a JSON header (`kserve-binary`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from infragap.atomic import write_atomically
from infragap.errors import LoadError
from infragap.loadtests.target import JSON_HEADERS, TARGETS, Body, LoadTarget
from infragap.workloads.ranking_requests import (
    RankingRequest,
    scores_from_flask,
    scores_from_kserve,
    to_flask_json,
    to_kserve_binary,
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


def kserve_path(model_name: str) -> str:
    return f"/v2/models/{model_name}/infer"


@dataclass(frozen=True)
class RankingWire:
    """How one request is sent over a wire format and its scores read back."""

    description: str
    path: Callable[[str], str]
    encode: Callable[[RankingRequest], Body]
    scores: Callable[[Any], list[float]]


def _json_body(to_json: Callable[[RankingRequest], dict[str, Any]]) -> Callable[..., Body]:
    return lambda r: Body(json.dumps(to_json(r)), r.rows)


def _binary_body(request: RankingRequest) -> Body:
    payload, header_length = to_kserve_binary(request)
    headers = {
        **JSON_HEADERS,
        "Content-Type": "application/octet-stream",
        "Inference-Header-Content-Length": str(header_length),
    }
    return Body(payload, request.rows, headers)


WIRES = {
    "flask": RankingWire(
        "the naive Flask JSON API: POST /predict, answer {'scores': [...]}",
        lambda _option: "/predict",
        _json_body(to_flask_json),
        scores_from_flask,
    ),
    "kserve": RankingWire(
        "the KServe v2 HTTP inference protocol, tensors as JSON",
        kserve_path,
        _json_body(to_kserve_json),
        scores_from_kserve,
    ),
    "kserve-binary": RankingWire(
        "the KServe v2 HTTP inference protocol, tensors as binary data (Triton's extension)",
        kserve_path,
        _binary_body,
        scores_from_kserve,
    ),
}
"""Every ranking wire format by load target name; the equivalence check asks through it too."""


def _bodies(wire: RankingWire) -> Callable[[Path, str], list[Body]]:
    def bodies(path: Path, _option: str) -> list[Body]:
        return [wire.encode(r) for r in read_requests_file(path)]

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


for _name, _wire in WIRES.items():
    TARGETS.register(_name)(
        LoadTarget(_wire.description, _wire.path, _bodies(_wire), _scores_problem(_wire.scores))
    )
