from __future__ import annotations

import re
from pathlib import Path

import pytest

from infragap.errors import ConfigError
from infragap.proven.triton.repository import (
    LIBTORCH_MODEL_FILE,
    MODEL_SOURCE,
    PYTHON_MODEL_FILE,
    ServingOptions,
    libtorch_config,
    libtorch_repository_path,
    python_backend_config,
    write_model_repository,
)
from infragap.workloads.model_sizes import model_size

TINY = model_size("tiny")


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "cache" / "ranker-tiny.pt"
    path.parent.mkdir()
    path.write_bytes(b"torchscript bytes")
    return path


def test_python_config_declares_the_ranking_model() -> None:
    config = squash(python_backend_config(TINY))
    assert 'name: "ranker"' in config
    assert 'backend: "python"' in config
    assert "platform" not in config
    assert "max_batch_size: 256" in config
    assert '{ name: "user_id" data_type: TYPE_INT64 dims: [ 1 ] }' in config
    assert '{ name: "item_id" data_type: TYPE_INT64 dims: [ 1 ] }' in config
    assert f'{{ name: "dense" data_type: TYPE_FP32 dims: [ {TINY.dense_dim} ] }}' in config
    assert 'output [ { name: "score" data_type: TYPE_FP32 dims: [ 1 ] } ]' in config
    assert "instance_group [ { count: 1 kind: KIND_CPU } ]" in config


def test_python_config_carries_the_model_parameters() -> None:
    config = squash(python_backend_config(TINY, ServingOptions(torch_threads=3)))
    for key, value in {
        "model_file": PYTHON_MODEL_FILE,
        "torch_threads": "3",
        "n_users": str(TINY.n_users),
        "n_items": str(TINY.n_items),
    }.items():
        assert f'parameters: {{ key: "{key}" value: {{ string_value: "{value}" }} }}' in config


def test_dynamic_batching_block() -> None:
    options = ServingOptions(queue_delay_us=250, preferred_batch_sizes=(8, 32))
    config = squash(python_backend_config(TINY, options))
    assert (
        "dynamic_batching { preferred_batch_size: [ 8, 32 ] max_queue_delay_microseconds: 250 }"
        in config
    )
    default = squash(python_backend_config(TINY))
    assert "dynamic_batching { max_queue_delay_microseconds: 500 }" in default


def test_cuda_places_instances_on_the_gpu() -> None:
    config = squash(python_backend_config(TINY, ServingOptions(device="cuda", instances=2)))
    assert "instance_group [ { count: 2 kind: KIND_GPU } ]" in config


def test_libtorch_config_names_inputs_after_forward_arguments() -> None:
    config = squash(libtorch_config(TINY, ServingOptions(torch_threads=2), "rank2"))
    assert 'name: "rank2"' in config
    assert 'platform: "pytorch_libtorch"' in config
    assert "backend:" not in config
    for name in ("user_id", "item_id", "dense"):
        assert f'name: "{name}"' in config
    assert 'key: "INTRA_OP_THREAD_COUNT" value: { string_value: "2" }' in config
    assert 'key: "INFERENCE_MODE" value: { string_value: "true" }' in config


@pytest.mark.parametrize(
    "options",
    [
        {"max_batch_size": 0},
        {"queue_delay_us": -1},
        {"preferred_batch_sizes": (512,)},
        {"instances": 0},
        {"torch_threads": 0},
        {"device": "tpu"},
    ],
)
def test_bad_options_are_config_errors(options: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        ServingOptions(**options)  # type: ignore[arg-type]


def test_writes_both_repositories(tmp_path: Path, model_file: Path) -> None:
    dest = tmp_path / "repo"
    assert write_model_repository(dest, model_file, TINY, torch_threads=2) == dest

    version = dest / "ranker" / "1"
    assert (version / "model.py").read_text() == MODEL_SOURCE.read_text()
    assert (version / PYTHON_MODEL_FILE).read_bytes() == model_file.read_bytes()
    assert (dest / "ranker" / "config.pbtxt").read_text() == python_backend_config(
        TINY, ServingOptions(torch_threads=2)
    )

    other = libtorch_repository_path(dest)
    assert other == tmp_path / "repo_libtorch"
    assert (other / "ranker" / "1" / LIBTORCH_MODEL_FILE).read_bytes() == model_file.read_bytes()
    assert "pytorch_libtorch" in (other / "ranker" / "config.pbtxt").read_text()


def test_rewriting_replaces_the_model_folder(tmp_path: Path, model_file: Path) -> None:
    dest = tmp_path / "repo"
    write_model_repository(dest, model_file, TINY)
    (dest / "ranker" / "1" / "stale.txt").write_text("old")
    write_model_repository(dest, model_file, TINY, max_batch_size=64, libtorch=False)
    assert not (dest / "ranker" / "1" / "stale.txt").exists()
    assert "max_batch_size: 64" in (dest / "ranker" / "config.pbtxt").read_text()


def test_missing_model_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ensure_model_file"):
        write_model_repository(tmp_path / "repo", tmp_path / "nope.pt", TINY)


def test_model_source_imports_only_what_the_stub_has() -> None:
    imports = re.findall(r"^(?:import|from) (\S+)", MODEL_SOURCE.read_text(), re.MULTILINE)
    allowed = {"__future__", "json", "os", "typing", "numpy", "torch"}
    assert set(imports) <= allowed | {"triton_python_backend_utils"}
