"""The example models: seeded, the shapes their signatures promise, readable as signed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from infragap.errors import ConfigError
from infragap.workloads.own_model import examples as examples_module
from infragap.workloads.own_model.examples import cnn_spec, make_cnn
from infragap.workloads.own_model.runtime import load_model


def test_cnn_spec_is_a_valid_model_spec(examples) -> None:
    signature = examples.cnn_signature
    assert [(t.name, t.dtype, t.dims) for t in signature.inputs] == [
        ("image", "float32", (3, 16, 16))
    ]
    assert [(t.name, t.dims) for t in signature.outputs] == [("logits", (10,))]
    assert cnn_spec("default")["inputs"][0]["shape"] == ["batch", 3, 32, 32]


def test_the_cnn_is_seeded(examples, tmp_path: Path) -> None:
    again, _ = make_cnn(tmp_path / "again", "tiny", 3)
    other, _ = make_cnn(tmp_path / "other", "tiny", 4)
    image = np.random.default_rng(0).random((2, 3, 16, 16), dtype=np.float32)
    outs = [
        load_model(p, "torchscript")({"image": image})["output_0"]
        for p in (examples.cnn, again, other)
    ]
    assert outs[0].shape == (2, 10)
    np.testing.assert_array_equal(outs[0], outs[1])
    assert not np.allclose(outs[0], outs[2])


def test_the_encoder_takes_any_batch_size(examples) -> None:
    run = load_model(examples.encoder, "onnx", 1)
    for rows in (1, 5):
        ids = np.random.default_rng(rows).integers(0, 1000, (rows, 16))
        out = run({"input_ids": ids})
        assert list(out) == ["logits"] and out["logits"].shape == (rows, 10)
        assert np.isfinite(out["logits"]).all()


def test_the_encoder_signature_reads_from_the_file(examples) -> None:
    pytest.importorskip("onnx")
    from infragap.workloads.own_model.onnx_inputs import onnx_signature

    signature = onnx_signature(examples.encoder)
    assert [(t.name, t.dtype, t.dims) for t in signature.inputs] == [("input_ids", "int64", (16,))]
    assert [t.name for t in signature.outputs] == ["logits"]


def test_an_unknown_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="tiny, default"):
        make_cnn(tmp_path, "huge", 0)


def test_cli_writes_both_and_prints_the_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The ONNX export is the session fixture's; here only the CLI's wiring runs.
    calls = []

    def fake_encoder(dest: Path, size: str, seed: int) -> Path:
        calls.append((size, seed))
        return dest / examples_module.ENCODER_FILE

    monkeypatch.setattr(examples_module, "make_encoder", fake_encoder)
    examples_module.main(["--out", str(tmp_path), "--size", "tiny", "--seed", "5"])
    printed = capsys.readouterr().out
    assert calls == [("tiny", 5)]
    for name in (examples_module.CNN_FILE, examples_module.CNN_SPEC_FILE):
        assert (tmp_path / name).is_file() and str(tmp_path / name) in printed
    assert examples_module.ENCODER_FILE in printed
