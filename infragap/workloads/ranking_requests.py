"""The seeded request stream every serving variant receives, and its wire formats.

A request is a few (user, item, dense features) rows to score. The same seed gives the
same stream, so every variant answers exactly the same questions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from infragap.workloads.model_sizes import OUTPUT_NAME, ModelSize


@dataclass(frozen=True)
class RankingRequest:
    user_id: list[int]
    item_id: list[int]
    dense: list[list[float]]

    @property
    def rows(self) -> int:
        return len(self.user_id)


def generate_requests(size: ModelSize, seed: int, count: int, rows: int) -> list[RankingRequest]:
    """`count` requests of `rows` rows each; ids follow a skewed popularity like real traffic."""
    rng = np.random.default_rng(seed)
    requests = []
    for _ in range(count):
        users = rng.zipf(1.3, rows) % size.n_users
        items = rng.zipf(1.2, rows) % size.n_items
        dense = rng.standard_normal((rows, size.dense_dim)).astype(np.float32)
        requests.append(
            RankingRequest(
                user_id=[int(u) for u in users],
                item_id=[int(i) for i in items],
                dense=[[float(x) for x in row] for row in dense],
            )
        )
    return requests


def to_flask_json(request: RankingRequest) -> dict[str, Any]:
    return {"user_id": request.user_id, "item_id": request.item_id, "dense": request.dense}


def to_kserve_json(request: RankingRequest) -> dict[str, Any]:
    """The KServe v2 / Triton HTTP inference body for one request."""
    n = request.rows
    dense_dim = len(request.dense[0]) if n else 0
    return {
        "inputs": [
            {"name": "user_id", "shape": [n, 1], "datatype": "INT64", "data": request.user_id},
            {"name": "item_id", "shape": [n, 1], "datatype": "INT64", "data": request.item_id},
            {
                "name": "dense",
                "shape": [n, dense_dim],
                "datatype": "FP32",
                "data": [x for row in request.dense for x in row],
            },
        ],
        "outputs": [{"name": OUTPUT_NAME}],
    }


def to_kserve_binary(request: RankingRequest) -> tuple[bytes, int]:
    """The KServe v2 request with its tensors as raw bytes after a JSON header (Triton's
    binary tensor data extension, what its own clients send): (payload, header length),
    the length going in the `Inference-Header-Content-Length` header. The one small output
    comes back as JSON."""
    header = to_kserve_json(request)
    tensors: tuple[np.ndarray, ...] = (
        np.asarray(request.user_id, dtype=np.int64),
        np.asarray(request.item_id, dtype=np.int64),
        np.asarray(request.dense, dtype=np.float32),
    )
    for spec, tensor in zip(header["inputs"], tensors, strict=True):
        del spec["data"]
        spec["parameters"] = {"binary_data_size": tensor.nbytes}
    head = json.dumps(header, separators=(",", ":")).encode()
    # Little-endian, row-major, as the extension specifies.
    data = b"".join(t.astype(t.dtype.newbyteorder("<")).tobytes() for t in tensors)
    return head + data, len(head)


def scores_from_flask(body: dict[str, Any]) -> list[float]:
    return [float(x) for x in body["scores"]]


def scores_from_kserve(body: dict[str, Any]) -> list[float]:
    for output in body["outputs"]:
        if output["name"] == OUTPUT_NAME:
            return [float(x) for x in output["data"]]
    raise KeyError(f"no output named {OUTPUT_NAME!r} in the response")
