"""Both naive Flask apps, started for real, on input that used to crash them into a 500:
JSON nested 10,000 levels deep (a RecursionError while decoding) and, for the model
endpoint, numbers beyond float32 (an inf the model scored as NaN, not even JSON)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from infragap.ports import free_port
from infragap.processes import Supervisor, http_ok, wait_until

pytestmark = pytest.mark.integration

DEEP = {
    "nested lists": b"[" * 10_000 + b"]" * 10_000,
    "nested objects": b'{"user_id": ' * 10_000 + b"[1]" + b"}" * 10_000,
}
JSON = {"Content-Type": "application/json"}


def _start(supervisor: Supervisor, module: str, *args: str) -> str:
    port = free_port()
    argv = [sys.executable, "-m", module, "--port", str(port), *args]
    child = supervisor.start(module.rsplit(".", 1)[-1], argv)
    url = f"http://127.0.0.1:{port}"
    wait_until(http_ok(f"{url}/health"), child, 60, module)
    return url


@pytest.fixture(scope="module")
def apps(tiny_model_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    from infragap.workloads.ecommerce import data_size, generate, write_raw

    tmp_path = tmp_path_factory.mktemp("naive-apps")
    raw = write_raw(generate(data_size("tiny"), 3), tmp_path / "raw")
    with Supervisor(tmp_path / "logs") as supervisor:
        yield {
            "predict": _start(
                supervisor, "infragap.naive.serving_app", "--model", str(tiny_model_file)
            )
            + "/predict",
            "features": _start(
                supervisor, "infragap.naive.features_serving", "--data", str(raw.folder)
            )
            + "/features",
        }


@pytest.mark.parametrize("endpoint", ["predict", "features"])
@pytest.mark.parametrize("shape", list(DEEP))
def test_deeply_nested_json_is_a_400(apps: dict, endpoint: str, shape: str) -> None:
    url = apps[endpoint]
    response = requests.post(url, data=DEEP[shape], headers=JSON, timeout=30)
    assert response.status_code == 400, response.text[:300]
    assert "JSON" in response.json()["error"]
    assert requests.get(url.rsplit("/", 1)[0] + "/health", timeout=10).ok


@pytest.mark.parametrize("value", [b"1e39", b"1" + b"0" * 400, b"-3.5e38"])
def test_dense_beyond_float32_is_a_400(apps: dict, value: bytes) -> None:
    body = b'{"user_id": [1], "item_id": [1], "dense": [[' + value + b",0,0,0,0,0,0,0]]}"
    response = requests.post(apps["predict"], data=body, headers=JSON, timeout=30)
    assert response.status_code == 400, response.text[:300]
    assert "finite numbers" in response.json()["error"]
