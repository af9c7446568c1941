"""The tiny example models, built once per session (the ONNX export takes seconds)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from infragap.workloads.own_model.signature import Signature, TensorSpec, parse_spec_file

SEED = 3


@dataclass(frozen=True)
class Examples:
    cnn: Path
    cnn_spec: Path
    encoder: Path

    @property
    def cnn_signature(self) -> Signature:
        return parse_spec_file(self.cnn_spec, "torchscript")

    @property
    def encoder_signature(self) -> Signature:
        from infragap.workloads.own_model.examples import ENCODER_SIZES

        seq = ENCODER_SIZES["tiny"].seq
        return Signature(
            "onnx",
            (TensorSpec("input_ids", "int64", (seq,), (0, 1000)),),
            (TensorSpec("logits", "float32", (10,)),),
        )


@pytest.fixture(scope="session")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Examples:
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from infragap.workloads.own_model.examples import make_cnn, make_encoder

    folder = tmp_path_factory.mktemp("own_models")
    cnn, spec = make_cnn(folder, "tiny", SEED)
    return Examples(cnn, spec, make_encoder(folder, "tiny", SEED))
