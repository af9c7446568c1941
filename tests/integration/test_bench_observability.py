"""`infragap bench observability` end to end on the tiny model: real Flask apps, Triton,
Prometheus and Locust; every process gone afterwards."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from infragap.reports.schema import load

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("prometheus") is None or shutil.which("promtool") is None,
        reason="Debian's prometheus package is not installed (sudo apt-get install prometheus)",
    ),
]

SMALL = [
    *("--quick", "--model-size", "tiny", "--users", "2", "--duration", "3", "--warmup", "1"),
    *("--max-windows", "0", "--load-processes", "1", "--calibrate", "never"),
]


def bench(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "infragap", "bench", "observability", *SMALL]
    argv += ["--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"), *extra]
    return subprocess.run(argv, capture_output=True, text=True, timeout=600)


def answers(level: dict) -> dict:
    return {item["question"]: item for item in level["answers"]["items"]}


@pytest.fixture(scope="module")
def section(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp_path = tmp_path_factory.mktemp("observability")
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    done = bench(tmp_path, "--observability-variants", "bare,log,otel,triton")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (path,) = (tmp_path / "out").glob("results-*.json")
    left = {p.pid for p in psutil.Process().children(recursive=True)} - before
    assert not left, f"processes left behind: {left}"
    doc = load(path)
    assert doc["complete"] is True
    return doc["suites"]["observability"]


def test_every_variant_ran_and_agreed(section):
    assert section["status"] == "complete"
    assert section["equivalence"]["passed"] is True
    assert list(section["variants"]) == ["bare", "log", "otel", "triton"]
    for variant in section["variants"].values():
        assert variant["levels"][0]["requests"] > 0


def test_log_and_promql_answer_what_they_can(section):
    log = answers(section["variants"]["log"]["levels"][-1])
    assert log["p99_latency"]["value"] > 0 and log["p99_latency"]["bytes_read"] > 0
    assert log["status_share"]["value"] is None
    assert log["status_share"]["note"].startswith("cannot answer")
    otel = answers(section["variants"]["otel"]["levels"][-1])
    assert otel["status_share"]["value"] == {"200": 1.0}
    assert otel["p99_latency"]["value"] > 0 and otel["p99_latency"]["exact"] > 0
    assert otel["request_rate"]["rel_error"] is not None
    triton = answers(section["variants"]["triton"]["levels"][-1])
    assert triton["triton_batch_size"]["value"] >= 1
    assert set(triton["triton_queue_vs_compute"]["value"]) == {"queue_ms", "compute_ms"}
    assert "answers" not in section["variants"]["bare"]["levels"][-1]


def test_fidelity_compares_the_default_layouts_with_the_slo_one(section):
    layouts = section["fidelity"]["layouts"]
    assert set(layouts) == {"otel", "prometheus-client", "slo"}
    assert section["fidelity"]["samples"] > 0
    assert 100.0 in layouts["slo"]["bounds"]


def test_the_slo_alert_fires_on_the_slowed_app(section):
    alerting = section["alerting"]
    assert alerting["jobs"]["slowed"]["fired"] is True
    assert alerting["slowed"]["p99_ms"] > alerting["slo_ms"]
    assert alerting["naive"].startswith("cannot alert")


def test_costs_dashboards_and_console_are_recorded(section):
    assert section["observation_cost"]["log-line"]["ns_per_observation"] > 0
    artifacts = section["artifacts"]
    assert artifacts["console"]["status"] == 200
    assert Path(artifacts["alert_rules"]).is_file()
    assert set(artifacts["grafana_dashboards"]) == {"otel"}


def test_missing_prometheus_fails_the_suite_with_the_install_command(tmp_path, monkeypatch):
    bare_path = tmp_path / "bin"
    bare_path.mkdir()
    (bare_path / "python").symlink_to(sys.executable)
    monkeypatch.setenv("PATH", str(bare_path))
    done = bench(tmp_path, "--observability-variants", "bare")
    assert done.returncode != 0
    (path,) = (tmp_path / "out").glob("results-*.json")
    section = load(path)["suites"]["observability"]
    assert section["status"] == "failed"
    assert "apt-get install prometheus" in section["error"]
