"""Requests for your own model (seeded, or replayed from JSONL), and the wire formats that
carry them: the naive app's JSON, Triton's binary tensors, and your endpoint's template."""

from __future__ import annotations

import json

import numpy as np
import pytest

from infragap.errors import ConfigError
from infragap.loadtests.target import load_targets
from infragap.loadtests.targets.tensors import WIRES
from infragap.workloads.own_model.requests import (
    TensorRequests,
    generate_requests,
    read_jsonl,
    read_requests_file,
    stream_length,
    write_requests_file,
)
from infragap.workloads.own_model.signature import Signature, TensorSpec
from infragap.workloads.own_model.template import (
    ResponsePathError,
    extract,
    fill,
    numbers,
    parse_path,
    parse_template,
)

SIGNATURE = Signature(
    "onnx",
    (
        TensorSpec("input_ids", "int64", (6,), (0, 1000)),
        TensorSpec("scale", "float32", (2,)),
    ),
    (TensorSpec("logits", "float32", (3,)),),
)


def test_seeded_requests_repeat_and_follow_the_signature():
    first = generate_requests(SIGNATURE, seed=7, count=5, rows=2)
    assert first == generate_requests(SIGNATURE, seed=7, count=5, rows=2)
    assert first != generate_requests(SIGNATURE, seed=8, count=5, rows=2)
    ids = np.asarray([r["input_ids"] for r in first])
    assert ids.shape == (5, 2, 6) and ids.min() >= 0 and ids.max() < 1000
    assert np.asarray(first[0]["scale"]).shape == (2, 2)


def test_a_large_input_makes_a_shorter_stream():
    image = Signature("torchscript", (TensorSpec("image", "float32", (3, 224, 224)),))
    assert stream_length(image, 1) == 64
    assert stream_length(SIGNATURE, 1) == 4096


def test_replayed_requests_are_checked_line_by_line(tmp_path):
    good = {"inputs": {"input_ids": [[1, 2, 3, 4, 5, 6]], "scale": [[1.0, 2.0]]}}
    path = tmp_path / "requests.jsonl"
    path.write_text(json.dumps(good) + "\n\n" + json.dumps(good["inputs"]) + "\n")
    assert len(read_jsonl(path, SIGNATURE)) == 2
    bad_shape = {"input_ids": [[1, 2, 3]], "scale": [[1.0, 2.0]]}
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad_shape) + "\n")
    with pytest.raises(ConfigError, match=r"line 2: input 'input_ids' has shape \[1, 3\]"):
        read_jsonl(path, SIGNATURE)
    path.write_text(json.dumps({"input_ids": [[1] * 6]}) + "\n")
    with pytest.raises(ConfigError, match="lacks input"):
        read_jsonl(path, SIGNATURE)
    path.write_text("{not json\n")
    with pytest.raises(ConfigError, match="line 1 is not JSON"):
        read_jsonl(path, SIGNATURE)
    path.write_text("\n")
    with pytest.raises(ConfigError, match="holds no request"):
        read_jsonl(path, SIGNATURE)


def test_the_template_fills_rows_or_the_first_row_and_names_are_checked():
    template = parse_template(
        '{"instances": "{{input_ids}}", "meta": {"scale": "{{scale[0]}}", "v": 1}}',
        ["input_ids", "scale"],
    )
    request = {"input_ids": [[1, 2]], "scale": [[0.5, 2.0]]}
    assert fill(template, request) == {
        "instances": [[1, 2]],
        "meta": {"scale": [0.5, 2.0], "v": 1},
    }
    with pytest.raises(ConfigError, match="names no input"):
        parse_template('{"x": 1}', ["input_ids"])
    with pytest.raises(ConfigError, match="does not take"):
        parse_template('{"x": "{{tokens}}"}', ["input_ids"])
    with pytest.raises(ConfigError, match="not JSON"):
        parse_template("{x", ["input_ids"])


def test_the_response_path_finds_the_scores_or_says_what_is_there():
    body = {"predictions": [{"probabilities": [[0.1, 0.9]]}]}
    path = parse_path("predictions.0.probabilities")
    assert numbers(extract(body, path)) == [0.1, 0.9]
    with pytest.raises(ResponsePathError, match=r"nothing at predictions.0.scores.*probabilities"):
        extract(body, parse_path("predictions.0.scores"))
    with pytest.raises(ResponsePathError, match="1 items"):
        extract(body, parse_path("predictions.3"))
    with pytest.raises(ResponsePathError, match="not numbers"):
        numbers(["a"])
    with pytest.raises(ConfigError, match="empty part"):
        parse_path("a..b")


def test_every_wire_encodes_the_same_request_and_reads_its_answer(tmp_path):
    requests_ = generate_requests(SIGNATURE, seed=1, count=3, rows=2)
    stream = TensorRequests(SIGNATURE, requests_, '{"ids": "{{input_ids}}"}', "out.scores")
    path = tmp_path / "requests.json"
    write_requests_file(path, stream)
    assert read_requests_file(path).requests == requests_
    targets = load_targets()
    flask = targets.get("tensor-flask").bodies(path, "")
    assert json.loads(flask[0].payload) == {"inputs": requests_[0]}
    template = targets.get("tensor-template").bodies(path, "/score")
    assert json.loads(template[1].payload) == {"ids": requests_[1]["input_ids"]}
    assert targets.get("tensor-template").path("/score") == "/score"
    binary = targets.get("tensor-kserve-binary").bodies(path, "m")[0]
    head_length = int(binary.headers["Inference-Header-Content-Length"])
    header = json.loads(binary.payload[:head_length])
    assert [i["shape"] for i in header["inputs"]] == [[2, 6], [2, 2]]
    ids = np.frombuffer(binary.payload[head_length : head_length + 96], dtype="<i8")
    assert ids.tolist() == np.ravel(requests_[0]["input_ids"]).tolist()
    assert binary.units == 2
    answer = {"outputs": [{"name": "logits", "data": [1, 2, 3, 4, 5, 6]}]}
    assert WIRES["tensor-kserve-binary"].scores(stream, answer) == [1, 2, 3, 4, 5, 6]
    problem = targets.get("tensor-template").answer_problem
    assert problem({"out": {"scores": [0.5]}}, 2) is None
    assert "without the answer" in problem({"error": "boom"}, 2)
