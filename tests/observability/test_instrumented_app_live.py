"""The instrumented endpoint for real: both metrics variants served by their own Flask
process, loaded, scraped by a real Prometheus, and answered with PromQL.

The exact reference is the server-side durations: every value the app handed to its
histogram, written at full precision by --exact-durations-file. That is the population
the histogram summarises, so the comparison measures the histogram and PromQL alone.
Client-side latencies would add the HTTP round trip outside the timed span (a different
quantity, larger than these small buckets). Only the observations between the baseline
scrape and the final scrapes count: the answers are evaluated at the final scrape with a
window reaching back exactly to the baseline scrape, so rate() sees the increase between
those two samples and has nothing to extrapolate (a window starting before a series'
first sample makes rate() stretch each bucket's increase by its own factor, which can
move a quantile into the next bucket). The warm-up requests (one good, one bad, so that
both status series exist before the baseline) are already in the first sample.
"""

from __future__ import annotations

import itertools
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import requests

from infragap.naive.timing_log_answers import nearest_rank
from infragap.ports import LOOPBACK, free_port
from infragap.processes import Child, Supervisor, http_ok, wait_until
from infragap.proven.observability.answers import MetricNames, answer_all
from infragap.proven.observability.instrumented_app import read_exact_durations
from infragap.proven.observability.names import PROMETHEUS_HISTOGRAM
from infragap.proven.prometheus.query import PrometheusClient
from infragap.proven.prometheus.server import ScrapeTarget, start_prometheus
from infragap.workloads import operator_questions as q
from infragap.workloads.model_sizes import model_size
from infragap.workloads.ranking_requests import generate_requests, to_flask_json

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("prometheus") is None,
        reason="Debian's prometheus package is not installed (sudo apt-get install prometheus)",
    ),
]
pytest.importorskip("opentelemetry.exporter.prometheus")
pytest.importorskip("prometheus_client")

KINDS = ("otel", "prometheus-client")
BUCKETS_MS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 7.5, 10, 15, 20, 30, 50, 75)
BUCKETS_MS += (100, 250, 500, 1000, 5000)
GOOD, BAD = 190, 10
WAIT_S = 20.0
BAD_BODY = {"user_id": [1]}


@dataclass
class App:
    kind: str
    child: Child
    url: str
    exact_file: Path
    baseline: int = 0  # exact durations recorded before the baseline scrape
    since: float = 0.0  # Unix time of the baseline scrape
    until: float = 0.0  # Unix time of the final scrape

    @property
    def window(self) -> str:
        """The PromQL window from the baseline scrape to the final one (timestamps in ms)."""
        return f"{round((self.until - self.since) * 1000)}ms"


@dataclass
class Live:
    apps: dict[str, App]
    client: PrometheusClient
    prometheus: Child


def start_app(supervisor: Supervisor, kind: str, model: Path, work: Path) -> App:
    port = free_port()
    exact_file = work / f"{kind}-exact.txt"
    argv = [
        sys.executable,
        "-m",
        "infragap.proven.observability.instrumented_app",
        *("--model", str(model), "--port", str(port), "--metrics", kind),
        *("--buckets", ",".join(f"{b:g}" for b in BUCKETS_MS)),
        *("--exact-durations-file", str(exact_file)),
    ]
    child = supervisor.start(f"app-{kind}", argv)
    url = f"http://{LOOPBACK}:{port}"
    wait_until(http_ok(f"{url}/health"), child, 60, f"instrumented app ({kind})")
    return App(kind, child, url, exact_file)


