"""`infragap bench serving` end to end on the tiny model: real Flask, Triton and Locust."""

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

QUICK = ["--quick", "--model-size", "tiny", "--users", "1,4", "--duration", "3", "--warmup", "1"]


def bench(tmp_path: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "infragap",
        "bench",
        "serving",
        *QUICK,
        "--out",
        str(tmp_path / "out"),
        "--cache-dir",
        str(tmp_path / "cache"),
        *extra,
    ]


def results_file(tmp_path: Path) -> Path:
    (path,) = (tmp_path / "out").glob("results-*.json")
    return path


def test_bench_writes_a_complete_results_file(tmp_path):
    # Tuning on, two knobs fixed: the search measures the queue delay alone (3 trials).
    tuning = ["--triton-tuning", "--triton-instances", "1", "--triton-threads", "1"]
    done = subprocess.run(bench(tmp_path, *tuning), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    doc = load(results_file(tmp_path))
    assert doc["complete"] is True
    run = doc["run"]
    assert run["versions"]["torch"] and run["versions"]["nvidia-pytriton"]
    assert run["host"]["cpu_cores_logical"] >= 1
    serving = doc["suites"]["serving"]
    assert serving["status"] == "complete"
    assert serving["equivalence"]["passed"] is True
    assert set(serving["variants"]) == {
        "naive-reload",
        "naive-hoisted",
        "naive-batched",
        "triton",
        "triton-json",
    }
    tuned = serving["triton_tuning"]
    assert tuned["fixed"] == ["instances", "torch_threads"]
    assert [t["options"]["queue_delay_us"] for t in tuned["trials"]] == [500, 0, 2000]
    assert all(t["options"]["instances"] == 1 and t["requests"] > 0 for t in tuned["trials"])
    assert serving["config"]["triton"]["queue_delay_us"] == tuned["chosen"]["queue_delay_us"]
    isolation = serving["isolation"]
    for name in ("naive-hoisted", "triton"):  # each request checked on its own
        assert isolation[name]["bad_statuses"] == {"400": isolation[name]["rounds"]}, name
        assert isolation[name]["good_failed"] == 0, name
    assert set(isolation["naive-batched"]["bad_statuses"]) == {"500"}  # the model raised
    for name, variant in serving["variants"].items():
        assert [level["users"] for level in variant["levels"]] == [1, 4], name
        for level in variant["levels"]:
            assert level["requests"] > 0, (name, level["users"])
            assert level["requests"] == len(level["latencies_ms"])
            assert level["latency_ms"]["p50"] <= level["latency_ms"]["p99"]
            assert level["server"]["cpu_s"] > 0
    top = serving["variants"]["triton"]["levels"][-1]["triton"]
    assert top["mean_batch_size"] >= 1
    assert serving["ceiling"]["rows_per_s"] > 0
    assert "triton" in done.stderr  # the summary table


def _tree(pid: int) -> set[int]:
    try:
        return {p.pid for p in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def test_interrupted_run_stops_every_child_and_keeps_results(tmp_path):
    proc = subprocess.Popen(
        bench(tmp_path, "--variants", "naive-hoisted,triton"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: set[int] = set()
    deadline = time.monotonic() + 600
    try:
        # Interrupt once load is running: a locust child exists and one level is saved.
        while time.monotonic() < deadline and proc.poll() is None:
            seen |= _tree(proc.pid)
            names = set()
            for pid in seen:
                with contextlib.suppress(psutil.Error):
                    names.add(" ".join(psutil.Process(pid).cmdline()))
            paths = list((tmp_path / "out").glob("results-*.json"))
            levels = 0
            if paths:
                try:
                    doc = json.loads(paths[0].read_text())
                    variants = doc["suites"]["serving"].get("variants", {})
                    levels = sum(len(v["levels"]) for v in variants.values())
                except (ValueError, KeyError):
                    pass
            if levels >= 1 and any("locust" in n for n in names):
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    # A child killed as infragap exits may take a moment to be reaped by init on a busy
    # machine; one still running after that is a leak, named with its command line.
    deadline = time.monotonic() + 5.0
    while (survivors := [pid for pid in seen if _alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not survivors, [_cmdline(pid) for pid in survivors]
    doc = load(results_file(tmp_path))
    assert doc["complete"] is False
    assert doc["suites"]["serving"]["status"] == "incomplete"
    assert sum(len(v["levels"]) for v in doc["suites"]["serving"]["variants"].values()) >= 1


def _cmdline(pid: int) -> str:
    try:
        return " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return f"pid {pid} (gone)"


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
