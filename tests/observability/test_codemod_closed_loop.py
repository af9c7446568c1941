"""The codemod, closed loop: `infragap migrate apply --rule timing-log-to-metrics` rewrites
a naive Flask handler (codemod_app/predict_app.py, which only logs how long it took), the
rewritten app is served for real, loaded, and scraped by a real Prometheus, and PromQL's
answers must match what the app's own log lines say.

One copy of the handler per `--option metrics=...` value, each deployed the way a team
would (codemod_app/serve.py: logging to a file, prometheus_client's exporter on its own
port, and for otel a global MeterProvider reading into it). The rewrite keeps the log
line and computes the duration once for log and histogram, so the log holds the exact
population the histogram summarises, to the line's 0.1 ms.

The window technique of test_instrumented_app_live.py: a warm-up request creates the
histogram series before the baseline scrape, and the answers are evaluated at the final
scrape with a window reaching back exactly to the baseline scrape, so rate() has nothing
to extrapolate. The bucket layout and the unit come from the exposed /metrics page, not
from what the test expects them to be.
"""

from __future__ import annotations

import itertools
import math
import random
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
import requests

from infragap.cli import main as infragap_main
from infragap.naive.timing_log_answers import nearest_rank, parse_timing_log
from infragap.ports import LOOPBACK, free_port
from infragap.processes import Child, Supervisor, http_ok, wait_until
from infragap.proven.prometheus.query import (
    PrometheusClient,
    histogram_quantile_query,
    series_selector,
)
from infragap.proven.prometheus.server import ScrapeTarget, start_prometheus

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("prometheus") is None or shutil.which("promtool") is None,
        reason="Debian's prometheus package is not installed (sudo apt-get install prometheus)",
    ),
]
pytest.importorskip("flask")
pytest.importorskip("libcst")
pytest.importorskip("opentelemetry.exporter.prometheus")
prometheus_parser = pytest.importorskip("prometheus_client.parser")

FIXTURE = Path(__file__).parent / "codemod_app"
APP_FILE = "predict_app.py"
RULE = "timing-log-to-metrics"
KINDS = ("otel", "prometheus")  # the rule's `metrics` option
# The unit each variant must expose its histogram in, and how many ms one unit is.
UNIT_SUFFIX = {"otel": "_milliseconds", "prometheus": "_seconds"}
MS_PER_UNIT = {"_milliseconds": 1.0, "_seconds": 1000.0}
SEED = 11
REQUESTS = 200
WORK_MEDIAN_MS, WORK_SIGMA = 6.0, 0.8  # seeded: p50 near 6 ms, p99 near 31 ms (mid-bucket)
WORK_CAP_MS = 80.0
LOG_RESOLUTION_MS = 0.1  # the line writes {ms:.1f}
WAIT_S = 20.0

T = TypeVar("T")


@dataclass
class Variant:
    metrics: str
    source: str  # the rewritten handler
    check_exit: int  # `apply --check` on the rewritten file: 0 when nothing is left to do
    child: Child
    url: str
    metrics_address: str  # host:port of its exporter
    log_file: Path
    baseline: int = 0  # timing lines written before the baseline scrape
    since: float = 0.0  # Unix time of the baseline scrape
    until: float = 0.0  # Unix time of the final scrape

    @property
    def window(self) -> str:
        """The PromQL window from the baseline scrape to the final one (timestamps in ms)."""
        return f"{round((self.until - self.since) * 1000)}ms"

    @property
    def metrics_url(self) -> str:
        return f"http://{self.metrics_address}/metrics"

    def durations_ms(self) -> list[float]:
        """The durations the log holds for the requests after the baseline scrape."""
        records = parse_timing_log(self.log_file.read_text()).records
        return [record.ms for record in records[self.baseline :]]


@dataclass
class Live:
    variants: dict[str, Variant]
    client: PrometheusClient


def migrate(metrics: str, folder: Path) -> tuple[Path, int]:
    """Copy the naive handler into `folder`, rewrite it through the CLI, and check that a
    second run finds nothing left to change. Returns the file and that run's exit code."""
    folder.mkdir()
    app_file = folder / APP_FILE
    shutil.copyfile(FIXTURE / APP_FILE, app_file)
    apply = ["migrate", "apply", str(app_file), "--rule", RULE, "-j", "1"]
    assert infragap_main([*apply, "--option", f"metrics={metrics}", "--write"]) == 0
    return app_file, infragap_main([*apply, "--option", f"metrics={metrics}", "--check"])