@pytest.fixture(scope="module")
def live(tiny_model_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    work = tmp_path_factory.mktemp("instrumented")
    bodies = [to_flask_json(r) for r in generate_requests(model_size("tiny"), 14, GOOD, rows=4)]
    bad_every = GOOD // BAD
    with Supervisor(work / "logs") as supervisor, requests.Session() as session:
        apps = {kind: start_app(supervisor, kind, tiny_model_file, work) for kind in KINDS}
        targets = [
            ScrapeTarget(kind, app.url.removeprefix("http://")) for kind, app in apps.items()
        ]
        server = start_prometheus(supervisor, work, targets)
        client = PrometheusClient(server.url)
        for app in apps.values():
            assert session.post(f"{app.url}/predict", json=bodies[0], timeout=30).ok
            assert session.post(f"{app.url}/predict", json=BAD_BODY, timeout=30).status_code == 400
        for kind in KINDS:
            client.wait_for_scrapes(kind, 2, WAIT_S)
        for app in apps.values():
            app.baseline = len(read_exact_durations(app.exact_file.read_text()))
            app.since = last_scrape(client, app.kind)
            for i, body in enumerate(bodies):
                response = session.post(f"{app.url}/predict", json=body, timeout=30)
                assert response.status_code == 200, response.text
                if i % bad_every == 0:
                    bad = session.post(f"{app.url}/predict", json=BAD_BODY, timeout=30)
                    assert bad.status_code == 400
        for kind in KINDS:
            client.wait_for_scrapes(kind, 2, WAIT_S)
            apps[kind].until = last_scrape(client, kind)
        yield Live(apps, client, server.child)
    assert not any(app.child.alive() for app in apps.values()) and not server.child.alive()


def last_scrape(client: PrometheusClient, job: str) -> float:
    """The Unix time of `job`'s latest scrape, as Prometheus stamped its samples."""
    stamp = client.value(f'timestamp(up{{job="{job}"}})')
    assert stamp is not None, f"no scrape of {job} yet"
    return stamp


def bucket_width(value: float) -> float:
    for lower, upper in itertools.pairwise((0, *BUCKETS_MS)):
        if lower < value <= upper:
            return upper - lower
    raise AssertionError(f"{value} ms is outside the finite buckets: widen BUCKETS_MS")


@pytest.mark.parametrize("kind", KINDS)
def test_promql_answers_against_the_exact_durations(live, kind):
    app = live.apps[kind]
    exact = read_exact_durations(app.exact_file.read_text())[app.baseline :]
    assert len(exact) == GOOD + BAD
    names = MetricNames(PROMETHEUS_HISTOGRAM[kind], window=app.window, matchers={"job": kind})
    answers = {a.question: a for a in answer_all(live.client, names, at=app.until)}
    durations = [ms for _, ms in exact]
    for question_id, quantile in ((q.P99, 0.99), (q.P50, 0.5)):
        answer, truth = answers[question_id], nearest_rank(durations, quantile)
        assert isinstance(answer.value, float), answer
        assert abs(answer.value - truth) <= bucket_width(truth), (question_id, answer, truth)
        assert answer.bytes_read > 0 and answer.seconds is not None
        assert answer.source.startswith("histogram_quantile(")
    shares = answers[q.STATUS_SHARE].value
    assert isinstance(shares, dict) and set(shares) == {"200", "400"}
    # The window holds no extrapolation (see the module docstring); the tolerance stays
    # for a Prometheus that stamps its samples a millisecond off the rounded window.
    assert shares["400"] == pytest.approx(BAD / (GOOD + BAD), rel=0.2)
    by_variant = answers[q.P99_BY_VARIANT].value
    assert isinstance(by_variant, dict) and set(by_variant) == {"hoisted"}
    rate = answers[q.REQUEST_RATE].value
    assert isinstance(rate, float) and rate > 0
    for triton in (q.TRITON_QUEUE_VS_COMPUTE, q.TRITON_BATCH_SIZE):
        assert answers[triton].value is None and "nv_inference_" in answers[triton].note
    print(
        f"\n{kind}: p99 PromQL {answers[q.P99].value:.3f} ms vs exact "
        f"{nearest_rank(durations, 0.99):.3f} ms; p50 {answers[q.P50].value:.3f} vs "
        f"{nearest_rank(durations, 0.5):.3f}; shares {shares}; "
        f"bytes per p99 answer {answers[q.P99].bytes_read}"
    )


def test_apps_listen_on_loopback_only(live):
    for app in live.apps.values():
        process = psutil.Process(app.child.pid)
        listening = [c for c in process.net_connections("inet") if c.status == psutil.CONN_LISTEN]
        assert listening and {c.laddr.ip for c in listening} == {LOOPBACK}
