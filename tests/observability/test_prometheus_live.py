"""A real Prometheus scraping a prometheus_client exporter in this process: its
histogram_quantile answer against the exact quantile, an alert rule that loads and fires,
loopback-only listening, and nothing left running afterwards."""

from __future__ import annotations

import itertools
import math
import random
import shutil
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from infragap.errors import PortBusy, ServerStartError
from infragap.ports import LOOPBACK, free_port
from infragap.processes import Supervisor
from infragap.proven.prometheus.dashboard import DashboardMetrics, grafana_dashboard
from infragap.proven.prometheus.query import PrometheusClient, histogram_quantile_query
from infragap.proven.prometheus.rules import (
    LatencySloAlert,
    RuleCheckFailed,
    check_rules,
    write_rule_file,
)
from infragap.proven.prometheus.server import PrometheusServer, ScrapeTarget, start_prometheus

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("prometheus") is None or shutil.which("promtool") is None,
        reason="Debian's prometheus package is not installed (sudo apt-get install prometheus)",
    ),
]
prometheus_client = pytest.importorskip("prometheus_client")

SEED = 14
JOB = "exporter"
HISTOGRAM = "infragap_test_latency_ms"
BUCKETS_MS = (5, 10, 20, 30, 40, 50, 60, 80, 100, 150, 200, 300, 500, 1000)
WINDOW = "30s"  # covers the scrape before the observations and the ones after
SLO_MS = 100.0  # the observations' p99 is well above it
GENEROUS_SLO_MS = 2000.0  # above the last finite bucket: this alert can never fire
WAIT_S = 20.0


def latencies(count: int = 400) -> list[float]:
    """Seeded, log-normal request latencies in ms, median near 40 ms."""
    rng = random.Random(SEED)
    return [min(rng.lognormvariate(math.log(40.0), 0.6), 990.0) for _ in range(count)]