def start_app(supervisor: Supervisor, metrics: str, work: Path) -> Variant:
    """The handler rewritten for `metrics`, started through serve.py (not yet ready)."""
    app_file, check_exit = migrate(metrics, work / metrics)
    port, metrics_port = free_port(), free_port()
    log_file = work / f"{metrics}.log"
    argv = [sys.executable, str(FIXTURE / "serve.py"), str(app_file.parent)]
    argv += [str(port), str(metrics_port), metrics, str(log_file)]
    child = supervisor.start(f"app-{metrics}", argv)
    return Variant(
        metrics,
        app_file.read_text(),
        check_exit,
        child,
        url=f"http://{LOOPBACK}:{port}",
        metrics_address=f"{LOOPBACK}:{metrics_port}",
        log_file=log_file,
    )


def bodies(count: int) -> list[dict]:
    """Seeded requests: a few rows of numbers to score, and a log-normal amount of work."""
    rng = random.Random(SEED)
    return [
        {
            "rows": [[rng.uniform(-1, 1) for _ in range(3)] for _ in range(rng.randint(1, 4))],
            "work_ms": min(rng.lognormvariate(math.log(WORK_MEDIAN_MS), WORK_SIGMA), WORK_CAP_MS),
        }
        for _ in range(count)
    ]


def post_all(variant: Variant, loads: Sequence[dict]) -> None:
    with requests.Session() as session:
        for body in loads:
            response = session.post(f"{variant.url}/predict", json=body, timeout=30)
            assert response.status_code == 200, response.text


def at_once(func: Callable[[T], object], items: Iterable[T]) -> None:
    """`func` on every item, one thread each (the two variants wait and load side by
    side); an exception in any of them is raised here."""
    items = list(items)
    with ThreadPoolExecutor(len(items)) as pool:
        list(pool.map(func, items))


def last_scrape(client: PrometheusClient, job: str) -> float:
    """The Unix time of `job`'s latest scrape, as Prometheus stamped its samples."""
    stamp = client.value(f'timestamp(up{{job="{job}"}})')
    assert stamp is not None, f"no scrape of {job} yet"
    return stamp


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    work = tmp_path_factory.mktemp("codemod-loop")
    warm_up, *loads = bodies(REQUESTS + 1)
    with Supervisor(work / "logs") as supervisor:
        variants = {metrics: start_app(supervisor, metrics, work) for metrics in KINDS}
        for v in variants.values():
            wait_until(http_ok(f"{v.url}/health"), v.child, 60, f"the app ({v.metrics})")
        targets = [ScrapeTarget(v.metrics, v.metrics_address) for v in variants.values()]
        server = start_prometheus(supervisor, work, targets)
        client = PrometheusClient(server.url)
        at_once(lambda v: post_all(v, [warm_up]), variants.values())  # the series exist
        at_once(lambda job: client.wait_for_scrapes(job, 2, WAIT_S), KINDS)
        for v in variants.values():
            v.baseline = len(parse_timing_log(v.log_file.read_text()).records)
            v.since = last_scrape(client, v.metrics)
        at_once(lambda v: post_all(v, loads), variants.values())
        at_once(lambda job: client.wait_for_scrapes(job, 2, WAIT_S), KINDS)
        for v in variants.values():
            v.until = last_scrape(client, v.metrics)
        children = list(supervisor.children)
        yield Live(variants, client)
    assert children and not any(child.alive() for child in children)


@dataclass(frozen=True)
class Exposed:
    """The one histogram on a /metrics page: its name, bucket bounds in ms, ms per unit."""

    name: str
    bounds_ms: tuple[float, ...]
    ms_per_unit: float


