"""`infragap bench scaling` end to end on the tiny model: real Flask and Triton start-up
times, the load engine's SLO search per replica, manifests validated offline, and the
capacity plan (a model) built from those measured figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from infragap.reports.schema import load

pytestmark = pytest.mark.integration

SMALL = [
    *("--quick", "--model-size", "tiny", "--slo", "p99=50ms", "--slo-trials", "3"),
    *("--duration", "2", "--warmup", "1", "--max-windows", "0", "--load-processes", "1"),
]


@pytest.fixture(scope="module")
def section(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp_path = tmp_path_factory.mktemp("scaling")
    argv = [sys.executable, "-m", "infragap", "bench", "scaling", *SMALL]
    argv += ["--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (path,) = (tmp_path / "out").glob("results-*.json")
    doc = load(path)
    assert doc["complete"] is True
    return doc["suites"]["scaling"]


def test_start_up_and_capacity_are_measured_per_variant(section):
    assert section["status"] == "complete"
    assert set(section["startup"]) == {"naive-hoisted", "triton"}
    assert all(record["median_s"] > 0 for record in section["startup"].values())
    triton = section["per_replica"]["triton"]
    assert triton["capacity_rps"] > 0 and triton["cpu_cores"] > 0 and triton["rss_mib"] > 0
    assert section["variants"]["triton"]["capacity"]["trials"]


def test_manifests_are_valid_and_sized_from_the_measurement(section):
    manifests = section["manifests"]
    assert manifests["problems"] == []
    path = Path(manifests["files"]["triton"]["serving"])
    documents = list(yaml.safe_load_all(path.read_text()))
    assert [d["kind"] for d in documents] == [
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
    ]
    container = documents[0]["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["requests"]["cpu"]  # from the measured cores
    assert Path(manifests["files"]["train"]["job"]).is_file()


def test_the_plan_is_a_model_built_from_the_measured_inputs(section):
    plan = section["plan"]
    assert plan["kind"] == "model"
    outcome = plan["variants"]["triton"]["daily-with-spike"]["hpa"]
    assert outcome["kind"] == "model"
    inputs = outcome["inputs"]
    assert inputs["capacity_rps"]["value"] == section["per_replica"]["triton"]["capacity_rps"]
    assert inputs["capacity_rps"]["source"].startswith("measured")
    assert outcome["totals"]["replica_hours"] > 0
    assert plan["variants"]["triton"]["sensitivity"]["rows"]
