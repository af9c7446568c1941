"""The Triton repository for a user's model: config.pbtxt from the signature, files placed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from infragap.errors import ConfigError
from infragap.proven.triton.tensor_repository import (
    MODEL_SOURCE,
    write_tensor_repository,
)
from infragap.workloads.own_model.signature import Signature, TensorSpec

SIGNATURE = Signature(
    "onnx",
    (TensorSpec("input_ids", "int64", (16,)), TensorSpec("mask", "bool", (16,))),
    (TensorSpec("logits", "float32", (10,)), TensorSpec("hidden", "float16", ("seq", 4))),
)


def write(tmp_path: Path, signature: Signature = SIGNATURE, **options) -> Path:
    model = tmp_path / "mine.onnx"
    if not model.exists():
        model.write_bytes(b"onnx bytes")
    return write_tensor_repository(tmp_path / "repo", model, signature, **options)


def test_config_lists_the_signature(tmp_path: Path) -> None:
    repo = write(tmp_path, max_batch_size=64, queue_delay_us=250, instances=2, torch_threads=3)
    config = (repo / "model" / "config.pbtxt").read_text()
    assert 'backend: "python"' in config and "max_batch_size: 64" in config
    assert '{ name: "input_ids" data_type: TYPE_INT64 dims: [ 16 ] }' in config
    assert '{ name: "mask" data_type: TYPE_BOOL dims: [ 16 ] }' in config
    assert '{ name: "logits" data_type: TYPE_FP32 dims: [ 10 ] }' in config
    assert '{ name: "hidden" data_type: TYPE_FP16 dims: [ -1, 4 ] }' in config
    assert "max_queue_delay_microseconds: 250" in config
    assert "instance_group [ { count: 2 kind: KIND_CPU } ]" in config
    for key, value in (("model_file", "model.onnx"), ("model_format", "onnx"), ("threads", "3")):
        assert f'key: "{key}" value: {{ string_value: "{value}" }}' in config


def test_files_are_placed(tmp_path: Path) -> None:
    repo = write(tmp_path)
    version = repo / "model" / "1"
    assert (version / "model.py").read_text() == MODEL_SOURCE.read_text()
    assert (version / "model.onnx").read_bytes() == b"onnx bytes"
    assert os.path.samefile(version / "model.onnx", tmp_path / "mine.onnx")  # hard link


def test_torchscript_on_gpu_with_preferred_sizes(tmp_path: Path) -> None:
    model = tmp_path / "m.pt"
    model.write_bytes(b"pt")
    signature = Signature("torchscript", SIGNATURE.inputs, SIGNATURE.outputs)
    repo = write_tensor_repository(
        tmp_path / "repo",
        model,
        signature,
        model_name="cnn",
        device="cuda",
        preferred_batch_sizes=[8, 16],
    )
    config = (repo / "cnn" / "config.pbtxt").read_text()
    assert 'name: "cnn"' in config and "kind: KIND_GPU" in config
    assert "preferred_batch_size: [ 8, 16 ]" in config
    assert (repo / "cnn" / "1" / "model.pt").is_file()


def test_names_are_quoted(tmp_path: Path) -> None:
    odd = Signature("onnx", (TensorSpec('in"put', "float32", (2,)),), SIGNATURE.outputs)
    config = (write(tmp_path, odd) / "model" / "config.pbtxt").read_text()
    assert 'name: "in\\"put"' in config


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_batch_size": 0}, "max_batch_size"),
        ({"queue_delay_us": -1}, "queue_delay_us"),
        ({"device": "tpu"}, "device"),
        ({"preferred_batch_sizes": [512]}, "preferred"),
    ],
)
def test_bad_options_are_refused(tmp_path: Path, options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        write(tmp_path, **options)


def test_outputs_are_required(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="output_specs"):
        write(tmp_path, SIGNATURE.with_outputs(()))


def test_a_missing_model_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        write_tensor_repository(tmp_path / "repo", tmp_path / "none.onnx", SIGNATURE)


def test_external_weights_travel_with_the_model(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((2, 2), dtype=np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])],
        [weight],
    )
    model_file = tmp_path / "big.onnx"
    onnx.save(
        helper.make_model(graph),
        str(model_file),
        save_as_external_data=True,
        location="big.weights",
        size_threshold=0,
    )
    signature = Signature(
        "onnx", (TensorSpec("x", "float32", (2,)),), (TensorSpec("y", "float32", (2,)),)
    )
    repo = write_tensor_repository(tmp_path / "repo", model_file, signature)
    assert (repo / "model" / "1" / "big.weights").is_file()
