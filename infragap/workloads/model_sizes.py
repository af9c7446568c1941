"""Shapes of the ranking model (pure data: importing this never imports torch).

`tiny` for tests, `small` for --quick, `default` for real runs: about 100 MB of weights,
so reloading it per request costs what it costs in practice, and an MLP whose forward
pass takes a measurable fraction of a millisecond on one CPU core, so batching matters.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from infragap.errors import ConfigError

INPUT_NAMES = ("user_id", "item_id", "dense")
OUTPUT_NAME = "score"
MODEL_FORMAT = 2  # bump when the architecture changes, so cached model files are rebuilt


@dataclass(frozen=True)
class ModelSize:
    """The shape of a ranking model; `dense_dim` is the number of dense features per row."""

    name: str
    n_users: int
    n_items: int
    embed_dim: int
    dense_dim: int
    hidden: tuple[int, ...]

    def weight_bytes(self) -> int:
        params = (self.n_users + self.n_items) * self.embed_dim
        width = 2 * self.embed_dim + self.dense_dim
        for out in self.hidden:
            params += width * out + out
            width = out
        params += width + 1
        return params * 4


MODEL_SIZES = {
    size.name: size
    for size in (
        ModelSize("tiny", 1_000, 1_000, 8, 8, (32, 16)),
        ModelSize("small", 20_000, 20_000, 32, 16, (256, 128)),
        ModelSize("default", 200_000, 200_000, 64, 16, (1024, 1024, 512)),
    )
}


def model_size(name: str) -> ModelSize:
    try:
        return MODEL_SIZES[name]
    except KeyError:
        raise ConfigError(
            f"unknown model size {name!r}: choose one of {', '.join(MODEL_SIZES)}"
        ) from None


def model_id(size: ModelSize, seed: int) -> str:
    digest = hashlib.sha256(json.dumps([asdict(size), seed, MODEL_FORMAT]).encode()).hexdigest()[
        :12
    ]
    return f"ranker-{size.name}-{digest}"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "infragap" / "models"
