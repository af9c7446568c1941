"""A model's inputs and outputs, as infragap needs them to serve and load-test a model
it did not make (pure: no model is loaded here).

The JSON form is the contract between the harness and the processes that load the
model (the naive app, the reference runner, the Triton repository writer)::

    {"format": "torchscript",
     "inputs": [{"name": "image", "dtype": "float32", "shape": ["batch", 3, 32, 32],
                 "range": [0, 1]}],
     "outputs": [{"name": "logits", "dtype": "float32", "shape": ["batch", 10]}]}

Every tensor's first dimension is the batch, written "batch"; the other dimensions of
an input must be known sizes, since infragap makes requests of that shape. "range" is
optional: where generated values are drawn from ([low, high), integers for integer
inputs). A spec file given with --model-spec has this form, without "format".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from infragap.errors import ConfigError

BATCH = "batch"
FORMATS = {".pt": "torchscript", ".pth": "torchscript", ".onnx": "onnx"}
TRITON_TYPES = {
    "bool": "BOOL",
    "uint8": "UINT8",
    "int8": "INT8",
    "int16": "INT16",
    "int32": "INT32",
    "int64": "INT64",
    "float16": "FP16",
    "float32": "FP32",
    "float64": "FP64",
}
DTYPE_ALIASES = {"float": "float32", "double": "float64", "half": "float16", "long": "int64"}

SPEC_EXAMPLE = (
    '{"inputs": [{"name": "image", "dtype": "float32", "shape": ["batch", 3, 224, 224]}]}'
)
SAMPLE_EXAMPLE = '{"inputs": {"image": [[[...]]]}}'


class SignatureError(ConfigError):
    """A model's signature is missing something infragap needs; the message says how to
    give it."""


@dataclass(frozen=True)
class TensorSpec:
    """One named tensor. `dims` leaves out the batch dimension; a dimension whose size
    the model does not fix is a string (its name in the model, or "?")."""

    name: str
    dtype: str
    dims: tuple[int | str, ...]
    value_range: tuple[float, float] | None = None

    @property
    def triton_type(self) -> str:
        return TRITON_TYPES[self.dtype]

    @property
    def is_integer(self) -> bool:
        return self.dtype.startswith(("int", "uint"))

    def unknown_dims(self) -> list[tuple[int, str]]:
        """(position counting the batch as 0, name) of each dimension with no size."""
        return [(i + 1, str(d)) for i, d in enumerate(self.dims) if not isinstance(d, int)]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "dtype": self.dtype, "shape": [BATCH, *self.dims]}
        if self.value_range is not None:
            out["range"] = list(self.value_range)
        return out


@dataclass(frozen=True)
class Signature:
    format: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...] = ()
    source: str = ""
    """Where the inputs were read from (the ONNX file, a spec file, a sample request)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "inputs": [t.to_json() for t in self.inputs],
            "outputs": [t.to_json() for t in self.outputs],
        }

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(self.to_json(), indent=1), encoding="utf-8")
        return path

    def input(self, name: str) -> TensorSpec:
        return next(t for t in self.inputs if t.name == name)

    def with_outputs(self, outputs: Sequence[TensorSpec]) -> Signature:
        return replace(self, outputs=tuple(outputs))


def model_format(path: Path) -> str:
    """torchscript or onnx, from the file name; a clear error for anything else."""
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise SignatureError(
            f"{path.name}: infragap serves TorchScript (.pt, .pth) and ONNX (.onnx) files, "
            f"not {path.suffix or 'files without a suffix'}: export the model to one of them "
            "(torch.jit.script(model).save(path) or torch.onnx.export)"
        ) from None


def read_signature(path: Path) -> Signature:
    """A signature written by Signature.write (the processes that load the model read it)."""
    return signature_from_json(json.loads(path.read_text(encoding="utf-8")), str(path))


def signature_from_json(data: Mapping[str, Any], where: str) -> Signature:
    return Signature(
        data["format"],
        tuple(parse_tensor(t, "input", where) for t in data["inputs"]),
        tuple(parse_tensor(t, "output", where, outputs=True) for t in data["outputs"]),
        source=where,
    )