def exact_quantile(values: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least q of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def bucket_width(value: float) -> float:
    bounds = (0, *BUCKETS_MS)
    for lower, upper in itertools.pairwise(bounds):
        if lower < value <= upper:
            return upper - lower
    raise AssertionError(f"{value} ms is outside the finite buckets")


@dataclass
class Exporter:
    port: int
    histogram: Any


@pytest.fixture(scope="module")
def exporter() -> Iterator[Exporter]:
    registry = prometheus_client.CollectorRegistry()
    histogram = prometheus_client.Histogram(
        HISTOGRAM, "Request latency in ms.", buckets=BUCKETS_MS, registry=registry
    )
    port = free_port()
    server, thread = prometheus_client.start_http_server(port, addr=LOOPBACK, registry=registry)
    yield Exporter(port, histogram)
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@dataclass
class Live:
    server: PrometheusServer
    client: PrometheusClient
    values: list[float]
    alerts_before: list[dict[str, Any]]


def slo_alerts() -> list[LatencySloAlert]:
    def alert(name: str, slo_ms: float) -> LatencySloAlert:
        return LatencySloAlert(
            slo_ms=slo_ms, for_duration="1s", histogram=HISTOGRAM, window=WINDOW, name=name
        )

    return [alert("TestP99AboveSlo", SLO_MS), alert("TestP99AboveGenerousSlo", GENEROUS_SLO_MS)]


@pytest.fixture(scope="module")
def live(exporter: Exporter, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """Prometheus up with the rules, one scrape of empty buckets, then the observations,
    then two more scrapes: every observation is in Prometheus when the tests run."""
    work = tmp_path_factory.mktemp("prometheus")
    rules = write_rule_file(work / "rules.yml", slo_alerts())
    with Supervisor(work / "logs") as supervisor:
        target = ScrapeTarget(JOB, f"{LOOPBACK}:{exporter.port}")
        server = start_prometheus(supervisor, work, [target], rule_files=[rules])
        client = PrometheusClient(server.url)
        client.wait_for_scrapes(JOB, 1, WAIT_S)
        alerts_before = client.alerts()
        values = latencies()
        for value in values:
            exporter.histogram.observe(value)
        client.wait_for_scrapes(JOB, 2, WAIT_S)
        yield Live(server, client, values, alerts_before)
    assert not server.child.alive()


def test_target_is_up(live):
    (target,) = live.client.targets()
    assert target["health"] == "up", target["lastError"]
    assert target["labels"]["job"] == JOB


@pytest.mark.parametrize("q", [0.5, 0.9, 0.99])
def test_quantile_is_within_the_bucket_width_of_the_exact_value(live, q):
    answer = live.client.value(histogram_quantile_query(q, HISTOGRAM, WINDOW))
    exact = exact_quantile(live.values, q)
    assert answer is not None and not math.isnan(answer)
    assert abs(answer - exact) <= bucket_width(exact), (q, answer, exact)


def test_rules_are_loaded(live):
    rules = {rule["name"]: rule for rule in live.client.rules()}
    assert set(rules) == {"TestP99AboveSlo", "TestP99AboveGenerousSlo"}
    for rule in rules.values():
        assert rule["type"] == "alerting" and rule["health"] == "ok", rule.get("lastError")
        assert rule["duration"] == 1


def firing(client: PrometheusClient, name: str) -> dict[str, Any] | None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        for alert in client.alerts():
            if alert["labels"]["alertname"] == name and alert["state"] == "firing":
                return alert
        time.sleep(0.2)
    return None


def test_alert_fires_once_the_p99_is_above_the_slo(live):
    assert live.alerts_before == []
    alert = firing(live.client, "TestP99AboveSlo")
    assert alert is not None, live.client.alerts()
    assert float(alert["value"]) > SLO_MS
    assert "above the SLO of 100 ms" in alert["annotations"]["summary"]
    names = {a["labels"]["alertname"] for a in live.client.alerts()}
    assert "TestP99AboveGenerousSlo" not in names


def test_dashboard_queries_run(live):
    dashboard = grafana_dashboard(DashboardMetrics(latency_histogram=HISTOGRAM, window=WINDOW))
    answers = {}
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            answers[target["expr"]] = live.client.query(target["expr"])
    rate = answers[f"sum(rate({HISTOGRAM}_count[{WINDOW}]))"]
    assert len(rate) == 1 and rate[0].value > 0


def test_listens_on_loopback_only(live):
    process = psutil.Process(live.server.child.pid)
    listening = [c for c in process.net_connections("inet") if c.status == psutil.CONN_LISTEN]
    assert listening
    assert {c.laddr.ip for c in listening} == {LOOPBACK}


def test_stops_with_the_supervisor(tmp_path, live_descendants):
    before = live_descendants()
    with Supervisor(tmp_path / "logs") as supervisor:
        server = start_prometheus(supervisor, tmp_path, [])
        assert server.child.pid in live_descendants()
        assert server.config_path.is_file()
    assert not server.child.alive()
    assert live_descendants() <= before


def test_busy_port_names_the_option(tmp_path):
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        sock.listen()
        busy = sock.getsockname()[1]
        supervisor = Supervisor(tmp_path / "logs")
        with pytest.raises(PortBusy, match=f"port {busy} .* --prometheus-port"):
            start_prometheus(supervisor, tmp_path, [], port=busy)
        assert supervisor.children == []


BROKEN_RULES = """groups:
  - name: broken
    rules:
      - alert: Broken
        expr: histogram_quantile(0.99, sum by (le) (rate(x_bucket[1m])) >
"""


def test_promtool_rejection_carries_its_output(tmp_path):
    path = tmp_path / "broken.yml"
    path.write_text(BROKEN_RULES)
    with pytest.raises(RuleCheckFailed, match=r"(?s)promtool rejected .*broken\.yml.*parse error"):
        check_rules(path)


def test_prometheus_that_cannot_load_its_rules_fails_with_its_log(tmp_path, live_descendants):
    before = live_descendants()
    path: Path = tmp_path / "broken.yml"
    path.write_text(BROKEN_RULES)
    with Supervisor(tmp_path / "logs") as supervisor, pytest.raises(ServerStartError) as caught:
        start_prometheus(supervisor, tmp_path, [], rule_files=[path], timeout_s=30)
    assert "broken.yml" in str(caught.value)
    assert live_descendants() <= before
