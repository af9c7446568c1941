"""Where a model's signature comes from: the ONNX graph, a --model-spec file (a spec or a
sample request), or the config.pbtxt a migration generated, completed by each other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infragap.workloads.own_model.signature import (
    SAMPLE_EXAMPLE,
    SPEC_EXAMPLE,
    Signature,
    SignatureError,
    check_complete,
    merge,
    parse_spec_file,
)


def model_signature(config: dict[str, Any]) -> Signature:
    own = config["own_model"]
    model = Path(own["model"])
    spec_file = Path(own["model_spec"]) if own["model_spec"] else None
    base: Signature | None = None
    if config.get("before_after"):
        from infragap.suites.serving.before_after import generated_signature

        base = generated_signature(Path(config["before_after"]["config_pbtxt"]), own["format"])
    elif own["format"] == "onnx":
        from infragap.workloads.own_model.onnx_inputs import onnx_signature

        base = onnx_signature(model)
    spec = parse_spec_file(spec_file, own["format"]) if spec_file else None
    if base is None and spec is None:
        raise SignatureError(
            f"{model.name} is TorchScript, which does not carry its input names, types or "
            f"shapes: give them with --model-spec FILE, a spec such as {SPEC_EXAMPLE} (the "
            f'batch dimension marked "batch") or a sample request such as {SAMPLE_EXAMPLE}'
        )
    if base is None:
        assert spec is not None
        signature = spec
    else:
        signature = merge(base, spec) if spec else base
    own["signature_from"] = signature.source
    return check_complete(signature, model)
