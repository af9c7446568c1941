"""Two example models of our own making, to try `infragap bench serving --model` on
something other than the built-in ranking MLP: a small CNN image classifier saved as
TorchScript (with the --model-spec it needs, since TorchScript does not carry its
signature), and a small transformer-encoder text classifier exported to ONNX.

Weights are random but seeded: the same size and seed give the same model.

    python -m infragap.workloads.own_model.examples --out DIR [--size tiny|default] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infragap.errors import ConfigError

CNN_FILE = "cnn_classifier.pt"
CNN_SPEC_FILE = "cnn_classifier.spec.json"
ENCODER_FILE = "text_encoder.onnx"
CLASSES = 10
VOCAB = 1000


@dataclass(frozen=True)
class CnnSize:
    image: int
    channels: tuple[int, ...]


@dataclass(frozen=True)
class EncoderSize:
    d_model: int
    heads: int
    layers: int
    seq: int
    ffn: int


CNN_SIZES = {
    "tiny": CnnSize(image=16, channels=(4, 8)),
    "default": CnnSize(image=32, channels=(16, 32, 64)),
}
ENCODER_SIZES = {
    "tiny": EncoderSize(d_model=32, heads=2, layers=1, seq=16, ffn=64),
    "default": EncoderSize(d_model=128, heads=4, layers=2, seq=64, ffn=256),
}


def _pick(sizes: dict[str, Any], size: str) -> Any:
    if size not in sizes:
        raise ConfigError(f"example size {size!r} is not one of {', '.join(sizes)}")
    return sizes[size]


def cnn_spec(size: str) -> dict[str, Any]:
    """The --model-spec of the CNN example (pure)."""
    image = _pick(CNN_SIZES, size).image
    return {
        "inputs": [
            {
                "name": "image",
                "dtype": "float32",
                "shape": ["batch", 3, image, image],
                "range": [0, 1],
            }
        ],
        "outputs": [{"name": "logits", "dtype": "float32", "shape": ["batch", CLASSES]}],
    }


def make_cnn(dest_dir: Path, size: str = "default", seed: int = 0) -> tuple[Path, Path]:
    """Write the CNN as TorchScript and its spec beside it; returns (model, spec)."""
    import torch

    shape = _pick(CNN_SIZES, size)
    dest_dir.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _cnn(shape).eval()
    model_path = dest_dir / CNN_FILE
    torch.jit.script(model).save(str(model_path))
    spec_path = dest_dir / CNN_SPEC_FILE
    spec_path.write_text(json.dumps(cnn_spec(size), indent=1), encoding="utf-8")
    return model_path, spec_path


def _cnn(shape: CnnSize) -> Any:
    from torch import nn

    layers: list[nn.Module] = []
    before = 3
    for channels in shape.channels:
        layers += [nn.Conv2d(before, channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        before = channels
    side = shape.image // 2 ** len(shape.channels)
    layers += [nn.Flatten(), nn.Linear(before * side * side, CLASSES)]
    return nn.Sequential(*layers)


def make_encoder(dest_dir: Path, size: str = "default", seed: int = 0) -> Path:
    """Write the text classifier as ONNX: input `input_ids` int64 [batch, seq] (ids in
    [0, 1000)), output `logits` float32 [batch, 10]; the batch dimension is dynamic."""
    import torch

    shape = _pick(ENCODER_SIZES, size)
    dest_dir.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _encoder(shape).eval()
    example = torch.zeros((2, shape.seq), dtype=torch.int64)
    path = dest_dir / ENCODER_FILE
    batch = torch.export.Dim("batch", min=1, max=4096)
    with warnings.catch_warnings():
        # torch's exporter trips a FutureWarning of its own pytree code (torch 2.13).
        warnings.simplefilter("ignore", FutureWarning)
        torch.onnx.export(
            model,
            (example,),
            str(path),
            dynamo=True,
            input_names=["input_ids"],
            output_names=["logits"],
            dynamic_shapes={"input_ids": {0: batch}},
            external_data=False,
            verbose=False,
        )
    return path


def _encoder(shape: EncoderSize) -> Any:
    import torch
    from torch import nn

    class TextClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tokens = nn.Embedding(VOCAB, shape.d_model)
            self.positions = nn.Parameter(torch.randn(shape.seq, shape.d_model) * 0.02)
            layer = nn.TransformerEncoderLayer(
                shape.d_model, shape.heads, shape.ffn, dropout=0.0, batch_first=True
            )
            # The nested-tensor fast path is for padded batches in eager mode; export
            # needs the plain one.
            self.encoder = nn.TransformerEncoder(layer, shape.layers, enable_nested_tensor=False)
            self.head = nn.Linear(shape.d_model, CLASSES)

        def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
            hidden = self.encoder(self.tokens(input_ids) + self.positions)
            return self.head(hidden.mean(dim=1))

    return TextClassifier()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the example models")
    parser.add_argument("--out", type=Path, required=True, help="folder to write them to")
    parser.add_argument("--size", choices=sorted(CNN_SIZES), default="default")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    model, spec = make_cnn(args.out, args.size, args.seed)
    encoder = make_encoder(args.out, args.size, args.seed)
    print(f"CNN (TorchScript): {model}\n  its --model-spec: {spec}")
    print(f"text encoder (ONNX): {encoder}")


if __name__ == "__main__":
    main()
