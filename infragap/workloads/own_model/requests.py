"""Requests for a model infragap did not make: seeded from its signature, or replayed from
a JSONL file of real request bodies (--requests), as perf_analyzer's --input-data does.

A request is {input name: nested list, batch first}. The request file the load targets
read (`write_requests_file`) carries the signature too, so each wire format can encode
binary tensors and the user's own JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infragap.atomic import write_atomically
from infragap.errors import ConfigError, LoadError
from infragap.workloads.own_model.signature import Signature, TensorSpec, signature_from_json

REQUESTS_FILE_VERSION = 1
INTEGER_RANGE = (0, 2)
"""Integer inputs are drawn from [0, 2) unless the spec gives a range: a valid index into
any embedding table and a valid mask, whatever the model."""
VALUES_PER_STREAM = 2_000_000
"""The seeded stream holds about this many numbers, so a large input gives fewer
requests and the request file stays tens of megabytes."""
MAX_STREAM = 4096
MIN_STREAM = 64

TensorRequest = dict[str, list[Any]]


@dataclass(frozen=True)
class TensorRequests:
    """What the load targets and the equivalence check read: the request stream, and how
    the user's endpoint is spoken to (template, response path), when there is one."""

    signature: Signature
    requests: list[TensorRequest]
    template: str | None = None
    response_path: str | None = None

    def rows(self, request: Mapping[str, Sequence[Any]]) -> int:
        return len(request[self.signature.inputs[0].name])


def stream_length(signature: Signature, rows: int) -> int:
    per_request = rows * sum(math.prod(int(d) for d in t.dims) for t in signature.inputs)
    return max(MIN_STREAM, min(MAX_STREAM, VALUES_PER_STREAM // max(1, per_request)))


def generate_requests(
    signature: Signature, seed: int, count: int, rows: int
) -> list[TensorRequest]:
    """`count` requests of `rows` rows each, drawn from a generator seeded with `seed`:
    floats standard normal (or uniform over the spec's range), integers uniform."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        request = {}
        for tensor in signature.inputs:
            shape = (rows, *(int(d) for d in tensor.dims))
            request[tensor.name] = _draw(rng, tensor, shape).tolist()
        out.append(request)
    return out


def _draw(rng: Any, tensor: TensorSpec, shape: tuple[int, ...]) -> Any:
    if tensor.dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    if tensor.is_integer:
        low, high = tensor.value_range or INTEGER_RANGE
        return rng.integers(int(low), int(high), shape).astype(tensor.dtype)
    if tensor.value_range is not None:
        return rng.uniform(*tensor.value_range, shape).astype(tensor.dtype)
    return rng.standard_normal(shape).astype(tensor.dtype)


def read_jsonl(path: Path, signature: Signature) -> list[TensorRequest]:
    """--requests: one JSON request body per line, {"inputs": {name: rows}} or {name: rows};
    every line checked against the signature, the first bad one named."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise ConfigError(f"cannot read --requests {path}: {err}") from None
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"--requests {path} line {number}"
        try:
            body = json.loads(line)
        except ValueError as err:
            raise ConfigError(f"{where} is not JSON: {err}") from None
        out.append(check_request(body, signature, where))
    if not out:
        raise ConfigError(f"--requests {path} holds no request: write one JSON body per line")
    return out


def check_request(body: Any, signature: Signature, where: str) -> TensorRequest:
    """The request's inputs once they fit the signature, else ConfigError saying how not."""
    import numpy as np

    inputs = body.get("inputs", body) if isinstance(body, Mapping) else None
    if not isinstance(inputs, Mapping):
        raise ConfigError(f'{where}: write {{"inputs": {{name: rows, ...}}}}, batch first')
    missing = [t.name for t in signature.inputs if t.name not in inputs]
    if missing:
        raise ConfigError(f"{where} lacks input(s) {', '.join(missing)}")
    request: TensorRequest = {}
    batch = None
    for tensor in signature.inputs:
        try:
            array = np.asarray(inputs[tensor.name], dtype=tensor.dtype)
        except (TypeError, ValueError) as err:
            raise ConfigError(
                f"{where}: input {tensor.name!r} is not {tensor.dtype}: {err}"
            ) from None
        expected = tuple(int(d) for d in tensor.dims)
        if array.ndim != len(expected) + 1 or array.shape[1:] != expected:
            raise ConfigError(
                f"{where}: input {tensor.name!r} has shape {list(array.shape)}, expected "
                f"[rows, {', '.join(map(str, expected))}]".replace(", ]", "]")
            )
        if batch is not None and array.shape[0] != batch:
            raise ConfigError(f"{where}: inputs differ in their number of rows")
        batch = array.shape[0]
        request[tensor.name] = array.tolist()
    if not batch:
        raise ConfigError(f"{where} has no rows")
    return request


def write_requests_file(path: Path, stream: TensorRequests) -> None:
    if not stream.requests:
        raise LoadError("the request list is empty: generate at least one request")
    payload = {
        "version": REQUESTS_FILE_VERSION,
        "signature": stream.signature.to_json(),
        "requests": stream.requests,
        "template": stream.template,
        "response_path": stream.response_path,
    }
    write_atomically(path, json.dumps(payload))


def read_requests_file(path: Path) -> TensorRequests:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LoadError(f"cannot read the request file {path}: {exc}") from exc
    if payload.get("version") != REQUESTS_FILE_VERSION or "signature" not in payload:
        raise LoadError(f"{path} is not a tensor request file: write it with write_requests_file")
    return TensorRequests(
        signature_from_json(payload["signature"], str(path)),
        payload["requests"],
        payload.get("template"),
        payload.get("response_path"),
    )
