"""Helpers for the pipelines tests: run the script, inspect a date's outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from infragap.naive.pipeline import RUN_SCRIPT


def write_schedule(path: Path, fail: dict[str, dict[str, list[int]]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"fail": fail}))
    return path


def run_script(
    dates: Sequence[str], raw_dir: Path, work_dir: Path, faults_file: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
    env.update({"PYTHON": sys.executable, "RAW_DIR": str(raw_dir), "WORK_DIR": str(work_dir)})
    if faults_file is not None:
        env["PIPELINE_FAULTS"] = str(faults_file)
    return subprocess.run(
        ["bash", str(RUN_SCRIPT), *dates],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def outputs(work_dir: Path, day: str) -> dict[str, bool]:
    """Which of a date's step outputs exist."""
    return {
        "extract": (work_dir / "extracted" / f"date={day}" / "events.parquet").exists(),
        "preprocess": (work_dir / "features" / f"date={day}" / "features.parquet").exists(),
        "train": (work_dir / "models" / f"date={day}" / "model.pkl").exists(),
        "evaluate": (work_dir / "metrics" / f"date={day}" / "metrics.json").exists(),
    }


def leftovers(work_dir: Path) -> list[Path]:
    """Temporary files a step left behind (an atomic write never does)."""
    return [p for p in work_dir.rglob("*") if p.name.endswith(".tmp")]


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
