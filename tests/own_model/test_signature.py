"""The signature of a model infragap did not make: read from a spec, a sample request or
an ONNX graph, and every gap named with how to fill it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infragap.suites.serving.own_signature import model_signature
from infragap.workloads.own_model.signature import (
    Signature,
    SignatureError,
    TensorSpec,
    check_complete,
    merge,
    model_format,
    parse_spec_file,
    read_signature,
)

SPEC = {
    "inputs": [{"name": "image", "dtype": "float32", "shape": ["batch", 3, 8, 8]}],
    "outputs": [{"name": "logits", "dtype": "float32", "shape": ["batch", 10]}],
}


def write(tmp_path: Path, data: object, name: str = "spec.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_a_spec_file_gives_inputs_and_outputs_and_round_trips(tmp_path):
    signature = parse_spec_file(write(tmp_path, SPEC), "torchscript")
    assert signature.inputs == (TensorSpec("image", "float32", (3, 8, 8)),)
    assert signature.outputs[0].dims == (10,)
    again = read_signature(signature.write(tmp_path / "signature.json"))
    assert again.to_json() == signature.to_json()


def test_a_sample_request_gives_names_types_and_shapes(tmp_path):
    sample = {"inputs": {"ids": [[1, 2, 3]], "weights": [[0.5, 1.5]]}}
    signature = parse_spec_file(write(tmp_path, sample), "torchscript")
    assert signature.inputs == (
        TensorSpec("ids", "int64", (3,)),
        TensorSpec("weights", "float32", (2,)),
    )


@pytest.mark.parametrize(
    "entry, words",
    [
        ({"name": "x", "shape": ["batch", 3]}, 'give "dtype" as one of'),
        ({"name": "x", "dtype": "float32", "shape": [3, 4]}, 'first dimension is "batch"'),
        ({"name": "x", "dtype": "float32", "shape": ["batch", -1]}, "as a positive size"),
        ({"dtype": "float32", "shape": ["batch", 3]}, 'has no "name"'),
        ({"name": "x", "dtype": "complex64", "shape": ["batch", 3]}, "complex64"),
    ],
)
def test_each_gap_in_a_spec_is_named(tmp_path, entry, words):
    with pytest.raises(SignatureError, match=words):
        parse_spec_file(write(tmp_path, {"inputs": [entry]}), "torchscript")


def test_a_spec_without_inputs_shows_both_forms(tmp_path):
    with pytest.raises(SignatureError, match="sample request"):
        parse_spec_file(write(tmp_path, {"outputs": []}), "torchscript")


def test_unknown_dimensions_ask_for_a_size_in_the_spec():
    signature = Signature("onnx", (TensorSpec("input_ids", "int64", ("seq",)),))
    with pytest.raises(SignatureError, match=r"dimension 1 \('seq'.*--model-spec"):
        check_complete(signature, Path("encoder.onnx"))


def test_a_spec_completes_the_models_own_signature_by_name(tmp_path):
    base = Signature("onnx", (TensorSpec("input_ids", "int64", ("seq",)),), source="graph")
    spec = parse_spec_file(
        write(
            tmp_path,
            {
                "inputs": [
                    {
                        "name": "input_ids",
                        "dtype": "int64",
                        "shape": ["batch", 16],
                        "range": [0, 1000],
                    }
                ]
            },
        ),
        "onnx",
    )
    merged = check_complete(merge(base, spec), Path("m.onnx"))
    assert merged.inputs[0].dims == (16,) and merged.inputs[0].value_range == (0, 1000)
    wrong = Signature("onnx", (TensorSpec("tokens", "int64", (4,)),), source="spec")
    with pytest.raises(SignatureError, match="does not have"):
        merge(base, wrong)


def test_only_torchscript_and_onnx_files_are_served():
    assert model_format(Path("m.pt")) == "torchscript"
    assert model_format(Path("m.ONNX")) == "onnx"
    with pytest.raises(SignatureError, match="export the model"):
        model_format(Path("m.pkl"))


def test_torchscript_without_a_spec_says_how_to_give_one(tmp_path):
    model = tmp_path / "cnn.pt"
    model.write_bytes(b"not read")
    config = {"own_model": {"model": str(model), "model_spec": None, "format": "torchscript"}}
    with pytest.raises(SignatureError, match=r"does not carry its input names.*--model-spec"):
        model_signature(config)


def test_onnx_signature_is_read_from_the_graph_without_running_it(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 5])],
    )
    path = tmp_path / "relu.onnx"
    onnx.save(helper.make_model(graph), str(path))
    config = {"own_model": {"model": str(path), "model_spec": None, "format": "onnx"}}
    signature = model_signature(config)
    assert signature.inputs == (TensorSpec("x", "float32", (5,)),)
    assert signature.outputs == (TensorSpec("y", "float32", (5,)),)
    fixed = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])],
    )
    onnx.save(helper.make_model(fixed), str(path))
    with pytest.raises(SignatureError, match="no batch dimension first"):
        model_signature(config)
    path.write_bytes(b"\x00garbage")
    with pytest.raises(SignatureError, match="not a readable ONNX model"):
        model_signature(config)