def parse_spec_file(path: Path, model_format_name: str) -> Signature:
    """--model-spec: a spec ({"inputs": [...]}) or a sample request ({"inputs": {...}})."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise SignatureError(f"cannot read --model-spec {path}: {err}") from None
    where = f"--model-spec {path}"
    inputs = data.get("inputs") if isinstance(data, dict) else None
    if isinstance(inputs, Mapping):
        return Signature(model_format_name, sample_inputs(inputs, where), source=where)
    if not isinstance(inputs, list) or not inputs:
        raise SignatureError(
            f"{where} has no inputs: write either a spec, {SPEC_EXAMPLE} (mark the batch "
            f'dimension "batch"), or a sample request, {SAMPLE_EXAMPLE}'
        )
    outputs = data.get("outputs") or []
    return Signature(
        model_format_name,
        tuple(parse_tensor(t, "input", where) for t in inputs),
        tuple(parse_tensor(t, "output", where, outputs=True) for t in outputs),
        source=where,
    )


def parse_tensor(entry: Any, kind: str, where: str, outputs: bool = False) -> TensorSpec:
    """One entry of a spec's "inputs" or "outputs" list, every gap named."""
    if not isinstance(entry, Mapping):
        raise SignatureError(f"{where}: each {kind} must be an object like {SPEC_EXAMPLE}")
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise SignatureError(f'{where}: an {kind} has no "name"')
    dtype = normal_dtype(entry.get("dtype"), f"{kind} {name!r} in {where}")
    shape = entry.get("shape")
    if not isinstance(shape, list) or not shape or shape[0] != BATCH:
        raise SignatureError(
            f'{where}: {kind} {name!r} needs a "shape" whose first dimension is "batch", '
            f'e.g. ["batch", 3, 224, 224] (infragap batches requests along it)'
        )
    dims: list[int | str] = []
    for size in shape[1:]:
        if isinstance(size, int) and size > 0:
            dims.append(size)
        elif outputs and (size == -1 or isinstance(size, str)):
            dims.append(str(size))
        else:
            raise SignatureError(
                f"{where}: {kind} {name!r} has dimension {size!r}: give every dimension "
                "after the batch as a positive size"
            )
    return TensorSpec(name, dtype, tuple(dims), value_range(entry.get("range"), name, where))


def normal_dtype(dtype: Any, what: str) -> str:
    text = str(dtype).lower().removeprefix("torch.") if dtype is not None else ""
    text = DTYPE_ALIASES.get(text, text)
    if text not in TRITON_TYPES:
        raise SignatureError(
            f'{what} has dtype {dtype!r}: give "dtype" as one of {", ".join(TRITON_TYPES)}'
        )
    return text


def value_range(raw: Any, name: str, where: str) -> tuple[float, float] | None:
    if raw is None:
        return None
    ok = isinstance(raw, list) and len(raw) == 2 and all(isinstance(v, (int, float)) for v in raw)
    if not ok or raw[0] >= raw[1]:
        raise SignatureError(f'{where}: input {name!r} has "range" {raw!r}: give [low, high]')
    return (raw[0], raw[1])


def sample_inputs(inputs: Mapping[str, Any], where: str) -> tuple[TensorSpec, ...]:
    """Input specs read off one sample request: nested lists, batch first."""
    import numpy as np

    specs = []
    for name, value in inputs.items():
        try:
            array = np.asarray(value)
        except ValueError:
            array = np.asarray([])
        if array.ndim < 1 or array.dtype.kind not in "biuf" or array.size == 0:
            raise SignatureError(
                f"{where}: input {name!r} is not a rectangular list of numbers with the batch "
                f"first, as in {SAMPLE_EXAMPLE}"
            )
        dtype = {"b": "bool", "f": "float32"}.get(array.dtype.kind, "int64")
        specs.append(TensorSpec(name, dtype, tuple(int(d) for d in array.shape[1:])))
    return tuple(specs)


def merge(base: Signature, spec: Signature) -> Signature:
    """The model's own signature (ONNX) completed or overridden by a --model-spec, by name."""
    given = {t.name: t for t in spec.inputs}
    unknown = sorted(set(given) - {t.name for t in base.inputs})
    if unknown:
        names = ", ".join(t.name for t in base.inputs)
        raise SignatureError(
            f"{spec.source} names inputs the model does not have: {unknown}; its inputs are {names}"
        )
    inputs = tuple(given.get(t.name, t) for t in base.inputs)
    return replace(
        base,
        inputs=inputs,
        outputs=spec.outputs or base.outputs,
        source=f"{base.source} and {spec.source}",
    )


def check_complete(signature: Signature, model: Path) -> Signature:
    """Raise with exactly what is missing: an input dimension without a size."""
    for tensor in signature.inputs:
        for position, name in tensor.unknown_dims():
            shape = [BATCH, *[d if isinstance(d, int) else 128 for d in tensor.dims]]
            raise SignatureError(
                f"{model.name}: input {tensor.name!r} has no size for dimension {position} "
                f"({name!r} in the model): give it in --model-spec, e.g. "
                f'{{"inputs": [{{"name": "{tensor.name}", "dtype": "{tensor.dtype}", '
                f'"shape": {json.dumps(shape)}}}]}}'
            )
    return signature
