"""The console page: its template text and library without a server, the console flags
on Prometheus's command line, then the real Prometheus serving the page from a
prometheus_client exporter's numbers (and its histogram_quantile agreeing with ours)."""

from __future__ import annotations

import math
import random
import re
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from infragap.errors import ConfigError
from infragap.ports import LOOPBACK, free_port
from infragap.processes import Supervisor
from infragap.proven.prometheus.console import (
    CONSOLE_FILE,
    LIBRARY_FILE,
    console_library,
    console_queries,
    console_template,
    console_url,
    error_percent,
    go_string,
    write_console,
)
from infragap.proven.prometheus.dashboard import DashboardMetrics
from infragap.proven.prometheus.query import PrometheusClient, histogram_quantile_query
from infragap.proven.prometheus.server import (
    PrometheusServer,
    ScrapeTarget,
    prometheus_argv,
    start_prometheus,
)
from infragap.suites.observability.buckets import (
    OTEL_DEFAULT_MS,
    bucket_counts,
    histogram_quantile,
)

SEED = 23
HISTOGRAM = "model_inference_duration_ms"  # DashboardMetrics's default, the app's name
JOBS = ("serving", "serving-copy")  # one exporter scraped twice: two rows per job
OK_REQUESTS = 400
FAILED_REQUESTS = 8
WAIT_S = 20.0


def test_template_holds_every_query_as_a_go_string():
    text = console_template()
    queries = console_queries()
    for name, query in vars(queries).items():
        if name != "by":
            assert go_string(query) in text, name
    assert f"`{histogram_quantile_query(0.99, HISTOGRAM, '1m')}`" in text
    assert "sortByLabel `job`" in text and "sortByLabel `model`" in text


def test_queries_follow_the_metrics_options():
    metrics = DashboardMetrics(
        latency_histogram="lat_ms", variant_label="variant", triton_model="recsys", window="30s"
    )
    queries = console_queries(metrics)
    assert queries.p99_by == (
        "histogram_quantile(0.99, sum by (le, variant) (rate(lat_ms_bucket[30s])))"
    )
    assert queries.triton_batch_size == (
        'sum by (model) (rate(nv_inference_count{model="recsys"}[30s])) / '
        'sum by (model) (rate(nv_inference_exec_count{model="recsys"}[30s]))'
    )
    assert "<th>variant</th>" in console_template(metrics)


def test_error_share_is_zero_not_missing_without_errors():
    assert error_percent("E", "T") == "100 * (E or T * 0) / T"
    assert console_queries().error_percent == (
        '100 * (sum(rate(model_inference_duration_ms_count{status=~"[45].."}[1m])) '
        "or sum(rate(model_inference_duration_ms_count[1m])) * 0) / "
        "sum(rate(model_inference_duration_ms_count[1m]))"
    )


def test_go_string_quotes_a_backquote():
    assert go_string('a{b="c"}') == '`a{b="c"}`'
    assert go_string("a`b") == '"a`b"'


def test_title_reaches_the_page_only_as_a_go_string():
    text = console_template(title="<b>{{ evil }}</b>")
    assert '"<b>{{ evil }}</b>"' not in text
    assert "`<b>{{ evil }}</b>`" in text  # inside an action: html/template escapes it


def test_the_page_uses_only_templates_its_library_defines():
    used = set(re.findall(r'template "([^"]+)"', console_template()))
    defined = set(re.findall(r'define "([^"]+)"', console_library()))
    assert used == {"infragap.head", "infragap.tail", "infragap.value", "infragap.value_for"}
    assert used <= defined


def test_write_console_writes_the_page_and_its_library(tmp_path):
    page = write_console(tmp_path / "consoles")
    assert page == tmp_path / "consoles" / CONSOLE_FILE
    assert page.read_text() == console_template()
    assert (tmp_path / "consoles" / LIBRARY_FILE).read_text() == console_library()
    assert console_url("http://127.0.0.1:9090/") == f"http://127.0.0.1:9090/consoles/{CONSOLE_FILE}"


def test_argv_passes_the_console_folder_only_when_given(tmp_path):
    plain = prometheus_argv("prometheus", tmp_path / "p.yml", tmp_path / "data", 9999)
    assert not [arg for arg in plain if arg.startswith("--web.console")]
    argv = prometheus_argv("prometheus", tmp_path / "p.yml", tmp_path / "data", 9999, tmp_path)
    assert argv[: len(plain)] == plain
    assert argv[len(plain) :] == [
        f"--web.console.templates={tmp_path}",
        f"--web.console.libraries={tmp_path}",
    ]


def test_missing_console_folder_is_refused_before_prometheus_starts(monkeypatch, tmp_path):
    binary = tmp_path / "bin" / "prometheus"
    binary.parent.mkdir()
    binary.write_text("#!/bin/sh\necho 'prometheus, version 2.42.0+ds (branch: debian/sid)'\n")
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(binary.parent))
    supervisor = Supervisor(tmp_path / "logs")
    with pytest.raises(ConfigError, match=r"console folder .* does not exist"):
        start_prometheus(supervisor, tmp_path, [], consoles=tmp_path / "nowhere")
    assert supervisor.children == []


