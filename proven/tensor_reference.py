"""The reference runner: a user's model run in a process of its own, so the harness
never loads it. It answers the first requests (what every variant must agree with), the
outputs' names, dtypes and shapes as observed, and the in-process ceiling: the model's
throughput on batches of B rows with no server in the way.

    python -m infragap.proven.tensor_reference --model P --signature S.json \\
        --requests R.json --count N --out O.json \\
        [--ceiling-rows B --ceiling-seconds S --threads T --device auto|cpu|cuda]

Errors exit with status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from infragap.atomic import write_json_atomically
from infragap.errors import InfragapError
from infragap.suites.serving.measure import sample_rate
from infragap.workloads.own_model.runtime import ModelRunError, Runner, load_model
from infragap.workloads.own_model.signature import (
    TRITON_TYPES,
    Signature,
    TensorSpec,
    read_signature,
)

WARM_UP_CALLS = 3
EXIT_ERROR = 2


def as_arrays(request: Mapping[str, Any], signature: Signature) -> dict[str, np.ndarray]:
    """One request's inputs as arrays of the signature's dtypes, in its order."""
    missing = [t.name for t in signature.inputs if t.name not in request]
    if missing:
        raise ModelRunError(f"a request lacks input(s) {', '.join(missing)}")
    return {t.name: np.asarray(request[t.name], dtype=t.dtype) for t in signature.inputs}


def ceiling_batch(
    requests: Sequence[Mapping[str, Any]], signature: Signature, rows: int
) -> dict[str, np.ndarray]:
    """`rows` rows taken from the requests in order, repeated when they hold fewer."""
    if not requests:
        raise ModelRunError("no requests to build a ceiling batch from")
    parts: list[dict[str, np.ndarray]] = []
    have = 0
    while have < rows:
        for request in requests:
            arrays = as_arrays(request, signature)
            parts.append(arrays)
            have += len(next(iter(arrays.values())))
            if have >= rows:
                break
    return {t.name: np.concatenate([p[t.name] for p in parts])[:rows] for t in signature.inputs}


def observed_specs(answers: Sequence[Mapping[str, np.ndarray]]) -> list[TensorSpec]:
    """Each output's dtype and per-row dims as the answers show them; a dimension that
    differs between answers is variable ("?")."""
    specs = []
    for name, first in answers[0].items():
        dtype = str(first.dtype)
        if dtype not in TRITON_TYPES or first.ndim == 0:
            raise ModelRunError(
                f"output {name!r} is {dtype} of shape {list(first.shape)}: infragap serves "
                f"outputs of {', '.join(TRITON_TYPES)} with the batch dimension first"
            )
        dims: list[int | str] = list(first.shape[1:])
        for answer in answers[1:]:
            shape = answer[name].shape[1:]
            if len(shape) != len(dims):
                raise ModelRunError(f"output {name!r} changes its number of dimensions")
            dims = [d if d == s else "?" for d, s in zip(dims, shape, strict=True)]
        specs.append(TensorSpec(name, dtype, tuple(dims)))
    return specs


def measure_ceiling(run: Runner, batch: dict[str, np.ndarray], seconds: float) -> dict[str, Any]:
    """Rows per second of `run` on `batch`, the median of several short samples after a
    warm-up (as the built-in model's in_process_ceiling does)."""
    rows = len(next(iter(batch.values())))
    for _ in range(WARM_UP_CALLS):
        run(batch)
    # Outputs come back as numpy arrays: the device is waited for.
    return {"rows": rows, **sample_rate(lambda: run(batch), rows, seconds)}


def resolve_device(device: str, fmt: str) -> str:
    if device != "auto":
        return device
    if fmt == "onnx":
        import onnxruntime as ort

        return "cuda" if "CUDAExecutionProvider" in ort.get_available_providers() else "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def effective_threads(threads: int | None, fmt: str) -> int | None:
    """The intra-op threads the runtime uses: as given, torch's own count, or None for
    onnxruntime's default (one per physical core)."""
    if threads is not None or fmt == "onnx":
        return threads
    import torch

    return int(torch.get_num_threads())


def reference(args: argparse.Namespace) -> dict[str, Any]:
    signature = read_signature(args.signature)
    payload = json.loads(args.requests.read_text(encoding="utf-8"))
    requests = payload["requests"]
    device = resolve_device(args.device, signature.format)
    run = load_model(args.model, signature.format, args.threads, signature=signature, device=device)
    answers = [run(as_arrays(r, signature)) for r in requests[: max(args.count, 1)]]
    specs = observed_specs(answers) if answers else []
    ceiling = None
    if args.ceiling_rows:
        batch = ceiling_batch(requests, signature, args.ceiling_rows)
        ceiling = measure_ceiling(run, batch, args.ceiling_seconds)
        ceiling["threads"] = effective_threads(args.threads, signature.format)
        ceiling["device"] = device
    return {
        "outputs": [
            {name: array.tolist() for name, array in answer.items()}
            for answer in answers[: args.count]
        ],
        "output_specs": [spec.to_json() for spec in specs],
        "ceiling": ceiling,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run a model in-process: answers and ceiling")
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--signature", type=Path, required=True)
    parser.add_argument("--requests", type=Path, required=True)
    parser.add_argument("--count", type=int, default=1, help="requests to answer")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--ceiling-rows", type=int, default=0, help="batch rows; 0: no ceiling")
    parser.add_argument("--ceiling-seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        write_json_atomically(args.out, reference(args))
    except (InfragapError, OSError, ValueError, KeyError, TypeError) as exc:
        message = str(exc) if isinstance(exc, InfragapError) else f"{type(exc).__name__}: {exc}"
        print(" ".join(message.split()) or type(exc).__name__, file=sys.stderr)
        return EXIT_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
