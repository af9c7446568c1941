"""The naive Flask app, started for real, on good and bad input."""

from __future__ import annotations

import sys

import pytest
import requests
import torch

from infragap.ports import free_port
from infragap.processes import Supervisor, http_ok, wait_until
from infragap.suites.serving.equivalence import reference_scores
from infragap.workloads.model_sizes import model_size
from infragap.workloads.ranking_requests import generate_requests, to_flask_json

pytestmark = pytest.mark.integration


@pytest.fixture(params=[False, True], ids=["reload", "hoisted"])
def app_url(request, tiny_model_file, tmp_path):
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "infragap.naive.serving_app",
        "--model",
        str(tiny_model_file),
        "--port",
        str(port),
    ]
    if request.param:
        argv.append("--hoisted")
    with Supervisor(tmp_path / "logs") as supervisor:
        child = supervisor.start("flask", argv)
        url = f"http://127.0.0.1:{port}"
        wait_until(http_ok(f"{url}/health"), child, 60, "flask app")
        yield url


def test_scores_match_the_model_in_process(app_url, tiny_model_file):
    reqs = generate_requests(model_size("tiny"), 1, 5, rows=3)
    expected = reference_scores(torch.jit.load(str(tiny_model_file)), reqs)
    for req, want in zip(reqs, expected, strict=True):
        got = requests.post(f"{app_url}/predict", json=to_flask_json(req), timeout=30).json()
        assert got["scores"] == pytest.approx(want, abs=1e-6)


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (b"{not json", {"Content-Type": "application/json"}, "JSON"),
        (b'{"user_id": [1]}', {"Content-Type": "application/json"}, "missing"),
        (
            b'{"user_id": [1], "item_id": [1, 2], "dense": [[0,0,0,0,0,0,0,0]]}',
            {"Content-Type": "application/json"},
            "same",
        ),
        (
            b'{"user_id": ["a"], "item_id": [1], "dense": [[0,0,0,0,0,0,0,0]]}',
            {"Content-Type": "application/json"},
            "integers",
        ),
        (
            b'{"user_id": [1], "item_id": [1], "dense": [[0,0]]}',
            {"Content-Type": "application/json"},
            "dense",
        ),
        (
            b'{"user_id": [99999], "item_id": [1], "dense": [[0,0,0,0,0,0,0,0]]}',
            {"Content-Type": "application/json"},
            "out of range",
        ),
        (b"[1, 2]", {"Content-Type": "application/json"}, "object"),
    ],
)
def test_bad_requests_get_400_and_the_server_keeps_serving(app_url, body, headers, message):
    response = requests.post(f"{app_url}/predict", data=body, headers=headers, timeout=30)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert requests.get(f"{app_url}/health", timeout=10).status_code == 200


def test_oversized_body_gets_413(app_url):
    body = b'{"user_id": [' + b"1," * (1 << 20) + b"1]}"
    response = requests.post(
        f"{app_url}/predict", data=body, headers={"Content-Type": "application/json"}, timeout=30
    )
    assert response.status_code == 413
    assert "error" in response.json()
    good = generate_requests(model_size("tiny"), 1, 1, rows=1)[0]
    assert requests.post(f"{app_url}/predict", json=to_flask_json(good), timeout=30).ok
