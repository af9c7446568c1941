"""The hand-batched Flask app, started for real: right answers alone and under concurrency,
400 for malformed bodies, and the weakness it keeps on purpose: an id past the model's
vocabulary fails every request of its batch with a 500."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import torch

from infragap.ports import free_port
from infragap.processes import Supervisor, http_ok, wait_until
from infragap.suites.serving.equivalence import reference_scores
from infragap.workloads.model_sizes import model_size
from infragap.workloads.ranking_requests import generate_requests, to_flask_json

pytestmark = pytest.mark.integration

JSON = {"Content-Type": "application/json"}
TIMEOUT_S = 120
PAIR_WAIT_MS = 60_000  # long enough that a pair sent together always shares its batch


def _start(supervisor: Supervisor, model_file: Path, *args: str) -> str:
    port = free_port()
    argv = [sys.executable, "-m", "infragap.naive.batched_serving_app"]
    argv += ["--model", str(model_file), "--port", str(port), *args]
    child = supervisor.start(f"batched-{port}", argv)
    url = f"http://127.0.0.1:{port}"
    wait_until(http_ok(f"{url}/health"), child, 60, "batched flask app")
    return url


@pytest.fixture(scope="module")
def apps(tiny_model_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """`batched`: a few ms of wait; `pairs`: batches close at 2 rows, never on time."""
    logs = tmp_path_factory.mktemp("batched-app") / "logs"
    with Supervisor(logs) as supervisor:
        yield {
            "batched": _start(supervisor, tiny_model_file, "--max-wait-ms", "20"),
            "pairs": _start(
                supervisor,
                tiny_model_file,
                "--max-batch-rows",
                "2",
                "--max-wait-ms",
                str(PAIR_WAIT_MS),
            ),
        }


def _post(url: str, body: dict) -> requests.Response:
    return requests.post(f"{url}/predict", json=body, timeout=TIMEOUT_S)


def _bad_row() -> dict:
    """One row whose user id passes the handler's checks but not the model's lookup."""
    size = model_size("tiny")
    return {"user_id": [size.n_users], "item_id": [0], "dense": [[0.0] * size.dense_dim]}


def test_single_requests_get_the_models_scores(apps, tiny_model_file):
    reqs = generate_requests(model_size("tiny"), 1, 5, rows=3)
    expected = reference_scores(torch.jit.load(str(tiny_model_file)), reqs)
    for req, want in zip(reqs, expected, strict=True):
        got = _post(apps["batched"], to_flask_json(req)).json()
        assert got["scores"] == pytest.approx(want, abs=1e-6)


def test_concurrent_requests_each_get_their_own_scores(apps, tiny_model_file):
    reqs = generate_requests(model_size("tiny"), 2, 24, rows=2)
    expected = reference_scores(torch.jit.load(str(tiny_model_file)), reqs)
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda r: _post(apps["batched"], to_flask_json(r)), reqs))
    for response, want in zip(responses, expected, strict=True):
        assert response.status_code == 200, response.text[:300]
        assert response.json()["scores"] == pytest.approx(want, abs=1e-5)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "JSON"),
        (b"[" * 10_000 + b"]" * 10_000, "JSON"),
        (b'{"user_id": [1]}', "missing"),
        (b'{"user_id": [1], "item_id": [1, 2], "dense": [[0,0,0,0,0,0,0,0]]}', "same"),
        (b'{"user_id": ["a"], "item_id": [1], "dense": [[0,0,0,0,0,0,0,0]]}', "integers"),
        (b'{"user_id": [1], "item_id": [1], "dense": [[0,0]]}', "dense"),
        (b'{"user_id": [1], "item_id": [1], "dense": [[1e39,0,0,0,0,0,0,0]]}', "finite"),
        (b'{"user_id": [-1], "item_id": [1], "dense": [[0,0,0,0,0,0,0,0]]}', "out of range"),
        (
            b'{"user_id": [9223372036854775808], "item_id": [1], "dense": [[0,0,0,0,0,0,0,0]]}',
            "out of range",
        ),
        (b"[1, 2]", "object"),
    ],
)
def test_malformed_bodies_get_400_and_the_server_keeps_serving(apps, body, message):
    url = apps["batched"]
    response = requests.post(f"{url}/predict", data=body, headers=JSON, timeout=TIMEOUT_S)
    assert response.status_code == 400, response.text[:300]
    assert message in response.json()["error"]
    good = generate_requests(model_size("tiny"), 1, 1, rows=1)[0]
    assert _post(url, to_flask_json(good)).status_code == 200


def test_oversized_body_gets_413(apps):
    body = b'{"user_id": [' + b"1," * (1 << 20) + b"1]}"
    response = requests.post(
        f"{apps['batched']}/predict", data=body, headers=JSON, timeout=TIMEOUT_S
    )
    assert response.status_code == 413
    assert "error" in response.json()


def test_an_id_past_the_vocabulary_is_a_500_not_a_400(apps):
    response = _post(apps["batched"], _bad_row())
    assert response.status_code == 500
    assert "prediction failed" in response.json()["error"]
    good = generate_requests(model_size("tiny"), 1, 1, rows=1)[0]
    assert _post(apps["batched"], to_flask_json(good)).status_code == 200


def test_one_bad_request_fails_the_good_request_batched_with_it(apps, tiny_model_file):
    """The `pairs` app closes a batch at 2 rows only, so two one-row requests sent
    together always share one forward pass."""
    url = apps["pairs"]
    good, other = generate_requests(model_size("tiny"), 4, 2, rows=1)
    with ThreadPoolExecutor(max_workers=2) as pool:
        bad_response, good_response = pool.map(
            lambda body: _post(url, body), [_bad_row(), to_flask_json(good)]
        )
    assert bad_response.status_code == 500
    assert good_response.status_code == 500, "the valid request paid for its batch-mate"
    assert "prediction failed" in good_response.json()["error"]

    # The batcher survives; the next batch of valid requests is answered.
    expected = reference_scores(torch.jit.load(str(tiny_model_file)), [good, other])
    with ThreadPoolExecutor(max_workers=2) as pool:
        responses = list(pool.map(lambda r: _post(url, to_flask_json(r)), [good, other]))
    for response, want in zip(responses, expected, strict=True):
        assert response.status_code == 200, response.text[:300]
        assert response.json()["scores"] == pytest.approx(want, abs=1e-5)
