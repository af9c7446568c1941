"""Triton 2.51's answers to bad requests beyond a 4xx, pinned (README, "Known limits").

infragap does not proxy Triton (a proxy would distort the measurement), so these are
upstream behaviours: each case sends one bad request to the real server and asserts
today's status code. A failure means an upgrade changed the answer (upstream fixed it):
update README.md's "Known limits" and the expected code here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from infragap.processes import Supervisor
from infragap.proven.triton.repository import write_model_repository
from infragap.proven.triton.server import TritonServer, start_triton
from infragap.workloads.model_sizes import model_size
from infragap.workloads.ranking_requests import RankingRequest, to_kserve_json
from infragap.workloads.recsys import ensure_model_file

pytestmark = pytest.mark.integration

SIZE = model_size("tiny")
GOOD = to_kserve_json(RankingRequest([1, 2], [3, 4], [[0.5] * SIZE.dense_dim] * 2))
UPGRADE_HINT = (
    "Triton's answer changed (an upgrade fixed it?): update README.md's Known limits "
    "and the expected code here"
)


def changed(change: Callable[[dict[str, Any]], None]) -> bytes:
    body = json.loads(json.dumps(GOOD))
    change(body)
    return json.dumps(body).encode()


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda body: body["inputs"][0].pop(key)


# name: (body, the status code Triton 2.51 answers today)
CASES: dict[str, tuple[bytes, int]] = {
    "malformed JSON": (b'{"inputs": [', 500),
    "no inputs": (changed(lambda body: body.pop("inputs")), 500),
    "input without name": (changed(_drop("name")), 500),
    "input without shape": (changed(_drop("shape")), 500),
    "input without datatype": (changed(_drop("datatype")), 500),
    "element count does not match the shape": (
        changed(lambda body: body["inputs"][2]["data"].pop()),
        500,
    ),
    "float in an INT64 tensor": (
        changed(lambda body: body["inputs"][0].update(data=[0.5, 0.5])),
        500,
    ),
    "id beyond int64": (
        changed(lambda body: body["inputs"][0]["data"].__setitem__(0, 2**64)),
        500,
    ),
    "string in data": (
        changed(lambda body: body["inputs"][2]["data"].__setitem__(0, "x")),
        500,
    ),
    "boolean in data": (
        changed(lambda body: body["inputs"][2]["data"].__setitem__(0, True)),
        500,
    ),
    "negative shape dimension": (
        changed(lambda body: body["inputs"][0].update(shape=[-2, 1])),
        500,
    ),
    "data not an array": (
        changed(lambda body: body["inputs"][2].update(data=0.5)),
        500,
    ),
    "NaN in data (not JSON)": (
        changed(lambda body: body["inputs"][2]["data"].__setitem__(0, float("nan"))),
        200,
    ),
    "Infinity in data (not JSON)": (
        changed(lambda body: body["inputs"][2]["data"].__setitem__(0, float("inf"))),
        200,
    ),
}


@pytest.fixture(scope="module")
def triton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    pytest.importorskip("torch")
    pytest.importorskip("pytriton")
    tmp_path: Path = tmp_path_factory.mktemp("triton-upstream")
    model_file = ensure_model_file(SIZE, 11, tmp_path / "models")
    repo = write_model_repository(tmp_path / "repo", model_file, SIZE)
    with Supervisor(tmp_path / "logs") as supervisor:
        yield start_triton(supervisor, repo, start_timeout_s=120)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("name", list(CASES))
def test_triton_answers_this_bad_request_as_pinned(triton: TritonServer, name: str) -> None:
    body, expected = CASES[name]
    response = requests.post(
        triton.infer_url, data=body, headers={"Content-Type": "application/json"}, timeout=30
    )
    assert response.status_code == expected, (UPGRADE_HINT, name, response.text[:300])
    if expected == 200:  # not refused: scored as if the body were valid
        assert response.json()["outputs"][0]["data"], response.text[:300]
    good = requests.post(triton.infer_url, json=GOOD, timeout=30)
    assert good.status_code == 200, "Triton stopped serving after a bad request"
