"""The bundled Triton on a user's TorchScript and ONNX models (the two tiny examples)."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests

from infragap.processes import Supervisor, http_ok, wait_until
from infragap.proven.triton.metrics import counter_deltas, scrape, triton_model_counters
from infragap.proven.triton.server import TritonServer, start_triton
from infragap.proven.triton.tensor_repository import write_tensor_repository
from infragap.workloads.own_model.runtime import load_model
from infragap.workloads.own_model.signature import (
    Signature,
    TensorSpec,
    parse_spec_file,
)

pytestmark = pytest.mark.integration

SEED = 5


def kserve(signature: Signature, arrays: dict[str, np.ndarray]) -> bytes:
    inputs = [
        {
            "name": t.name,
            "shape": list(arrays[t.name].shape),
            "datatype": t.triton_type,
            "data": arrays[t.name].reshape(-1).tolist(),
        }
        for t in signature.inputs
    ]
    return json.dumps({"inputs": inputs}).encode()


def infer(server: TritonServer, model: str, body: bytes) -> requests.Response:
    return requests.post(
        f"{server.http_url}/v2/models/{model}/infer",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )


def outputs(response: requests.Response) -> dict[str, np.ndarray]:
    assert response.status_code == 200, response.text
    return {
        o["name"]: np.asarray(o["data"]).reshape(o["shape"]) for o in response.json()["outputs"]
    }


@pytest.mark.timeout(180)
def test_triton_serves_both_examples_like_the_runtime(tmp_path: Path) -> None:
    pytest.importorskip("pytriton")
    pytest.importorskip("onnxscript")
    from infragap.workloads.own_model.examples import make_cnn, make_encoder

    cnn, spec = make_cnn(tmp_path / "models", "tiny", SEED)
    encoder = make_encoder(tmp_path / "models", "tiny", SEED)
    models: dict[str, tuple[Path, Signature]] = {
        "cnn": (cnn, parse_spec_file(spec, "torchscript")),
        "encoder": (
            encoder,
            Signature(
                "onnx",
                (TensorSpec("input_ids", "int64", (16,)),),
                (TensorSpec("logits", "float32", (10,)),),
            ),
        ),
    }
    repo = tmp_path / "repo"
    for name, (model_file, signature) in models.items():
        # A long queue delay makes requests sent together share one execution.
        write_tensor_repository(repo, model_file, signature, model_name=name, queue_delay_us=20_000)
    rng = np.random.default_rng(SEED)
    samples = {
        "cnn": [{"image": rng.random((r, 3, 16, 16), dtype=np.float32)} for r in (1, 3, 2, 4)],
        "encoder": [{"input_ids": rng.integers(0, 1000, (r, 16))} for r in (1, 3, 2, 4)],
    }
    expected = {
        name: [load_model(f, s.format, 1, signature=s)(x) for x in samples[name]]
        for name, (f, s) in models.items()
    }

    with Supervisor(tmp_path / "logs") as supervisor:
        server = start_triton(supervisor, repo, model_name="cnn", start_timeout_s=120)
        assert server.child is not None
        ready = http_ok(f"{server.http_url}/v2/models/encoder/ready")
        wait_until(ready, server.child, 60, "the encoder model")

        for name, (_, signature) in models.items():
            for arrays, want in zip(samples[name], expected[name], strict=True):
                got = outputs(infer(server, name, kserve(signature, arrays)))
                np.testing.assert_allclose(got["logits"], want["logits"], atol=1e-4)

            # Sent together: batched into fewer executions, split back per request.
            bodies = [kserve(signature, a) for a in samples[name]]
            barrier = threading.Barrier(len(bodies))

            def send(body: bytes, model: str = name, barrier: Any = barrier) -> Any:
                barrier.wait()
                return infer(server, model, body)

            assert server.metrics_url
            before = triton_model_counters(scrape(server.metrics_url), name)
            with ThreadPoolExecutor(len(bodies)) as pool:
                answers = list(pool.map(send, bodies))
            stats = counter_deltas(before, triton_model_counters(scrape(server.metrics_url), name))
            for answer, want in zip(answers, expected[name], strict=True):
                np.testing.assert_allclose(outputs(answer)["logits"], want["logits"], atol=1e-4)
            assert stats.executions < len(bodies)

        cnn_signature = models["cnn"][1]
        wrong_shape = kserve(cnn_signature, {"image": np.zeros((1, 3, 8, 8), np.float32)})
        wrong_name = json.dumps(
            {"inputs": [{"name": "pixels", "shape": [1, 1], "datatype": "FP32", "data": [0.0]}]}
        ).encode()
        for body in (wrong_shape, wrong_name):
            response = infer(server, "cnn", body)
            assert 400 <= response.status_code < 500, response.text
            assert response.json()["error"]
        # A model failure (ids past the vocabulary) answers with an error, not a crash.
        past_vocabulary = {"input_ids": np.full((1, 16), 5000, dtype=np.int64)}
        failed = infer(server, "encoder", kserve(models["encoder"][1], past_vocabulary))
        assert failed.status_code >= 400 and "model failed" in failed.json()["error"]
        assert server.child.alive()
        got = outputs(infer(server, "cnn", kserve(cnn_signature, samples["cnn"][0])))
        np.testing.assert_allclose(got["logits"], expected["cnn"][0]["logits"], atol=1e-4)
