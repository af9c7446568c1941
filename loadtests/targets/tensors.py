"""Wire formats for a model infragap did not make, over one tensor request file
(infragap.workloads.own_model.requests): the naive app's JSON (`tensor-flask`), Triton's
KServe v2 with binary tensors (`tensor-kserve-binary`), and the team's own JSON endpoint
(`tensor-template`: a request template and a response path from the request file).

Each wire's `scores` gives a request's answer as a flat list of numbers (the first
output), which the equivalence check compares with the reference and the load check
counts."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infragap.loadtests.target import JSON_HEADERS, TARGETS, Body, LoadTarget
from infragap.workloads.own_model.requests import (
    TensorRequest,
    TensorRequests,
    read_requests_file,
)
from infragap.workloads.own_model.template import (
    ResponsePathError,
    extract,
    fill,
    numbers,
    parse_path,
)

NAIVE_PATH = "/predict"


@dataclass(frozen=True)
class TensorWire:
    description: str
    path: Callable[[str], str]
    encode: Callable[[TensorRequests, TensorRequest], Body]
    scores: Callable[[TensorRequests, Any], list[float]]


def _flask_body(stream: TensorRequests, request: TensorRequest) -> Body:
    return Body(json.dumps({"inputs": request}), stream.rows(request))


def _flask_scores(_stream: TensorRequests, body: Any) -> list[float]:
    return numbers(next(iter(body["outputs"].values())))


def kserve_binary(stream: TensorRequests, request: TensorRequest) -> Body:
    """KServe v2 with raw little-endian tensors after the JSON header (Triton's binary
    extension, what tritonclient and perf_analyzer send); outputs come back as JSON."""
    import numpy as np

    arrays = [np.asarray(request[t.name], dtype=t.dtype) for t in stream.signature.inputs]
    header = {
        "inputs": [
            {
                "name": t.name,
                "shape": list(a.shape),
                "datatype": t.triton_type,
                "parameters": {"binary_data_size": a.nbytes},
            }
            for t, a in zip(stream.signature.inputs, arrays, strict=True)
        ]
    }
    head = json.dumps(header, separators=(",", ":")).encode()
    data = b"".join(a.astype(a.dtype.newbyteorder("<")).tobytes() for a in arrays)
    headers = {
        **JSON_HEADERS,
        "Content-Type": "application/octet-stream",
        "Inference-Header-Content-Length": str(len(head)),
    }
    return Body(head + data, stream.rows(request), headers)


def _kserve_scores(_stream: TensorRequests, body: Any) -> list[float]:
    return numbers(body["outputs"][0]["data"])


def _template_body(stream: TensorRequests, request: TensorRequest) -> Body:
    template = json.loads(stream.template or "null")
    return Body(json.dumps(fill(template, request)), stream.rows(request))


def _template_scores(stream: TensorRequests, body: Any) -> list[float]:
    return numbers(extract(body, parse_path(stream.response_path or "")))


WIRES = {
    "tensor-flask": TensorWire(
        "any model behind the naive Flask app: POST /predict {'inputs': {...}}",
        lambda _option: NAIVE_PATH,
        _flask_body,
        _flask_scores,
    ),
    "tensor-kserve-binary": TensorWire(
        "any model on Triton: KServe v2 HTTP, tensors as binary data",
        lambda model: f"/v2/models/{model}/infer",
        kserve_binary,
        _kserve_scores,
    ),
    "tensor-template": TensorWire(
        "a team's own endpoint: the request template's JSON to the URL's path",
        lambda path: path or "/",
        _template_body,
        _template_scores,
    ),
}


def _target(wire: TensorWire) -> LoadTarget:
    """The wire as a load target. Its answer check needs what the request file says (the
    template wire's response path): the Locust process reads that file once, in
    `bodies`, and keeps it here for the checks of this target alone."""
    read: list[TensorRequests] = []

    def bodies(path: Path, _option: str) -> list[Body]:
        stream = read_requests_file(path)
        read[:] = [stream]
        return [wire.encode(stream, r) for r in stream.requests]

    def answer_problem(body: Any, _units: int) -> str | None:
        if not read:
            return None
        try:
            found = wire.scores(read[0], body)
        except (KeyError, TypeError, IndexError, StopIteration, ResponsePathError):
            return "HTTP 200 without the answer where it was expected"
        return None if found else "HTTP 200 with no numbers in the answer"

    return LoadTarget(wire.description, wire.path, bodies, answer_problem)


for _name, _wire in WIRES.items():
    TARGETS.register(_name)(_target(_wire))
