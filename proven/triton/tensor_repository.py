"""Write a Triton model repository for a user's TorchScript or ONNX file (files only).

The bundled tritonserver has only the Python backend, so `tensor_model.py` becomes
`<model>/1/model.py` and runs the file with torch or onnxruntime; config.pbtxt comes from
the model's signature, whose outputs must be known (the reference run observes them).
The model file itself is never opened here.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from infragap.errors import ConfigError
from infragap.proven.triton.repository import (
    DEFAULT_INSTANCES,
    DEFAULT_MAX_BATCH_SIZE,
    DEFAULT_PREFERRED_BATCH_SIZES,
    DEFAULT_QUEUE_DELAY_US,
    DEFAULT_TORCH_THREADS,
    ServingOptions,
    fresh_model_dir,
    place_model_file,
)
from infragap.workloads.own_model.signature import Signature, TensorSpec

MODEL_SOURCE = Path(__file__).with_name("tensor_model.py")
MODEL_FILES = {"torchscript": "model.pt", "onnx": "model.onnx"}


def write_tensor_repository(
    dest: Path,
    model_file: Path,
    signature: Signature,
    *,
    model_name: str = "model",
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
    queue_delay_us: int = DEFAULT_QUEUE_DELAY_US,
    preferred_batch_sizes: Sequence[int] = DEFAULT_PREFERRED_BATCH_SIZES,
    instances: int = DEFAULT_INSTANCES,
    torch_threads: int = DEFAULT_TORCH_THREADS,
    device: str = "cpu",
) -> Path:
    """Write `<dest>/<model_name>/` (config.pbtxt, 1/model.py, 1/model.<pt|onnx>) and
    return `dest`. `torch_threads` is the intra-op thread count of torch or onnxruntime.
    An existing model folder of that name is replaced; other models are left alone."""
    options = ServingOptions(
        max_batch_size=max_batch_size,
        queue_delay_us=queue_delay_us,
        preferred_batch_sizes=tuple(preferred_batch_sizes),
        instances=instances,
        torch_threads=torch_threads,
        device=device,
    )
    if not model_file.is_file():
        raise ConfigError(f"model file {model_file} does not exist")
    config = tensor_model_config(signature, options, model_name)
    version_dir = fresh_model_dir(dest, model_name, config)
    shutil.copyfile(MODEL_SOURCE, version_dir / "model.py")
    place_model_file(model_file, version_dir / MODEL_FILES[signature.format])
    for relative in onnx_external_data(model_file) if signature.format == "onnx" else []:
        target = version_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        place_model_file(model_file.parent / relative, target)
    return dest


def tensor_model_config(signature: Signature, options: ServingOptions, model_name: str) -> str:
    """config.pbtxt for tensor_model.py serving a model of this signature (pure)."""
    if signature.format not in MODEL_FILES:
        raise ConfigError(
            f"model format {signature.format!r} cannot be served: use {' or '.join(MODEL_FILES)}"
        )
    if not signature.outputs:
        raise ConfigError(
            "the signature has no outputs, and Triton's config must list them: run the model "
            "once (the reference run reports its output_specs) and add them with "
            "Signature.with_outputs"
        )
    batching = [f"  max_queue_delay_microseconds: {options.queue_delay_us}"]
    if options.preferred_batch_sizes:
        sizes = ", ".join(map(str, options.preferred_batch_sizes))
        batching.insert(0, f"  preferred_batch_size: [ {sizes} ]")
    parameters = {
        "model_file": MODEL_FILES[signature.format],
        "model_format": signature.format,
        "threads": str(options.torch_threads),
    }
    lines = [
        f"name: {_quoted(model_name)}",
        'backend: "python"',
        f"max_batch_size: {options.max_batch_size}",
        "input [",
        ",\n".join(_tensor(t) for t in signature.inputs),
        "]",
        "output [",
        ",\n".join(_tensor(t) for t in signature.outputs),
        "]",
        "dynamic_batching {",
        *batching,
        "}",
        f"instance_group [ {{ count: {options.instances} kind: {options.instance_kind} }} ]",
    ]
    lines += [
        f"parameters: {{ key: {_quoted(key)} value: {{ string_value: {_quoted(value)} }} }}"
        for key, value in parameters.items()
    ]
    return "\n".join(lines) + "\n"


def _tensor(spec: TensorSpec) -> str:
    # A dimension the model does not fix (a named or "?" one) is variable: -1 to Triton.
    dims = ", ".join(str(d) if isinstance(d, int) else "-1" for d in spec.dims)
    return f"  {{ name: {_quoted(spec.name)} data_type: TYPE_{spec.triton_type} dims: [ {dims} ] }}"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def onnx_external_data(model_file: Path) -> list[str]:
    """The files an ONNX model keeps its weights in beside it (models over 2 GB), as
    paths relative to its folder; the graph is parsed, nothing runs."""
    try:
        import onnx
    except ImportError:  # without onnx the repository still works for self-contained files
        return []
    try:
        model = onnx.load(str(model_file), load_external_data=False)
    except Exception:  # unreadable here means unreadable in Triton, which says why
        return []
    found = []
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                found.append(entry.value)
    base = model_file.parent.resolve()
    for relative in found:
        if not (base / relative).resolve().is_relative_to(base):
            raise ConfigError(
                f"{model_file.name} points its weights at {relative}, outside its folder: "
                "save the external data beside the model"
            )
    return list(dict.fromkeys(found))
