"""Shared fixtures: a tiny seeded model and a no-leftover-process check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from infragap.workloads.model_sizes import model_size
from infragap.workloads.recsys import ensure_model_file

SEED = 7


@pytest.fixture(scope="session")
def tiny_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    return ensure_model_file(model_size("tiny"), SEED, tmp_path_factory.mktemp("models"))


def descendants() -> set[int]:
    """Live descendants of this test process (zombies excluded)."""
    alive = set()
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                alive.add(proc.pid)
        except psutil.Error:
            pass
    return alive


@pytest.fixture
def live_descendants() -> Callable[[], set[int]]:
    """descendants(), for tests that check no process they started is left behind."""
    return descendants