def latencies() -> list[float]:
    """Seeded log-normal latencies in ms, median near 40 ms, p99 in OTel's (100, 250]."""
    rng = random.Random(SEED)
    return [rng.lognormvariate(math.log(40.0), 0.6) for _ in range(OK_REQUESTS)]


@dataclass
class Live:
    server: PrometheusServer
    client: PrometheusClient
    page: requests.Response
    values: list[float]  # every observation, failed ones included


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """Prometheus with the console folder, scraping an exporter (OTel's default layout,
    labelled as the app labels) under two jobs: one scrape of zeroed buckets, then the
    observations, then two more scrapes, then the page."""
    if shutil.which("prometheus") is None:
        pytest.skip(
            "Debian's prometheus package is not installed (sudo apt-get install prometheus)"
        )
    prometheus_client = pytest.importorskip("prometheus_client")
    work = tmp_path_factory.mktemp("console")
    registry = prometheus_client.CollectorRegistry()
    histogram = prometheus_client.Histogram(
        HISTOGRAM, "Request latency in ms.", ["variant", "status"],
        buckets=OTEL_DEFAULT_MS, registry=registry,
    )  # fmt: skip
    ok, failed = histogram.labels("hoisted", "200"), histogram.labels("hoisted", "500")
    port = free_port()
    exporter, thread = prometheus_client.start_http_server(port, addr=LOOPBACK, registry=registry)
    try:
        folder = work / "consoles"
        write_console(folder)
        targets = [ScrapeTarget(job, f"{LOOPBACK}:{port}") for job in JOBS]
        with Supervisor(work / "logs") as supervisor:
            server = start_prometheus(supervisor, work, targets, consoles=folder)
            client = PrometheusClient(server.url)
            for job in JOBS:
                client.wait_for_scrapes(job, 1, WAIT_S)
            values = latencies()
            for value in values:
                ok.observe(value)
            for _ in range(FAILED_REQUESTS):
                failed.observe(2.0)
                values.append(2.0)
            for job in JOBS:
                client.wait_for_scrapes(job, 2, WAIT_S)
            page = requests.get(console_url(server.url), timeout=10)
            yield Live(server, client, page, values)
        assert not server.child.alive()
    finally:
        exporter.shutdown()
        exporter.server_close()
        thread.join(timeout=5)


def cell(html: str, element_id: str) -> str:
    match = re.search(rf'<td id="{element_id}"[^>]*>([^<]*)</td>', html)
    assert match is not None, html
    return match.group(1)


def our_quantile(values: list[float], q: float) -> float:
    answer = histogram_quantile(q, OTEL_DEFAULT_MS, bucket_counts(values, OTEL_DEFAULT_MS))
    assert answer is not None
    return answer


@pytest.mark.integration
def test_page_is_served_with_a_p99(live):
    assert live.page.status_code == 200, live.page.text
    assert live.page.headers["Content-Type"].startswith("text/html")
    p99 = float(cell(live.page.text, "p99"))
    # Every series started at 0 inside the window, so rate() scales all buckets alike
    # and the page's p99 is the histogram's own: the same as ours, to the 3 decimals shown.
    assert p99 == pytest.approx(our_quantile(live.values, 0.99), abs=1e-3)
    assert 100.0 < p99 <= 250.0
    assert float(cell(live.page.text, "p50")) == pytest.approx(
        our_quantile(live.values, 0.5), abs=1e-3
    )


@pytest.mark.integration
def test_page_shows_rate_and_error_share(live):
    assert float(cell(live.page.text, "request-rate")) > 0
    share = 100 * FAILED_REQUESTS / (OK_REQUESTS + FAILED_REQUESTS)
    assert cell(live.page.text, "errors") == f"{share:.2f}%"


@pytest.mark.integration
def test_page_has_a_row_per_scrape_job_and_no_triton_series(live):
    rows = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td>", live.page.text)
    assert [row[0] for row in rows] == sorted(JOBS)
    p99 = cell(live.page.text, "p99")
    assert all(row[2] == p99 for row in rows)
    assert "no series in the window" in live.page.text  # Triton's table, nothing scraped


@pytest.mark.integration
@pytest.mark.parametrize("q", [0.5, 0.9, 0.99, 1.0])
def test_prometheus_histogram_quantile_equals_ours(live, q):
    """Over the raw bucket counters (no rate, so nothing is extrapolated)."""
    expr = f'histogram_quantile({q}, sum by (le) ({HISTOGRAM}_bucket{{job="{JOBS[0]}"}}))'
    answer = live.client.value(expr)
    assert answer == pytest.approx(our_quantile(live.values, q), rel=1e-12)
