"""A ranking model like the classic e-commerce recommender: user and item embeddings
plus dense features into an MLP, scored as a click probability.

Weights are seeded, the model is saved as TorchScript, and nothing is downloaded. The
size is a parameter: `tiny` for tests, `small` for --quick, `default` for real runs
(about 100 MB of weights, so reloading it per request costs what it costs in practice).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from infragap.errors import ConfigError, MissingDependency

if TYPE_CHECKING:
    import torch

INPUT_NAMES = ("user_id", "item_id", "dense")
MODEL_FORMAT = 2  # bump when the architecture changes, so cached model files are rebuilt
OUTPUT_NAME = "score"


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


def _torch() -> torch:  # type: ignore[valid-type]
    try:
        import torch
    except ImportError:
        raise MissingDependency("PyTorch", "serving") from None
    return torch


def build_model(size: ModelSize, seed: int) -> torch.nn.Module:
    """A seeded, scripted ranking model in eval mode."""
    torch = _torch()
    nn = torch.nn

    class Ranker(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            # Kept on the scripted module so servers can validate requests without a config.
            self.n_users = size.n_users
            self.n_items = size.n_items
            self.dense_dim = size.dense_dim
            self.user_embedding = nn.Embedding(size.n_users, size.embed_dim)
            self.item_embedding = nn.Embedding(size.n_items, size.embed_dim)
            layers: list[nn.Module] = []
            width = 2 * size.embed_dim + size.dense_dim
            for out in size.hidden:
                layers += [nn.Linear(width, out), nn.ReLU()]
                width = out
            layers.append(nn.Linear(width, 1))
            self.mlp = nn.Sequential(*layers)

        def forward(
            self, user_id: torch.Tensor, item_id: torch.Tensor, dense: torch.Tensor
        ) -> torch.Tensor:
            users = self.user_embedding(user_id.reshape(-1))
            items = self.item_embedding(item_id.reshape(-1))
            features = torch.cat([users, items, dense], dim=1)
            return torch.sigmoid(self.mlp(features))

    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = Ranker()
        with torch.no_grad():
            # Small embeddings keep the logits away from saturation, so outputs differ.
            model.user_embedding.weight.mul_(0.1)
            model.item_embedding.weight.mul_(0.1)
    finally:
        torch.random.set_rng_state(generator_state)
    return torch.jit.script(model.eval())


def model_id(size: ModelSize, seed: int) -> str:
    digest = hashlib.sha256(json.dumps([asdict(size), seed, MODEL_FORMAT]).encode()).hexdigest()[:12]
    return f"ranker-{size.name}-{digest}"


def ensure_model_file(size: ModelSize, seed: int, cache_dir: Path) -> Path:
    """Build and save the TorchScript model once per (size, seed); reuse it afterwards."""
    path = cache_dir / f"{model_id(size, seed)}.pt"
    if path.exists():
        return path
    torch = _torch()
    cache_dir.mkdir(parents=True, exist_ok=True)
    model = build_model(size, seed)
    fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".pt.tmp")
    os.close(fd)
    try:
        torch.jit.save(model, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "infragap" / "models"
