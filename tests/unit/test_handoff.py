from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from infragap.errors import LoadError
from infragap.loadtests.handoff import LocustSettings
from infragap.loadtests.target import load_targets
from infragap.loadtests.targets.ranking import read_requests_file, write_requests_file
from infragap.workloads.model_sizes import model_size
from infragap.workloads.ranking_requests import generate_requests


def test_requests_file_round_trip(tmp_path: Path) -> None:
    requests = generate_requests(model_size("tiny"), seed=3, count=5, rows=2)
    path = tmp_path / "requests.json"
    write_requests_file(requests, path)
    assert read_requests_file(path) == requests


def test_missing_or_foreign_requests_file_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="write_requests_file"):
        read_requests_file(tmp_path / "missing.json")
    other = tmp_path / "other.json"
    other.write_text('{"version": 99, "requests": []}')
    with pytest.raises(LoadError, match="write it again"):
        read_requests_file(other)


def test_settings_round_trip_through_the_environment(tmp_path: Path) -> None:
    settings = LocustSettings("kserve", tmp_path / "r.json", tmp_path / "l.log", "ranker", 8, 30.0)
    assert LocustSettings.from_env(settings.to_env()) == settings
    with pytest.raises(LoadError, match="names no load target"):
        LocustSettings.from_env({})
    with pytest.raises(LoadError, match="run_level"):
        LocustSettings.from_env({"INFRAGAP_LOAD_TARGET": "flask"})


def test_every_target_registers_from_its_own_module() -> None:
    names = load_targets().names()
    assert {"flask", "kserve", "naive-features", "feast-features"} <= set(names)
    with pytest.raises(LoadError, match="flask"):
        LocustSettings.from_env({"INFRAGAP_LOAD_TARGET": "nope"})


def test_ranking_targets_check_the_scores_they_get(tmp_path: Path) -> None:
    targets = load_targets()
    flask, kserve = targets.get("flask"), targets.get("kserve")
    assert flask.path("") == "/predict"
    assert kserve.path("ranker") == "/v2/models/ranker/infer"
    path = tmp_path / "requests.json"
    write_requests_file(generate_requests(model_size("tiny"), seed=3, count=2, rows=3), path)
    bodies = kserve.bodies(path, "ranker")
    assert len(bodies) == 2 and all(body.units == 3 for body in bodies)
    assert all(body.headers["Content-Type"] == "application/json" for body in bodies)
    assert flask.answer_problem({"scores": [0.1, 0.2, 0.3]}, 3) is None
    assert "2 scores for 3 rows" in flask.answer_problem({"scores": [0.1, 0.2]}, 3)
    assert "without scores" in kserve.answer_problem({"error": "x"}, 3)


def test_binary_kserve_bodies_carry_the_same_tensors_after_their_json_header(
    tmp_path: Path,
) -> None:
    path = tmp_path / "requests.json"
    requests = generate_requests(model_size("tiny"), seed=3, count=2, rows=3)
    write_requests_file(requests, path)
    binary = load_targets().get("kserve-binary")
    assert binary.path("ranker") == "/v2/models/ranker/infer"
    for body, request in zip(binary.bodies(path, "ranker"), requests, strict=True):
        assert isinstance(body.payload, bytes) and body.units == 3
        assert body.headers["Content-Type"] == "application/octet-stream"
        head_length = int(body.headers["Inference-Header-Content-Length"])
        header = json.loads(body.payload[:head_length])
        sizes = [spec["parameters"]["binary_data_size"] for spec in header["inputs"]]
        assert [spec["name"] for spec in header["inputs"]] == ["user_id", "item_id", "dense"]
        assert all("data" not in spec for spec in header["inputs"])
        data = body.payload[head_length:]
        assert len(data) == sum(sizes)
        users = np.frombuffer(data[: sizes[0]], dtype="<i8")
        items = np.frombuffer(data[sizes[0] : sizes[0] + sizes[1]], dtype="<i8")
        dense = np.frombuffer(data[sizes[0] + sizes[1] :], dtype="<f4").reshape(3, -1)
        assert users.tolist() == request.user_id and items.tolist() == request.item_id
        assert np.array_equal(dense, np.asarray(request.dense, dtype=np.float32))
