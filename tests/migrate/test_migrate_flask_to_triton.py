"""flask-to-triton: the rewrite, what it leaves alone, and the rewritten app run against a
stand-in for Triton that executes the generated model.py on the real ranking model.

The live test against the real Triton server belongs with the serving suite; here the
HTTP hop is replaced, everything else (the handler, triton_infer, tritonclient's
InferInput encoding, the generated Python-backend model, the TorchScript model) is real.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import threading
import types
from pathlib import Path
from textwrap import dedent
from typing import Any

import numpy as np
import pytest

from infragap.migrate.results import Status
from infragap.migrate.rules import fix_text

RULE = "flask-to-triton"

NAIVE_APP = dedent(
    """\
    import os

    import torch as th
    from flask import Flask, jsonify, request

    MODEL_PATH = os.environ.get("RANKER_PATH", "models/ranker.pt")
    app = Flask(__name__)


    @app.route("/predict", methods=["POST"])
    def predict():
        payload = request.get_json(force=True)
        # loaded on every request
        model = th.jit.load(MODEL_PATH, map_location="cpu")
        model.eval()
        user_id = th.tensor(payload["user_id"], dtype=th.long)
        item_id = th.tensor(payload["item_id"], dtype=th.long)
        dense = th.tensor(payload["dense"], dtype=th.float32)
        with th.no_grad():
            score = model(user_id, item_id, dense)
        return jsonify({"scores": score.reshape(-1).tolist()})
    """
)


def test_rewrites_the_handler_and_generates_the_ranker_repository():
    result = fix_text(RULE, NAIVE_APP)
    assert result.status is Status.CHANGED
    text = result.text
    assert "th.jit.load(MODEL_PATH" not in text
    assert "model.eval()" not in text
    assert "score = triton_infer(user_id=user_id, item_id=item_id, dense=dense)" in text
    assert 'TRITON_MODEL = os.environ.get("TRITON_MODEL", "ranker")' in text
    assert 'TRITON_URL = os.environ.get("TRITON_URL", "127.0.0.1:8000")' in text
    assert "# loaded on every request" in text  # the comment moved, not lost
    assert 'return jsonify({"scores": score.reshape(-1).tolist()})' in text
    compile(text, "app.py", "exec")
    files = {f.path: f.text for f in result.new_files}
    assert sorted(files) == [
        "triton_models/ranker/1/model.py",
        "triton_models/ranker/README.md",
        "triton_models/ranker/config.pbtxt",
    ]
    config = files["triton_models/ranker/config.pbtxt"]
    assert 'name: "ranker"' in config and 'backend: "python"' in config
    assert "dynamic_batching {" in config
    assert _inputs(config) == {
        "user_id": ("INT64", "1"),
        "item_id": ("INT64", "1"),
        "dense": ("FP32", "-1"),
    }
    assert 'name: "score"' in config
    compile(files["triton_models/ranker/1/model.py"], "model.py", "exec")


def test_second_run_changes_nothing():
    once = fix_text(RULE, NAIVE_APP)
    again = fix_text(RULE, once.text)
    assert again.status is Status.UNCHANGED
    assert again.text == once.text and not again.new_files


def test_options_name_the_model_and_its_output():
    result = fix_text(
        RULE,
        NAIVE_APP,
        {"model_name": "rank-v2", "output_name": "prob", "repository": "serving_models"},
    )
    files = {f.path: f.text for f in result.new_files}
    config = files["serving_models/rank-v2/config.pbtxt"]
    assert 'name: "rank-v2"' in config and 'name: "prob"' in config
    assert '"TRITON_MODEL", "rank-v2"' in result.text


def test_converts_a_handler_whose_load_was_already_hoisted():
    hoisted = fix_text("model-load-in-handler", NAIVE_APP).text
    result = fix_text(RULE, hoisted)
    assert result.status is Status.CHANGED
    assert "score = triton_infer(" in result.text
    assert "model = _load_model()" not in result.text


def test_leaves_a_model_used_for_more_than_calling_it(leaves_alone):
    leaves_alone(
        RULE,
        """\
        import torch
        from flask import Flask, jsonify
        app = Flask(__name__)


        @app.route("/p")
        def p():
            model = torch.jit.load("m.pt")
            return jsonify({"params": sum(p.numel() for p in model.parameters())})
        """,
        reason="uses `model` for more than calling it",
    )


def test_leaves_a_model_chosen_by_the_request(leaves_alone):
    leaves_alone(
        RULE,
        """\
        import torch
        from flask import Flask, jsonify
        app = Flask(__name__)


        @app.route("/p/<name>")
        def p(name):
            model = torch.jit.load(f"{name}.pt")
            return jsonify(model(torch.zeros(1)).tolist())
        """,
        reason="handler argument `name`",
    )


def test_leaves_sklearn_models_to_the_safe_rule(leaves_alone):
    leaves_alone(
        RULE,
        """\
        import joblib
        from flask import Flask
        app = Flask(__name__)


        @app.route("/p")
        def p():
            return str(joblib.load("m.joblib").predict([[1]]))
        """,
    )


def test_one_triton_model_per_module():
    source = NAIVE_APP + dedent(
        """\


        @app.route("/other", methods=["POST"])
        def other():
            model = th.jit.load("models/other.pt")
            x = th.tensor([1.0])
            return jsonify(model(x).tolist())
        """
    )
    result = fix_text(RULE, source)
    assert result.status is Status.CHANGED
    assert 'th.jit.load("models/other.pt")' in result.text
    assert [n.message for n in result.notes] == [
        "a second model (other) in one module; migrate it by hand"
    ]


def _inputs(config: str) -> dict[str, tuple[str, str]]:
    block = config.split("input [", 1)[1].split("output [", 1)[0]
    found = re.findall(r'name: "(\w+)"\s+data_type: TYPE_(\w+)\s+dims: \[ ([-\d, ]+) \]', block)
    return {name: (dtype, dims) for name, dtype, dims in found}


# --- the rewritten app, end to end, against a stand-in for Triton ----------------------


class _Tensor:
    def __init__(self, name: str, array: np.ndarray) -> None:
        self._name, self._array = name, array

    def name(self) -> str:
        return self._name

    def as_numpy(self) -> np.ndarray:
        return self._array


class _Response:
    def __init__(self, output_tensors: list[_Tensor]) -> None:
        self.output_tensors = output_tensors


def _fake_pb_utils() -> types.ModuleType:
    """The parts of triton_python_backend_utils that the generated model.py uses."""
    module = types.ModuleType("triton_python_backend_utils")
    module.__dict__.update(
        Tensor=_Tensor,
        InferenceResponse=_Response,
        get_input_tensor_by_name=lambda request, name: request[name],
        get_output_config_by_name=lambda config, name: next(
            o for o in config["output"] if o["name"] == name
        ),
        triton_string_to_numpy=lambda s: _numpy_type(s.removeprefix("TYPE_")),
    )
    return module


def _numpy_type(datatype: str) -> np.dtype:
    return np.dtype(datatype.lower().replace("fp", "float"))


class _FakeTriton:
    """Stands in for `tritonclient.http.InferenceServerClient`: checks each request against
    config.pbtxt like Triton does, then runs the generated model.py on it."""

    def __init__(self, repository: Path, model: str) -> None:
        spec = importlib.util.spec_from_file_location(
            "generated_model", repository / model / "1" / "model.py"
        )
        assert spec is not None and spec.loader is not None
        generated = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(generated)
        self.config = (repository / model / "config.pbtxt").read_text()
        output = re.search(r'output \[\s*\{\s*name: "(\w+)"', self.config)
        assert output is not None
        self.output = output.group(1)
        self.model_name = model
        self.model = generated.TritonPythonModel()
        self.model.initialize(
            {
                "model_repository": str(repository / model),
                "model_version": "1",
                "model_config": json.dumps(
                    {"output": [{"name": self.output, "data_type": "TYPE_FP32"}]}
                ),
                "model_instance_kind": "CPU",
            }
        )
        self.calls = 0
        self.clients: list[int] = []  # the thread that made each client

    def __call__(self, url: str) -> _FakeTriton:
        assert url == "127.0.0.1:8000"
        self.clients.append(threading.get_ident())
        return self

    def infer(self, model_name: str, inputs: list[Any]) -> Any:
        assert model_name == self.model_name
        self.calls += 1
        declared = _inputs(self.config)
        request = {}
        for item in inputs:
            dtype, dims = declared[item.name()]
            assert item.datatype() == dtype
            shape = item.shape()
            assert len(shape) == 1 + len(dims.split(","))
            assert dims == "-1" or shape[1:] == [int(d) for d in dims.split(",")]
            array = np.frombuffer(
                item._get_binary_data(), dtype=np.dtype(dtype.lower().replace("fp", "float"))
            )
            request[item.name()] = _Tensor(item.name(), array.reshape(shape))
        (response,) = self.model.execute([request])
        (tensor,) = response.output_tensors
        return _Result(tensor.name(), tensor.as_numpy())


class _Result:
    def __init__(self, name: str, array: np.ndarray) -> None:
        self.name, self.array = name, array

    def get_response(self) -> dict[str, Any]:
        return {"outputs": [{"name": self.name, "shape": list(self.array.shape)}]}

    def as_numpy(self, name: str) -> np.ndarray:
        assert name == self.name
        return self.array


def _load_app(text: str, name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(text, f"{name}.py", "exec"), module.__dict__)
    return module


def test_rewritten_app_answers_like_the_naive_one(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    pytest.importorskip("flask")
    http = pytest.importorskip("tritonclient.http")
    from infragap.workloads.model_sizes import model_size
    from infragap.workloads.ranking_requests import generate_requests, to_flask_json
    from infragap.workloads.recsys import build_model

    size = model_size("tiny")
    model_file = tmp_path / "ranker.pt"
    torch.jit.save(build_model(size, seed=7), str(model_file))
    monkeypatch.setenv("RANKER_PATH", str(model_file))

    result = fix_text(RULE, NAIVE_APP)
    for new in result.new_files:
        (tmp_path / new.path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / new.path).write_text(new.text)
    repository = tmp_path / "triton_models"
    (repository / "ranker" / "1" / "model.pt").write_bytes(model_file.read_bytes())

    monkeypatch.setitem(sys.modules, "triton_python_backend_utils", _fake_pb_utils())
    triton = _FakeTriton(repository, "ranker")
    monkeypatch.setattr(http, "InferenceServerClient", triton)

    naive = _load_app(NAIVE_APP, "naive_app").app.test_client()
    rewritten = _load_app(result.text, "rewritten_app").app.test_client()
    for request in generate_requests(size, seed=3, count=4, rows=5):
        body = to_flask_json(request)
        expected = naive.post("/predict", json=body)
        got = rewritten.post("/predict", json=body)
        assert got.status_code == expected.status_code == 200
        assert set(got.get_json()) == {"scores"}
        assert np.allclose(got.get_json()["scores"], expected.get_json()["scores"], atol=1e-6)
    assert triton.calls == 4
    assert triton.clients == [threading.get_ident()]  # one client, reused by this thread
    worker = threading.Thread(target=rewritten.post, args=("/predict",), kwargs={"json": body})
    worker.start()
    worker.join()
    assert triton.calls == 5 and len(triton.clients) == 2  # never shared across threads