def exposed_histogram(page: str) -> Exposed:
    (family,) = [
        f for f in prometheus_parser.text_string_to_metric_families(page) if f.type == "histogram"
    ]
    suffix = next((s for s in MS_PER_UNIT if family.name.endswith(s)), None)
    assert suffix is not None, f"{family.name} names no time unit ({', '.join(MS_PER_UNIT)})"
    les = {s.labels["le"] for s in family.samples if s.name.endswith("_bucket")}
    bounds = sorted(float(le) * MS_PER_UNIT[suffix] for le in les if le != "+Inf")
    return Exposed(family.name, tuple(bounds), MS_PER_UNIT[suffix])


def bucket_width(value_ms: float, bounds_ms: Sequence[float]) -> float:
    for lower, upper in itertools.pairwise(sorted({0.0, *bounds_ms})):
        if lower < value_ms <= upper:
            return upper - lower
    raise AssertionError(f"{value_ms} ms is outside the finite buckets {bounds_ms}")


def tolerance_ms(logged_ms: float, bounds_ms: Sequence[float]) -> float:
    """How far PromQL's answer may be from the logged quantile: the width of the bucket the
    recorded quantile lies in (histogram_quantile interpolates inside it). The line rounds
    to 0.1 ms, so that bucket is the logged value's or, right at a bound, its neighbour."""
    half = LOG_RESOLUTION_MS / 2
    widths = (bucket_width(logged_ms + d, bounds_ms) for d in (-half, half))
    return max(widths) + half


@pytest.mark.parametrize("metrics", KINDS)
def test_the_codemod_rewrote_the_handler_and_kept_the_log_line(live, metrics):
    variant = live.variants[metrics]
    call = {"otel": ".record(elapsed_ms)", "prometheus": ".observe(elapsed_ms / 1000)"}
    assert call[metrics] in variant.source
    assert 'logger.info(f"predict took {elapsed_ms:.1f}ms for {len(rows)} rows")' in variant.source
    assert variant.check_exit == 0  # a second run changes nothing


@pytest.mark.parametrize("metrics", KINDS)
def test_the_histogram_is_exposed_in_its_unit(live, metrics):
    exposed = exposed_histogram(requests.get(live.variants[metrics].metrics_url, timeout=5).text)
    assert exposed.name.endswith(UNIT_SUFFIX[metrics]), exposed
    assert len(exposed.bounds_ms) > 5 and exposed.bounds_ms[-1] >= WORK_CAP_MS * 2, exposed


@pytest.mark.parametrize("metrics", KINDS)
def test_count_and_sum_match_the_log(live, metrics):
    """Each request recorded once, in the unit the name says (a unit slip is 1000x)."""
    variant = live.variants[metrics]
    exposed = exposed_histogram(requests.get(variant.metrics_url, timeout=5).text)
    durations = variant.durations_ms()
    assert len(durations) == REQUESTS

    def increase(series: str) -> float:
        """The series' rise from the baseline scrape to the final one (no extrapolation)."""
        promql = f"sum({series_selector(f'{exposed.name}_{series}', [('job', '=', metrics)])})"
        before = live.client.value(promql, at=variant.since)
        after = live.client.value(promql, at=variant.until)
        assert before is not None and after is not None, (promql, before, after)
        return after - before

    assert increase("count") == REQUESTS
    rounding = LOG_RESOLUTION_MS / 2 * REQUESTS
    assert increase("sum") * exposed.ms_per_unit == pytest.approx(sum(durations), abs=rounding)


@pytest.mark.parametrize("quantile", [0.99, 0.5])
@pytest.mark.parametrize("metrics", KINDS)
def test_promql_quantile_matches_the_logged_durations(live, metrics, quantile):
    variant = live.variants[metrics]
    exposed = exposed_histogram(requests.get(variant.metrics_url, timeout=5).text)
    promql = histogram_quantile_query(quantile, exposed.name, variant.window, {"job": metrics})
    answer = live.client.value(promql, at=variant.until)
    assert answer is not None and not math.isnan(answer), promql
    answer_ms = answer * exposed.ms_per_unit
    truth_ms = nearest_rank(variant.durations_ms(), quantile)
    error = abs(answer_ms - truth_ms)
    assert error <= tolerance_ms(truth_ms, exposed.bounds_ms), (promql, answer_ms, truth_ms)
    print(f"\n{metrics} p{quantile * 100:g}: PromQL {answer_ms:.2f} ms, log {truth_ms:.1f} ms")
