"""A ranking model like the classic e-commerce recommender: user and item embeddings
plus dense features into an MLP, scored as a click probability.

Weights are seeded, the model is saved as TorchScript, and nothing is downloaded. Its
shapes come from infragap.workloads.model_sizes.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from infragap.errors import MissingDependency
from infragap.workloads.model_sizes import ModelSize, model_id

try:
    import torch
except ImportError:  # the serving extra is optional; callers get MissingDependency
    torch = None  # type: ignore[assignment]


def _require_torch() -> None:
    if torch is None:
        raise MissingDependency("PyTorch", "serving")


def build_model(size: ModelSize, seed: int) -> torch.nn.Module:
    """A seeded, scripted ranking model in eval mode."""
    _require_torch()
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


def ensure_model_file(size: ModelSize, seed: int, cache_dir: Path) -> Path:
    """Build and save the TorchScript model once per (size, seed); reuse it afterwards."""
    path = cache_dir / f"{model_id(size, seed)}.pt"
    if path.exists():
        return path
    _require_torch()
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
