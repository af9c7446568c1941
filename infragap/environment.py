"""Provenance of a run: versions, hardware, git commit, command line."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from infragap.reports.records import GitState, RunMetadata, WriterRecord

DISTRIBUTIONS = (
    "infragap",
    "torch",
    "numpy",
    "flask",
    "locust",
    "nvidia-pytriton",
    "psutil",
    "feast",
    "pandas",
    "pyarrow",
    "scikit-learn",
    "apache-airflow",
)


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def package_versions(names: tuple[str, ...] = DISTRIBUTIONS) -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_name() -> str | None:
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    return str(torch.cuda.get_device_name(0))


def host_info() -> dict[str, Any]:
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cpu_cores_logical": psutil.cpu_count(logical=True),
        "cpu_cores_physical": psutil.cpu_count(logical=False),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_bytes": psutil.virtual_memory().total,
        "gpu": gpu_name(),
    }


def git_state(cwd: Path | None = None) -> GitState:
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def this_writer() -> WriterRecord:
    """This process, as recorded in the results file it writes."""
    return {
        "pid": os.getpid(),
        "process_started": psutil.Process().create_time(),
        "hostname": socket.gethostname(),
    }


def run_metadata(run_id: str, seed: int, config: dict[str, Any]) -> RunMetadata:
    return {
        "id": run_id,
        "started_at": utc_now(),
        "finished_at": None,
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
        "git": git_state(Path(__file__).resolve().parent),
        "versions": package_versions(),
        "host": host_info(),
        "seed": seed,
        "config": config,
        "writer": this_writer(),
    }
