"""An ONNX file's signature, read from its graph with the onnx package: the protobuf is
parsed, no operator runs and no Python from the file is imported."""

from __future__ import annotations

from pathlib import Path

from infragap.errors import MissingDependency
from infragap.workloads.own_model.signature import (
    Signature,
    SignatureError,
    TensorSpec,
)

# TensorProto.DataType numbers (onnx.proto), for the element types infragap can send.
ELEMENT_TYPES = {
    1: "float32",
    2: "uint8",
    3: "int8",
    5: "int16",
    6: "int32",
    7: "int64",
    9: "bool",
    10: "float16",
    11: "float64",
}


def onnx_signature(path: Path) -> Signature:
    try:
        import onnx
    except ImportError:
        raise MissingDependency("onnx (to read an ONNX model's inputs)", "own-model") from None
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as err:  # the parser's own words: a truncated or foreign file
        raise SignatureError(f"{path.name} is not a readable ONNX model: {err}") from None
    graph = model.graph
    weights = {init.name for init in graph.initializer}
    inputs = [t for t in graph.input if t.name not in weights]
    return Signature(
        "onnx",
        tuple(_tensor(t, path, "input") for t in inputs),
        tuple(_tensor(t, path, "output") for t in graph.output),
        source=f"the ONNX graph of {path.name}",
    )


def _tensor(value_info: object, path: Path, kind: str) -> TensorSpec:
    name = value_info.name  # type: ignore[attr-defined]
    tensor_type = value_info.type.tensor_type  # type: ignore[attr-defined]
    dtype = ELEMENT_TYPES.get(tensor_type.elem_type)
    if dtype is None:
        raise SignatureError(
            f"{path.name}: {kind} {name!r} has ONNX element type {tensor_type.elem_type}, "
            f"which infragap cannot send; it sends {', '.join(ELEMENT_TYPES.values())}"
        )
    dims: list[int | str] = []
    for dim in tensor_type.shape.dim:
        if dim.HasField("dim_value") and dim.dim_value > 0:
            dims.append(int(dim.dim_value))
        else:
            dims.append(dim.dim_param or "?")
    if kind == "input" and (not dims or isinstance(dims[0], int)):
        raise SignatureError(
            f"{path.name}: {kind} {name!r} has shape {dims}, with no batch dimension first: "
            "export the model with a dynamic first dimension (torch.onnx.export's "
            "dynamic_shapes or dynamic_axes) so requests can be batched"
        )
    return TensorSpec(name, dtype, tuple(dims[1:]))
