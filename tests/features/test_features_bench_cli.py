"""`infragap bench features` end to end on the tiny data set, and Ctrl-C halfway."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from infragap.reports.schema import load

pytestmark = pytest.mark.integration

TINY = [
    "--quick",
    "--features-data-size",
    "tiny",
    "--users",
    "1",
    "--duration",
    "1",
    "--warmup",
    "0",
]


def bench(tmp_path: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "infragap",
        "bench",
        "features",
        *TINY,
        "--out",
        str(tmp_path / "out"),
        "--no-report",
        *extra,
    ]


def ours(tmp_path: Path) -> list[int]:
    """Live processes whose command line or working folder is under tmp_path."""
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd", "status"]):
        with contextlib.suppress(psutil.Error):
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            text = " ".join(proc.info["cmdline"] or []) + " " + (proc.info["cwd"] or "")
            if str(tmp_path) in text:
                found.append(proc.pid)
    return found


def test_bench_features_writes_a_complete_results_file(tmp_path):
    done = subprocess.run(bench(tmp_path), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = (tmp_path / "out").glob("results-*.json")
    doc = load(path)
    assert doc["complete"] is True
    features = doc["suites"]["features"]
    assert features["status"] == "complete"
    # A busy 2-core machine may saturate the load generator, and levels of a second or two
    # need not settle; any other warning is a fault.
    tolerated = ("load generator", "not in steady state")
    assert [w for w in features["warnings"] if not any(t in w for t in tolerated)] == []
    assert features["skew"]["feast"]["values_differ"] == 0
    assert features["leakage"]["feast"]["leaked_rows"] == 0
    assert features["consistency"]["passed"] and features["oracle"]["passed"]
    for name in ("naive", "feast"):
        (level,) = features["variants"][name]["levels"]
        assert level["requests"] > 0 and level["failures"] == 0
    assert features["setup"]["feast"]["apply_s"] > 0
    assert features["lookups"]["feast-sdk"]["calls"] >= 5
    assert "feast" in done.stderr  # the summary table
    assert ours(tmp_path) == []


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="Debian's redis-server missing")
def test_bench_features_on_a_real_redis_online_store(tmp_path):
    pytest.importorskip("redis")
    done = subprocess.run(
        bench(tmp_path, "--online-store", "redis"), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = (tmp_path / "out").glob("results-*.json")
    features = load(path)["suites"]["features"]
    assert features["status"] == "complete"
    assert features["consistency"]["passed"]
    assert features["variants"]["feast"]["levels"][0]["requests"] > 0
    (run_dir,) = (tmp_path / "out").glob("run-*")
    assert "type: redis" in (run_dir / "features/feature_repo/feature_store.yaml").read_text()
    assert (run_dir / "features/logs/redis-server.log").exists()
    assert ours(tmp_path) == []


def test_ctrl_c_stops_every_child_and_keeps_results(tmp_path):
    proc = subprocess.Popen(
        bench(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 240
    try:
        # Interrupt once `feast serve` runs (a child of ours with "serve" in its command).
        while time.monotonic() < deadline and proc.poll() is None:
            children = psutil.Process(proc.pid).children(recursive=True)
            with contextlib.suppress(psutil.Error):
                if any("serve" in child.cmdline() for child in children):
                    break
            time.sleep(0.2)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    time.sleep(0.5)
    assert ours(tmp_path) == []
    (path,) = (tmp_path / "out").glob("results-*.json")
    doc = load(path)
    assert doc["complete"] is False
    features = doc["suites"]["features"]
    assert features["status"] == "incomplete"
    assert features["setup"]["feast"]["apply_s"] > 0
