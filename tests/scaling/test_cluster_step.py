"""The scaling suite's cluster step: its options, checked before anything starts, and
`drive_cluster` end to end against the fake API server of test_kube_cluster.py, with a
loopback HTTP server standing in for the Service's address (it scores like the naive
Flask app) and the real load engine driving it."""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kubernetes")

from rich.console import Console
from test_kube_cluster import NS, FakeApiServer, _handler, write_kubeconfig

from infragap.bench import add_arguments
from infragap.errors import ConfigError, LoadError
from infragap.processes import Supervisor
from infragap.proven.kubernetes.cluster import KubeApiError, KubeCleanupError
from infragap.reports.schema import new_document
from infragap.suites.base import BenchContext, ResultsRecorder
from infragap.suites.levels import LevelDriver
from infragap.suites.scaling.cluster_step import (
    ClusterStepError,
    add_cluster_arguments,
    cluster_config,
    drive_cluster,
    hpa_warnings,
    is_reserved,
    load_target,
    loopback_warning,
    ramp_rates,
)
from infragap.suites.scaling.measure import ScalingRun
from infragap.suites.scaling.plan import write_manifests
from infragap.suites.scaling.suite import ScalingSuite

REGISTRY = "registry.internal/infragap"
VARIANT = "naive-hoisted"
CAPACITY_RPS = 20.0
APIS = f"/apis/apps/v1/namespaces/{NS}"
DEPLOY_PATH = f"{APIS}/deployments/{VARIANT}"
SERVICE_PATH = f"/api/v1/namespaces/{NS}/services/{VARIANT}"
HPA_PATH = f"/apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers/{VARIANT}"
PDB_PATH = f"/apis/policy/v1/namespaces/{NS}/poddisruptionbudgets/{VARIANT}"
NS_PATH = f"/api/v1/namespaces/{NS}"


def parse(*argv: str) -> argparse.Namespace:
    """`infragap bench scaling ARGV` as the CLI parses it, the cluster options included
    (added here until the suite adds them itself)."""
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    with contextlib.suppress(argparse.ArgumentError):  # the suite already adds them
        add_cluster_arguments(parser.add_argument_group("cluster"))
    return parser.parse_args(["scaling", *argv])


# --- options --------------------------------------------------------------------------


def test_no_cluster_named_means_disabled() -> None:
    assert cluster_config(parse("--quick")) == {"enabled": False}


