"""The naive app for any model (Flask's test client: the same handlers, no port)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from infragap.workloads.own_model.runtime import load_model

pytest.importorskip("flask")
from infragap.naive import own_model_app


@pytest.fixture(params=["reload", "hoisted"])
def cnn_client(request, examples):
    app = own_model_app.create_app(
        str(examples.cnn), examples.cnn_signature, hoisted=request.param == "hoisted"
    )
    return app.test_client()


@pytest.fixture
def encoder_client(examples):
    app = own_model_app.create_app(str(examples.encoder), examples.encoder_signature)
    return app.test_client()


def test_cnn_answers_like_the_runtime(cnn_client, examples) -> None:
    image = np.random.default_rng(1).random((3, 3, 16, 16), dtype=np.float32)
    reply = cnn_client.post("/predict", json={"inputs": {"image": image.tolist()}})
    assert reply.status_code == 200, reply.json
    expected = load_model(examples.cnn, "torchscript", signature=examples.cnn_signature)(
        {"image": image}
    )
    got = np.asarray(reply.json["outputs"]["logits"])
    np.testing.assert_allclose(got, expected["logits"], atol=1e-5)
    assert cnn_client.get("/health").json == {"status": "ok"}


def test_encoder_answers_like_the_runtime(encoder_client, examples) -> None:
    ids = np.random.default_rng(2).integers(0, 1000, (2, 16))
    reply = encoder_client.post("/predict", json={"inputs": {"input_ids": ids.tolist()}})
    assert reply.status_code == 200, reply.json
    expected = load_model(examples.encoder, "onnx")({"input_ids": ids})["logits"]
    np.testing.assert_allclose(np.asarray(reply.json["outputs"]["logits"]), expected, atol=1e-5)


def _image(rows: int = 1, value: float = 0.5) -> list:
    return np.full((rows, 3, 16, 16), value).tolist()


BAD_CNN_BODIES = {
    "not_json": (b"{nope", "JSON"),
    "not_an_object": (b"[1, 2]", "inputs"),
    "missing": (json.dumps({"inputs": {}}).encode(), "missing input"),
    "unknown": (json.dumps({"inputs": {"image": _image(), "x": [1]}}).encode(), "unknown"),
    "empty_batch": (json.dumps({"inputs": {"image": []}}).encode(), "non-empty"),
    "wrong_shape": (
        json.dumps({"inputs": {"image": np.zeros((1, 3, 8, 8)).tolist()}}).encode(),
        "expected [rows, 3, 16, 16]",
    ),
    "ragged": (json.dumps({"inputs": {"image": [[1.0], [1.0, 2.0]]}}).encode(), "ragged"),
    "strings": (
        json.dumps({"inputs": {"image": np.full((1, 3, 16, 16), "a").tolist()}}).encode(),
        "numbers",
    ),
    "nan": (json.dumps({"inputs": {"image": _image(1, float("nan"))}}).encode(), "finite"),
    "too_big_for_float32": (
        json.dumps({"inputs": {"image": _image(1, 1e39)}}).encode(),
        "finite",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CNN_BODIES))
def test_bad_requests_get_400_and_the_app_keeps_serving(cnn_client, case: str) -> None:
    body, reason = BAD_CNN_BODIES[case]
    reply = cnn_client.post("/predict", data=body, content_type="application/json")
    assert reply.status_code == 400, (case, reply.json)
    assert reason in reply.json["error"], reply.json
    ok = cnn_client.post("/predict", json={"inputs": {"image": _image()}})
    assert ok.status_code == 200


@pytest.mark.parametrize(
    ("ids", "reason"),
    [
        (np.full((1, 16), 0.5).tolist(), "integers"),
        ([[2**70] * 16], "integers"),
    ],
)
def test_bad_integer_inputs(encoder_client, ids, reason: str) -> None:
    reply = encoder_client.post("/predict", json={"inputs": {"input_ids": ids}})
    assert reply.status_code == 400 and reason in reply.json["error"]


def test_differing_batch_sizes(examples) -> None:
    from infragap.workloads.own_model.signature import Signature, TensorSpec

    signature = Signature(
        "torchscript", (TensorSpec("a", "float32", (2,)), TensorSpec("b", "int64", (1,)))
    )
    with pytest.raises(own_model_app.BadRequest, match="differ"):
        own_model_app.check_inputs({"inputs": {"a": [[1.0, 2.0]], "b": [[1], [2]]}}, signature)
    arrays = own_model_app.check_inputs({"inputs": {"a": [[1, 2]], "b": [[3]]}}, signature)
    assert arrays["a"].dtype == np.float32 and arrays["b"].dtype == np.int64


def test_a_body_over_the_limit_is_refused(cnn_client, monkeypatch) -> None:
    cnn_client.application.config["MAX_CONTENT_LENGTH"] = 1000
    reply = cnn_client.post("/predict", json={"inputs": {"image": _image(2)}})
    assert reply.status_code == 413 and reply.json["error"]
