"""Fixtures for the pipelines pair: tiny seeded raw events and a way to run the script."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SEED = 11
DAY_COUNT = 6


@pytest.fixture(scope="session")
def days() -> list[str]:
    from infragap.workloads.pipeline_data import FIRST_DAY, days_from

    return [d.isoformat() for d in days_from(FIRST_DAY, DAY_COUNT)]


@pytest.fixture(scope="session")
def raw_cache(tmp_path_factory: pytest.TempPathFactory, days: list[str]) -> Path:
    pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    from datetime import date

    from infragap.workloads.pipeline_data import PIPELINE_DATA_SIZES, write_raw_events

    root = tmp_path_factory.mktemp("raw-cache")
    write_raw_events(root, [date.fromisoformat(d) for d in days], SEED, PIPELINE_DATA_SIZES["tiny"])
    return root


@pytest.fixture
def raw_dir(tmp_path: Path, raw_cache: Path) -> Path:
    """A private copy of the raw events, free to damage."""
    return Path(shutil.copytree(raw_cache, tmp_path / "raw"))
