"""Triton Python-backend model serving any TorchScript or ONNX file (copied in as
`model.py` by tensor_repository.py).

It runs inside Triton's backend stub, not inside infragap, so it imports only the
standard library, numpy, triton_python_backend_utils and the one runtime the format
needs (torch or onnxruntime). Its settings come from config.pbtxt's `parameters`:
model_file, model_format (torchscript | onnx), threads; input and output names, types
and shapes from the config itself.

Triton's dynamic batcher hands `execute` several requests at once. Triton has already
checked their names, datatypes and shapes, so they are concatenated along the batch
dimension, run once, and the outputs split back by each request's rows. A model that
fails on a batch answers each of its requests with an error instead of crashing the
stub.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils

WARM_UP_ROWS = 2
TORCH_WARM_UP_CALLS = 3  # TorchScript's profiling executor optimises over the first calls


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        config = json.loads(args["model_config"])
        params = {k: v["string_value"] for k, v in config.get("parameters", {}).items()}
        path = os.path.join(args["model_repository"], args["model_version"], params["model_file"])
        threads = int(params.get("threads", "1"))
        gpu = args["model_instance_kind"] == "GPU"
        device_id = int(args.get("model_instance_device_id", "0"))
        self.inputs = [
            (i["name"], pb_utils.triton_string_to_numpy(i["data_type"]), i["dims"])
            for i in config["input"]
        ]
        self.outputs = [
            (o["name"], pb_utils.triton_string_to_numpy(o["data_type"])) for o in config["output"]
        ]
        if params["model_format"] == "onnx":
            self.run = _onnx(path, threads, gpu, device_id, [n for n, _ in self.outputs])
            calls = 1
        else:
            self.run = _torchscript(path, threads, gpu, device_id, [n for n, _ in self.outputs])
            calls = TORCH_WARM_UP_CALLS
        self._warm_up(calls)

    def _warm_up(self, calls: int) -> None:
        # Done here, "ready" also means "fast": the first measured request is no outlier.
        batch = {
            name: np.zeros((WARM_UP_ROWS, *(max(1, int(d)) for d in dims)), dtype=dtype)
            for name, dtype, dims in self.inputs
        }
        try:
            for _ in range(calls):
                self.run(batch)
        except Exception as exc:  # zeros may not suit every model; real requests decide
            print(f"warm-up with zeros failed, serving anyway: {exc}", file=sys.stderr)

    def execute(self, requests: list[Any]) -> list[Any]:
        names = [name for name, _, _ in self.inputs]
        arrays = [
            [pb_utils.get_input_tensor_by_name(r, name).as_numpy() for name in names]
            for r in requests
        ]
        rows = [len(per_request[0]) for per_request in arrays]
        batch = {
            name: np.concatenate([per_request[i] for per_request in arrays])
            for i, name in enumerate(names)
        }
        try:
            results = self.run(batch)
            if len(results) != len(self.outputs):
                raise ValueError(
                    f"the model gave {len(results)} outputs, the config lists {len(self.outputs)}"
                )
            outputs = [self._checked(result, sum(rows)) for result in results]
        except Exception as exc:  # every request must still get an answer
            message = f"model failed on a batch of {sum(rows)} rows: {_one_line(exc)}"
            error = pb_utils.TritonError(message, pb_utils.TritonError.INTERNAL)
            return [pb_utils.InferenceResponse(error=error) for _ in requests]
        responses = []
        start = 0
        for count in rows:
            tensors = [
                pb_utils.Tensor(name, np.ascontiguousarray(out[start : start + count], dtype=dtype))
                for (name, dtype), out in zip(self.outputs, outputs, strict=True)
            ]
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
            start += count
        return responses

    def _checked(self, result: np.ndarray, rows: int) -> np.ndarray:
        if result.ndim == 0 or result.shape[0] != rows:
            raise ValueError(
                f"an output has shape {list(result.shape)}, not {rows} rows first: every output "
                "must keep the batch dimension"
            )
        return result

    def finalize(self) -> None:
        self.run = None  # type: ignore[assignment]  # drops the session / module


# {input name: batch} in the config's input order -> outputs in its output order.
Runner = Callable[[dict[str, np.ndarray]], list[np.ndarray]]


def _onnx(path: str, threads: int, gpu: bool, device_id: int, names: list[str]) -> Runner:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    providers: list[Any] = ["CPUExecutionProvider"]
    if gpu and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, ("CUDAExecutionProvider", {"device_id": device_id}))
    session = ort.InferenceSession(path, options, providers=providers)
    types = {i.name: _ONNX_TYPES.get(i.type) for i in session.get_inputs()}
    own = [o.name for o in session.get_outputs()]
    # By name when the config uses the model's own output names, else in order.
    wanted = names if set(names) <= set(own) else own

    def run(batch: dict[str, np.ndarray]) -> list[np.ndarray]:
        inputs = {
            name: np.ascontiguousarray(array, dtype=types.get(name) or array.dtype)
            for name, array in batch.items()
        }
        return [np.asarray(a) for a in session.run(wanted, inputs)]

    return run


_ONNX_TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int16)": np.int16,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
}


def _torchscript(path: str, threads: int, gpu: bool, device_id: int, names: list[str]) -> Runner:
    import torch

    torch.set_num_threads(threads)
    device = torch.device("cuda", device_id) if gpu and torch.cuda.is_available() else "cpu"
    model = torch.jit.load(path, map_location=device).eval()

    def run(batch: dict[str, np.ndarray]) -> list[np.ndarray]:
        tensors = [torch.from_numpy(np.ascontiguousarray(a)).to(device) for a in batch.values()]
        with torch.inference_mode():
            result = model(*tensors)
        if isinstance(result, dict):
            # By name when the config uses the dict's keys, else in order.
            keys = names if set(names) <= set(result) else list(result)
            values = [result[k] for k in keys]
        elif isinstance(result, (tuple, list)):
            values = list(result)
        else:
            values = [result]
        if len(values) != len(names):
            raise ValueError(f"the model gave {len(values)} outputs, the config lists {len(names)}")
        return [v.detach().cpu().numpy() for v in values]

    return run


def _one_line(exc: Exception) -> str:
    # TorchScript errors end with the real one ("RuntimeError: ...") after a traceback.
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if line.split(":", 1)[0].endswith(("Error", "Exception")):
            return line
    return lines[0] if lines else type(exc).__name__