def test_a_context_without_a_service_url_says_why_and_how() -> None:
    with pytest.raises(ConfigError, match="need --kube-service-url URL") as caught:
        cluster_config(parse("--kube-context", "prod"))
    assert "balances over its pods" in str(caught.value)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--kube-service-url", "http://lb:80"], "--kube-service-url apply to a cluster run only"),
        (["--kube-namespace", "x", "--kube-variant", "triton"], "pass --kube-context NAME"),
    ],
)
def test_cluster_options_without_a_cluster_are_refused(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        cluster_config(parse(*argv))


@pytest.fixture
def offline_kubeconfig(tmp_path: Path) -> Path:
    return write_kubeconfig(tmp_path / "kubeconfig", "http://127.0.0.1:9")  # never contacted


def cluster_argv(kubeconfig: Path, *extra: str) -> list[str]:
    return [
        *("--kube-context", "fake", "--kubeconfig", str(kubeconfig)),
        *("--kube-service-url", "http://10.0.0.5:8000/", "--image-registry", REGISTRY),
        *extra,
    ]


def test_a_cluster_run_is_configured_from_a_working_kubeconfig(offline_kubeconfig: Path) -> None:
    cfg = cluster_config(parse(*cluster_argv(offline_kubeconfig)))
    assert cfg["enabled"] is True
    assert cfg["context"] == "fake" and cfg["kubeconfig"] == str(offline_kubeconfig)
    assert cfg["namespace"] == "infragap-scaling"
    assert cfg["service_url"] == "http://10.0.0.5:8000"
    assert cfg["variant"] == "triton", "the last of --scaling-variants by default"
    json.dumps(cfg)  # recorded in the results as it is


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--kube-variant", "nope"], r"--kube-variant nope: not among --scaling-variants"),
        (
            ["--kube-variant", "naive-batched"],
            "pass one of them or add naive-batched to --scaling-variants",
        ),
        (["--image-registry", "registry.example.com/x"], "placeholder no node can pull from"),
        (["--kube-service-url", "tcp://lb:80"], "http://HOST:PORT"),
        (["--kube-service-url", "http://lb/?a=1"], "leave out the query"),
        (["--kube-namespace", "Not_A_Name"], "not a valid namespace name"),
        (["--kube-context", "nope"], "no such context"),
    ],
)
def test_bad_cluster_options_say_what_is_wrong(
    offline_kubeconfig: Path, extra: list[str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        cluster_config(parse(*cluster_argv(offline_kubeconfig, *extra)))


def test_the_default_registry_is_a_placeholder(offline_kubeconfig: Path) -> None:
    argv = [a for a in cluster_argv(offline_kubeconfig) if a not in ("--image-registry", REGISTRY)]
    with pytest.raises(ConfigError, match=re.escape("push it as REGISTRY/triton:0.1.0")):
        cluster_config(parse(*argv))


# --- pure parts -----------------------------------------------------------------------


def test_the_ramp_goes_from_under_one_replica_to_four() -> None:
    assert ramp_rates(50.0) == [25.0, 100.0, 200.0]
    assert ramp_rates(0.5) == [1.0, 1.0, 2.0], "never under 1 req/s"


def test_each_variant_is_driven_over_its_own_wire() -> None:
    assert load_target("triton") == ("kserve-binary", "ranker")
    assert load_target("triton-json") == ("kserve", "ranker")
    assert load_target("naive-batched") == ("flask", "")


def test_reserved_registry_hosts() -> None:
    assert is_reserved("registry.example.com") and is_reserved("example.com:5000")
    assert is_reserved("registry.test") and not is_reserved("ghcr.io")
    assert not is_reserved("example.company.io")


def test_a_loopback_service_url_is_warned_about() -> None:
    warning = loopback_warning("http://127.0.0.1:8000")
    assert warning is not None and "one pod" in warning
    assert loopback_warning("http://lb.internal:80") is None


def test_an_hpa_without_metrics_is_named_with_the_cause() -> None:
    hpa = {"status": {"conditions": [
        {"type": "AbleToScale", "status": "True"},
        {"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric",
         "message": "unable to get metrics"},
    ]}}  # fmt: skip
    (warning,) = hpa_warnings("ranker", hpa)
    assert "FailedGetResourceMetric" in warning and "metrics-server" in warning


# --- drive_cluster against the fake API server ------------------------------------------


@pytest.fixture
def fake_api() -> Iterator[tuple[FakeApiServer, str]]:
    fake = FakeApiServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class ScoringHandler(BaseHTTPRequestHandler):
    """POST /predict as the naive Flask app answers it: one score per row."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    requests = 0

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        out = json.dumps({"scores": [0.5] * len(body["user_id"])}).encode()
        ScoringHandler.requests += 1
        head = (
            f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(out)}\r\n\r\n"
        )
        self.wfile.write(head.encode() + out)

    def log_message(self, format: str, *args: object) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # Locust resets its connections when it stops


@pytest.fixture
def service_url() -> Iterator[str]:
    ScoringHandler.requests = 0
    server = QuietServer(("127.0.0.1", 0), ScoringHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Setup:
    run: ScalingRun
    fake: FakeApiServer
    results: Path


@pytest.fixture
def cluster_run(
    tmp_path: Path, fake_api: tuple[FakeApiServer, str], service_url: str
) -> Iterator[Setup]:
    """A scaling run whose steps up to the manifests are done (capacity and start-up
    given), configured for the fake cluster; its Deployment is ready on the first read
    and scales to two replicas."""
    from infragap.loadtests.targets.ranking import write_requests_file
    from infragap.workloads.model_sizes import model_size
    from infragap.workloads.ranking_requests import generate_requests

    fake, api_url = fake_api
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api_url)
    argv = [*cluster_argv(kubeconfig, "--kube-namespace", NS, "--kube-variant", VARIANT)]
    argv[argv.index("--kube-service-url") + 1] = service_url
    argv += ["--quick", "--duration", "0.5", "--warmup", "0", "--max-windows", "0"]
    args = parse(*argv, "--load-processes", "1", "--calibrate", "never")
    config = ScalingSuite().config(args)
    # Two levels, not the three of the ramp, for time: each starts a Locust process.
    config["cluster"] = {**cluster_config(args), "sample_interval_s": 0.1}
    config["cluster"]["ramp_factors"] = [0.5, 4.0]
    doc = new_document({"id": "test"})
    section = doc["suites"]["scaling"] = {"status": "running", "error": None, "config": config}
    section.update(
        warnings=[],
        startup={VARIANT: {"median_s": 2.0}},
        per_replica={VARIANT: {"capacity_rps": CAPACITY_RPS, "cpu_cores": 0.5,
                               "rss_mib": 200.0, "slo": "p99=100ms"}},
    )  # fmt: skip
    work = tmp_path / "work"
    work.mkdir()
    requests = generate_requests(model_size("tiny"), 0, 32, 1)
    write_requests_file(requests, work / "requests.json")
    fake.statuses[DEPLOY_PATH] = [
        {"replicas": 1, "readyReplicas": 1},
        {"replicas": 2, "readyReplicas": 1},
        {"replicas": 2, "readyReplicas": 2},
    ]
    fake.statuses[HPA_PATH] = [
        {"currentReplicas": 1, "desiredReplicas": 2},
        {"currentReplicas": 2, "desiredReplicas": 2,
         "conditions": [{"type": "ScalingActive", "status": "True"}]},
    ]  # fmt: skip
    recorder = ResultsRecorder(tmp_path / "results.json", doc)
    with Supervisor(work / "logs") as supervisor:
        ctx = BenchContext(args, work, supervisor, recorder, Console(quiet=True))
        run = ScalingRun(ctx, section, config)
        write_manifests(run)
        yield Setup(run, fake, recorder.path)


def posted(fake: FakeApiServer) -> list[str]:
    return [s.path for s in fake.seen if s.method == "POST"]


def test_drive_cluster_applies_drives_samples_and_cleans_up(cluster_run: Setup) -> None:
    run, fake = cluster_run.run, cluster_run.fake
    fake.statuses[DEPLOY_PATH].insert(0, {"replicas": 1, "readyReplicas": 0})  # then ready
    drive_cluster(run)
    record = run.section["cluster"]
    assert record["status"] == "complete" and record["cleanup_error"] is None
    assert record["variant"] == VARIANT and record["namespace"] == NS
    assert record["context"] == "fake" and record["server"].startswith("http://127.0.0.1:")
    # the written manifests, every one applied
    assert posted(fake) == [
        "/api/v1/namespaces",
        f"{APIS}/deployments",
        f"/api/v1/namespaces/{NS}/services",
        f"/apis/policy/v1/namespaces/{NS}/poddisruptionbudgets",
        f"/apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers",
    ]
    assert record["skipped"] == []
    deployment = next(s.body for s in fake.seen if s.path == f"{APIS}/deployments")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == f"{REGISTRY}/{VARIANT}:0.1.0"
    # the ramp, driven at the Service's address over the variant's wire
    assert record["rates_rps"] == [10.0, 80.0]
    offered = [level["arrival"]["offered_rps"] for level in record["levels"]]
    assert offered == record["rates_rps"]
    assert all(level["requests"] > 0 and level["failures"] == 0 for level in record["levels"])
    assert ScoringHandler.requests >= sum(level["requests"] for level in record["levels"])
    assert "variants" not in run.section, "the local measurements are left as they were"
    # the replica counts, sampled beside the load
    samples = record["replicas"]
    assert len(samples) >= 3 and set(samples[0]) == {"t_s", "ready", "desired", "current"}
    assert samples[-1] == {**samples[-1], "ready": 2, "desired": 2, "current": 2}
    assert [s["t_s"] for s in samples] == sorted(s["t_s"] for s in samples)
    assert record["hpa_conditions"] == [{"type": "ScalingActive", "status": "True"}]
    # everything deleted, newest first; the record saved
    assert fake.objects == {}
    deleted = [p for m, p in fake.calls("DELETE")]
    assert deleted == [HPA_PATH, PDB_PATH, SERVICE_PATH, DEPLOY_PATH, NS_PATH]
    saved = json.loads(cluster_run.results.read_text())["suites"]["scaling"]["cluster"]
    assert saved["status"] == "complete" and len(saved["levels"]) == 2


@pytest.mark.parametrize(
    ("error", "status"),
    [(LoadError("locust failed"), "failed"), (KeyboardInterrupt(), "interrupted")],
)
def test_an_error_mid_drive_still_cleans_up_and_keeps_the_samples(
    cluster_run: Setup, monkeypatch: pytest.MonkeyPatch, error: BaseException, status: str
) -> None:
    def failing_level(*_args: Any) -> Any:
        raise error

    monkeypatch.setattr(LevelDriver, "run", failing_level)
    with pytest.raises(type(error)):
        drive_cluster(cluster_run.run)
    record = cluster_run.run.section["cluster"]
    assert record["status"] == status and record["levels"] == []
    assert len(record["replicas"]) >= 2, "the first and the last sample"
    assert cluster_run.fake.objects == {}
    saved = json.loads(cluster_run.results.read_text())["suites"]["scaling"]["cluster"]
    assert saved["status"] == status


def test_a_sampler_error_stops_the_drive_at_the_next_level(
    cluster_run: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    levels = []

    def quick_level(_driver: Any, _endpoint: Any, spec: Any) -> dict[str, Any]:
        levels.append(spec)
        cluster_run.fake.fail[("GET", HPA_PATH)] = 403  # the sampler's next read fails
        threading.Event().wait(0.5)  # the sampler has read (every 0.1 s) by now
        del cluster_run.fake.fail[("GET", HPA_PATH)]  # clean-up reads it again
        return {"arrival": {"offered_rps": spec.arrivals.rate_per_s}}

    monkeypatch.setattr(LevelDriver, "run", quick_level)
    with pytest.raises(KubeApiError, match="403"):
        drive_cluster(cluster_run.run)
    assert len(levels) == 1
    assert cluster_run.run.section["cluster"]["status"] == "failed"
    assert cluster_run.fake.objects == {}


def test_a_variant_without_capacity_is_refused_before_anything_is_applied(
    cluster_run: Setup,
) -> None:
    cluster_run.run.section["per_replica"][VARIANT] = None
    with pytest.raises(ClusterStepError, match="met no rate under p99=100ms"):
        drive_cluster(cluster_run.run)
    assert cluster_run.fake.seen == []


def test_without_a_cluster_the_step_does_nothing(cluster_run: Setup) -> None:
    cluster_run.run.config["cluster"] = {"enabled": False}
    drive_cluster(cluster_run.run)
    assert "cluster" not in cluster_run.run.section and cluster_run.fake.seen == []


@pytest.mark.parametrize("drive_fails", [False, True])
def test_a_failed_cleanup_is_recorded_with_the_commands_to_finish_it(
    cluster_run: Setup, monkeypatch: pytest.MonkeyPatch, drive_fails: bool
) -> None:
    def quick_level(_driver: Any, _endpoint: Any, spec: Any) -> dict[str, Any]:
        if drive_fails:
            raise LoadError("locust failed")
        return {"arrival": {"offered_rps": spec.arrivals.rate_per_s}}

    monkeypatch.setattr(LevelDriver, "run", quick_level)
    cluster_run.fake.fail[("DELETE", SERVICE_PATH)] = 500
    # a clean run fails on what it left behind; a failed one keeps its own error
    expected = LoadError if drive_fails else KubeCleanupError
    with pytest.raises(expected):
        drive_cluster(cluster_run.run)
    record = cluster_run.run.section["cluster"]
    assert record["status"] == ("failed" if drive_fails else "complete")
    assert f"kubectl delete service {VARIANT} -n {NS}" in record["cleanup_error"]
    assert set(cluster_run.fake.objects) == {SERVICE_PATH}, "the rest is deleted"
