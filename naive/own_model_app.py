"""The naive endpoint for any TorchScript or ONNX model, written the way teams write it.

`POST /predict` takes {"inputs": {name: nested list, batch first}} and answers
{"outputs": {name: nested list}}. Like serving_app.py, it loads the model inside the
request handler (torch.jit.load or onnxruntime.InferenceSession on every request);
`--hoisted` is the quick fix, the model loaded once at start-up. Flask's threaded
development server, the libraries' default thread settings, a timing log line per
request: what runs before anyone adds a model server.

    python -m infragap.naive.own_model_app --model M.onnx --signature S.json --port 5000

The signature file (infragap's JSON form) names the inputs, their dtypes and per-row
shapes; a request that does not fit it gets a 400 saying why.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from flask import Flask, jsonify

from infragap.naive.serving_app import (
    HOST_HELP,
    LOOPBACK_HOST,
    NOT_JSON,
    BadRequest,
    json_body,
    new_app,
    serve,
)
from infragap.workloads.own_model.runtime import name_outputs, torch_outputs
from infragap.workloads.own_model.signature import Signature, TensorSpec, read_signature

logger = logging.getLogger("predict")

# Images and token sequences make far larger bodies than the ranking model's rows; this
# matches the request size Triton's HTTP front end accepts by default.
MAX_BODY_BYTES = 64 << 20
BODY_FORM = 'body must be a JSON object {"inputs": {name: rows, ...}}'


def check_inputs(body: Any, signature: Signature) -> dict[str, np.ndarray]:
    """The request's inputs as arrays of the signature's dtypes once every check passes,
    else BadRequest naming the first problem."""
    inputs = body.get("inputs") if isinstance(body, Mapping) else None
    if not isinstance(inputs, Mapping):
        raise BadRequest(BODY_FORM)
    expected = {t.name for t in signature.inputs}
    missing = [t.name for t in signature.inputs if t.name not in inputs]
    if missing:
        raise BadRequest(f"missing input(s): {', '.join(missing)}")
    unknown = sorted(set(inputs) - expected)
    if unknown:
        raise BadRequest(
            f"unknown input(s): {', '.join(unknown)}; the model takes {sorted(expected)}"
        )
    arrays = {t.name: check_tensor(inputs[t.name], t) for t in signature.inputs}
    rows = {len(a) for a in arrays.values()}
    if len(rows) > 1:
        raise BadRequest(f"inputs differ in their number of rows: {sorted(rows)}")
    return arrays


def check_tensor(value: Any, spec: TensorSpec) -> np.ndarray:
    """One input's rows as an array of `spec.dtype`, checked for shape, type and range."""
    shape = ", ".join(["rows", *map(str, spec.dims)])
    if not isinstance(value, list) or not value:
        raise BadRequest(f"input {spec.name!r} must be a non-empty list of rows, shape [{shape}]")
    try:
        raw = np.asarray(value)
    except (ValueError, TypeError):  # ragged nesting
        raw = None
    if raw is None or raw.shape[1:] != tuple(spec.dims) or raw.ndim != len(spec.dims) + 1:
        got = list(raw.shape) if raw is not None else "ragged"
        raise BadRequest(f"input {spec.name!r} has shape {got}, expected [{shape}]")
    kind = raw.dtype.kind
    if spec.dtype == "bool":
        if kind != "b" and not (kind in "iu" and np.isin(raw, (0, 1)).all()):
            raise BadRequest(f"input {spec.name!r} must hold true/false")
        return raw.astype(np.bool_)
    if spec.is_integer:
        if kind not in "iu":
            raise BadRequest(f"input {spec.name!r} must hold integers ({spec.dtype})")
        limits = np.iinfo(spec.dtype)
        if raw.size and (raw.min() < limits.min or raw.max() > limits.max):
            raise BadRequest(f"input {spec.name!r} holds integers outside {spec.dtype}")
        return raw.astype(spec.dtype)
    if kind not in "iuf":
        raise BadRequest(f"input {spec.name!r} must hold numbers ({spec.dtype})")
    with np.errstate(over="ignore"):
        array = raw.astype(spec.dtype)
    # False for NaN, inf, and numbers too large for the dtype (they became inf).
    if not np.isfinite(array).all():
        raise BadRequest(f"input {spec.name!r} must hold finite {spec.dtype} numbers")
    return array


def load(model_path: str, fmt: str, device: str) -> Any:
    if fmt == "onnx":
        import onnxruntime as ort

        providers = ["CPUExecutionProvider"]
        if device == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        return ort.InferenceSession(model_path, providers=providers)
    import torch

    return torch.jit.load(model_path, map_location=device).eval()


def predict(
    model: Any, fmt: str, inputs: dict[str, np.ndarray], signature: Signature, device: str
) -> dict[str, Any]:
    names = [t.name for t in signature.outputs]
    if fmt == "onnx":
        results = model.run(None, inputs)
        own = [o.name for o in model.get_outputs()]
        outputs = name_outputs(list(zip(own, results, strict=True)), names)
    else:
        import torch

        with torch.no_grad():
            result = model(*(torch.from_numpy(inputs[t.name]).to(device) for t in signature.inputs))
        outputs = name_outputs(torch_outputs(result), names)
    return {name: array.tolist() for name, array in outputs.items()}


def default_device(fmt: str) -> str:
    if fmt == "onnx":
        import onnxruntime as ort

        return "cuda" if "CUDAExecutionProvider" in ort.get_available_providers() else "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def create_app(model_path: str, signature: Signature, hoisted: bool = False) -> Flask:
    app = new_app(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    fmt = signature.format
    device = default_device(fmt)
    loaded_once = load(model_path, fmt, device) if hoisted else None

    @app.post("/predict")
    def predict_route() -> Any:
        start = time.time()
        body = json_body()
        if body is None:
            return jsonify(error=NOT_JSON), 400
        try:
            inputs = check_inputs(body, signature)
        except BadRequest as error:
            return jsonify(error=str(error)), 400
        # The anti-pattern under test: every request pays for reading the model from disk.
        model = loaded_once if loaded_once is not None else load(model_path, fmt, device)
        try:
            outputs = predict(model, fmt, inputs, signature, device)
        except Exception as error:  # the model's own failure on these inputs
            logger.exception("predict failed")
            return jsonify(error=f"model failed: {error}"), 500
        rows = len(next(iter(inputs.values())))
        logger.info(f"predict took {(time.time() - start) * 1000:.1f}ms for {rows} rows")
        return jsonify(outputs=outputs)

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Naive Flask endpoint for any model")
    parser.add_argument("--model", required=True, help="TorchScript (.pt) or ONNX (.onnx) file")
    parser.add_argument("--signature", required=True, type=Path, help="infragap signature JSON")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--host", default=LOOPBACK_HOST, help=HOST_HELP)
    parser.add_argument("--hoisted", action="store_true", help="load the model once at start-up")
    args = parser.parse_args(argv)
    signature = read_signature(args.signature)
    serve(create_app(args.model, signature, hoisted=args.hoisted), args.port, args.host)


if __name__ == "__main__":
    main()
