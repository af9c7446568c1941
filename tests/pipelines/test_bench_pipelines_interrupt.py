"""`infragap bench pipelines`, interrupted mid-run: runs so far are kept, no child survives."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from infragap.reports.schema import load

pytestmark = pytest.mark.integration


def _tree(pid: int) -> set[int]:
    try:
        return {p.pid for p in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _airflow_runs(out: Path) -> int:
    for path in out.glob("results-*.json"):
        with contextlib.suppress(ValueError, KeyError, OSError):
            doc = json.loads(path.read_text())
            sides = doc["suites"]["pipelines"]["scenarios"]["clean"]["sides"]
            return len(sides["airflow"]["runs"])
    return 0


def test_interrupt_keeps_recorded_runs_and_stops_every_child(tmp_path):
    pytest.importorskip("airflow")
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infragap",
            "bench",
            "pipelines",
            "--quick",
            "--pipelines-data-size",
            "tiny",
            "--pipelines-retry-delay",
            "0",
            "--out",
            str(out),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--no-report",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: set[int] = set()
    deadline = time.monotonic() + 300
    try:
        # Interrupt once Airflow has recorded a run and its dag.test() child is still going.
        while time.monotonic() < deadline and proc.poll() is None:
            seen |= _tree(proc.pid)
            if _airflow_runs(out) >= 1:
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        seen |= _tree(proc.pid)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    time.sleep(0.5)
    assert [pid for pid in seen if _alive(pid)] == []
    (path,) = out.glob("results-*.json")
    doc = load(path)
    section = doc["suites"]["pipelines"]
    assert doc["complete"] is False and section["status"] == "incomplete"
    assert section["fixed_cost"]["migrate_s"] > 0
    clean = section["scenarios"]["clean"]["sides"]
    assert [r["state"] for r in clean["naive"]["runs"]] == ["success", "success"]
    assert clean["airflow"]["runs"][0]["state"] == "success"
    assert {a["step"] for a in clean["airflow"]["attempts"]} == {
        "extract",
        "preprocess",
        "train",
        "evaluate",
    }
