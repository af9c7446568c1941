"""The reference runner: answers, observed output specs and the ceiling, errors as exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from infragap.proven import tensor_reference
from infragap.workloads.own_model.runtime import load_model
from infragap.workloads.own_model.signature import Signature, TensorSpec


def requests_file(path: Path, signature: Signature, requests: list[dict]) -> Path:
    payload = {"version": 1, "signature": signature.to_json(), "requests": requests}
    path.write_text(json.dumps(payload))
    return path


def encoder_requests(count: int, rows: int) -> list[dict]:
    rng = np.random.default_rng(0)
    return [{"input_ids": rng.integers(0, 1000, (rows, 16)).tolist()} for _ in range(count)]


def test_answers_specs_and_ceiling(examples, tmp_path: Path) -> None:
    signature = examples.encoder_signature.with_outputs(())  # outputs as observed
    sig_file = signature.write(tmp_path / "signature.json")
    reqs = encoder_requests(3, 2)
    argv = ["--model", str(examples.encoder), "--signature", str(sig_file)]
    argv += ["--requests", str(requests_file(tmp_path / "r.json", signature, reqs))]
    argv += ["--count", "2", "--out", str(tmp_path / "o.json"), "--threads", "1"]
    argv += ["--ceiling-rows", "5", "--ceiling-seconds", "0.1"]
    assert tensor_reference.main(argv) == 0
    out = json.loads((tmp_path / "o.json").read_text())
    assert len(out["outputs"]) == 2
    run = load_model(examples.encoder, "onnx")
    for request, answer in zip(reqs, out["outputs"], strict=False):
        expected = run({"input_ids": np.asarray(request["input_ids"])})["logits"]
        np.testing.assert_allclose(np.asarray(answer["logits"]), expected, atol=1e-6)
    assert out["output_specs"] == [{"name": "logits", "dtype": "float32", "shape": ["batch", 10]}]
    ceiling = out["ceiling"]
    assert ceiling["rows"] == 5 and ceiling["threads"] == 1 and ceiling["device"] == "cpu"
    assert ceiling["rows_per_s"] > 0 and ceiling["forward_ms"] > 0 and ceiling["seconds"] > 0


def test_count_zero_still_reports_the_specs(examples, tmp_path: Path) -> None:
    signature = examples.cnn_signature
    sig_file = signature.write(tmp_path / "signature.json")
    reqs = [{"image": np.zeros((1, 3, 16, 16)).tolist()}]
    argv = ["--model", str(examples.cnn), "--signature", str(sig_file), "--count", "0"]
    argv += ["--requests", str(requests_file(tmp_path / "r.json", signature, reqs))]
    argv += ["--out", str(tmp_path / "o.json"), "--device", "cpu"]
    assert tensor_reference.main(argv) == 0
    out = json.loads((tmp_path / "o.json").read_text())
    assert out["outputs"] == [] and out["ceiling"] is None
    assert out["output_specs"][0]["name"] == "logits"


def test_ceiling_batch_repeats_the_requests() -> None:
    signature = Signature("onnx", (TensorSpec("x", "int64", (1,)),))
    batch = tensor_reference.ceiling_batch([{"x": [[1], [2]]}, {"x": [[3]]}], signature, 7)
    assert batch["x"].reshape(-1).tolist() == [1, 2, 3, 1, 2, 3, 1]


def test_observed_specs_mark_varying_dims() -> None:
    answers = [{"y": np.zeros((2, 3, 4), np.float32)}, {"y": np.zeros((1, 5, 4), np.float32)}]
    (spec,) = tensor_reference.observed_specs(answers)
    assert spec.to_json() == {"name": "y", "dtype": "float32", "shape": ["batch", "?", 4]}


def test_a_model_that_does_not_load_exits_2_with_one_line(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    model = tmp_path / "pickled.pt"
    torch.save({"weights": torch.zeros(1)}, model)
    signature = Signature("torchscript", (TensorSpec("x", "float32", (1,)),))
    argv = [sys.executable, "-m", "infragap.proven.tensor_reference", "--model", str(model)]
    argv += ["--signature", str(signature.write(tmp_path / "s.json")), "--out", "o.json"]
    argv += ["--requests", str(requests_file(tmp_path / "r.json", signature, [{"x": [[1]]}]))]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, check=False)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert "not TorchScript" in lines[-1]
    assert not (tmp_path / "o.json").exists()
