"""The naive hoisted model endpoint, instrumented: `/predict` timed and recorded as metrics.

`--metrics` picks how the time of each request is kept:

- `otel`: an OpenTelemetry metrics SDK histogram `model_inference_duration_ms` (unit
  `ms`), exported for Prometheus by `opentelemetry-exporter-prometheus`. The exporter
  appends the unit to the name, as the OTel-to-Prometheus compatibility spec says, so
  Prometheus sees `model_inference_duration_ms_milliseconds` (names.PROMETHEUS_HISTOGRAM).
- `prometheus-client`: a `prometheus_client` Histogram `model_inference_duration_ms`.
- `none`: the same endpoint with no timing at all (the bare reference the overhead of
  each other way is measured against); no /metrics.
- `log`: the naive app itself (`naive/serving_app.py`, hoisted), unchanged: its
  `logger.info("predict took X ms for N rows")` line goes to `--log-file`, written with
  the format a team gives `logging.basicConfig` (LOG_FORMAT, timestamps first). Only the
  `predict` logger writes there; werkzeug's access log stays on stderr, as a separate
  access log does behind gunicorn.

Both metric variants record every /predict request, with the attributes (labels)
`variant` and `status` (the HTTP status, 400s for bad bodies and 500s for crashes
included), so requests are counted by status through the histogram's `_count`; a
separate counter would pay a second record per request for the same numbers. They do
not also write the naive log line: the comparison is "what a team pays for a log line"
against "what it pays for a histogram", and paying both would charge the metrics side
for the log. The time spans the whole view (body parsing, scoring, building the JSON
response), measured with `time.perf_counter`.

`/metrics` is served by the same Flask app on the same 127.0.0.1 port, not by
prometheus_client's own HTTP server on a second port: in this single-process threaded
server a second port is still the same process and GIL, so it would not isolate the
scrape, while one port means one listener to bind, check and scrape, and the scrape's
cost lands in the server's own measurements, as it does in production. The registry is
the app's own, never prometheus_client's global REGISTRY, so two apps in one process (in
tests) do not collide and the default process/GC collectors stay out of the answers.

`--buckets` is the bucket layout: `default` (each library's own: OTel's 0, 5, 10, 25,
... 10000 ms; prometheus_client's 0.005 ... 10, a layout meant for seconds) or a
comma-separated list of upper bounds in ms, installed on the OTel side with a View.

`--added-delay-ms MS --added-delay-share P --seed S` is a seeded slow-down, as a slow
dependency would cause: a share P of requests (drawn from a generator seeded with S)
sleeps MS inside the timed handler. The alerting check drives it to see the SLO alert
fire; it is off by default.

`--exact-durations-file` also appends each recorded duration, at full precision, with
its status, to a file: the exact reference that the histogram's quantiles are checked
against. Off by default, and it costs a file write per request, so leave it off when
measuring overhead.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import torch
from flask import Flask, Response, jsonify, make_response, request
from werkzeug.exceptions import HTTPException

from infragap.errors import ConfigError, InfragapError, MissingDependency
from infragap.naive import serving_app
from infragap.naive.serving_app import NOT_JSON, BadRequest, json_body, new_app, score, serve
from infragap.proven.observability.names import HISTOGRAM, LABELS, STATUS_LABEL, VARIANT_LABEL

METRICS = ("otel", "prometheus-client", "log", "none")
DESCRIPTION = "Time spent in the /predict handler, by variant and HTTP status."
DEFAULT_VARIANT = "hoisted"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
TIMING_LOGGER = "predict"  # the naive app's logger
METER_NAME = "infragap.serving"

Layout = Literal["default"] | tuple[float, ...]


def parse_layout(text: str) -> Layout:
    """`default`, or comma-separated bucket upper bounds in ms ("1,2.5,5,10")."""
    if text.strip() == "default":
        return "default"
    try:
        bounds = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise ConfigError(
            f"--buckets {text!r} is neither `default` nor comma-separated numbers: "
            "pass for example --buckets 1,2.5,5,10,25,50"
        ) from None
    return check_layout(bounds)


def check_layout(bounds: Sequence[float]) -> tuple[float, ...]:
    """The bounds if they are finite, non-negative and strictly increasing."""
    bounds = tuple(float(bound) for bound in bounds)
    if not bounds:
        raise ConfigError("a bucket layout needs at least one bound: pass --buckets 1,5,10 or so")
    if not all(math.isfinite(bound) and bound >= 0 for bound in bounds):
        raise ConfigError(
            f"bucket bounds must be finite, non-negative ms (+Inf is always added): {bounds}"
        )
    if any(later <= earlier for earlier, later in itertools.pairwise(bounds)):
        raise ConfigError(f"bucket bounds must be strictly increasing: {bounds}")
    return bounds


class Recorder(Protocol):
    """Keeps one observation per request and serves them for a scrape."""

    def record(self, ms: float, status: int) -> None: ...

    def exposition(self, accept: str) -> tuple[bytes, str]:
        """The metrics page in the format `accept` asks for, and its content type."""
        ...


def _prometheus_client() -> Any:
    try:
        import prometheus_client
    except ImportError as exc:
        raise MissingDependency("prometheus_client", "observability") from exc
    return prometheus_client


def _encode(registry: Any, accept: str) -> tuple[bytes, str]:
    from prometheus_client.exposition import choose_encoder

    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type


class PrometheusClientRecorder:
    """A prometheus_client Histogram on its own registry."""

    def __init__(self, layout: Layout = "default", variant: str = DEFAULT_VARIANT) -> None:
        client = _prometheus_client()
        self.registry = client.CollectorRegistry()
        buckets = client.Histogram.DEFAULT_BUCKETS if layout == "default" else layout
        self.histogram = client.Histogram(
            HISTOGRAM, DESCRIPTION, LABELS, buckets=buckets, registry=self.registry
        )
        self.variant = variant

    def record(self, ms: float, status: int) -> None:
        self.histogram.labels(self.variant, str(status)).observe(ms)

    def exposition(self, accept: str) -> tuple[bytes, str]:
        return _encode(self.registry, accept)


class OtelRecorder:
    """An OpenTelemetry SDK histogram (its own MeterProvider, not the global one), read by
    a PrometheusMetricReader on its own prometheus_client registry. The bucket layout is a
    View: the SDK's default buckets stop being useful below 5 ms and above 10 s."""

    def __init__(self, layout: Layout = "default", variant: str = DEFAULT_VARIANT) -> None:
        try:
            from opentelemetry.exporter.prometheus import PrometheusMetricReader
            from opentelemetry.sdk.metrics import MeterProvider
            from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
            from opentelemetry.sdk.resources import Resource
        except ImportError as exc:
            raise MissingDependency(
                "opentelemetry-sdk with opentelemetry-exporter-prometheus", "observability"
            ) from exc
        client = _prometheus_client()
        self.registry = client.CollectorRegistry()
        self.reader = PrometheusMetricReader(registry=self.registry)
        aggregation = ExplicitBucketHistogramAggregation(
            boundaries=None if layout == "default" else layout
        )
        self.provider = MeterProvider(
            metric_readers=[self.reader],
            resource=Resource.create({"service.name": "infragap-serving"}),
            views=[View(instrument_name=HISTOGRAM, aggregation=aggregation)],
        )
        self.histogram = self.provider.get_meter(METER_NAME).create_histogram(
            HISTOGRAM, unit="ms", description=DESCRIPTION
        )
        self.variant = variant

    def record(self, ms: float, status: int) -> None:
        self.histogram.record(ms, {VARIANT_LABEL: self.variant, STATUS_LABEL: str(status)})

    def exposition(self, accept: str) -> tuple[bytes, str]:
        return _encode(self.registry, accept)


class ExactDurations:
    """Wraps a Recorder and also appends `status ms` lines (full precision) to a file."""

    def __init__(self, inner: Recorder, path: Path) -> None:
        self.inner = inner
        self._lock = threading.Lock()
        self._file = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 (app-long)

    def record(self, ms: float, status: int) -> None:
        self.inner.record(ms, status)
        with self._lock:
            self._file.write(f"{status} {ms!r}\n")

    def exposition(self, accept: str) -> tuple[bytes, str]:
        return self.inner.exposition(accept)


def read_exact_durations(text: str) -> list[tuple[int, float]]:
    """(status, ms) pairs from an --exact-durations-file. Only complete lines count: the
    last one may be half written while the server runs."""
    pairs = []
    for line in text[: text.rfind("\n") + 1].splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit():
            try:
                pairs.append((int(parts[0]), float(parts[1])))
            except ValueError:
                continue
    return pairs


def new_recorder(
    metrics: str, layout: Layout = "default", variant: str = DEFAULT_VARIANT
) -> Recorder:
    """The Recorder for `otel` or `prometheus-client`."""
    if metrics == "otel":
        return OtelRecorder(layout, variant)
    if metrics == "prometheus-client":
        return PrometheusClientRecorder(layout, variant)
    raise ConfigError(
        f"--metrics {metrics!r} has no recorder: use otel or prometheus-client "
        "(`log` is the naive app with its log line)"
    )


def timed(view: Callable[[], Response], recorder: Recorder) -> Callable[[], Response]:
    """`view`, recording its duration and final HTTP status, even when it raises."""

    def wrapper() -> Response:
        start = time.perf_counter()
        status = 500  # an exception Flask turns into a 500
        try:
            response = view()
            status = response.status_code
            return response
        except HTTPException as error:  # 413 for a body over the limit, ...
            status = error.code or 500
            raise
        finally:
            recorder.record((time.perf_counter() - start) * 1000, status)

    wrapper.__name__ = view.__name__
    return wrapper


@dataclass(frozen=True)
class SlowDown:
    """A seeded share of requests sleeps `delay_ms` inside the handler."""

    delay_ms: float
    share: float
    seed: int = 0

    def __post_init__(self) -> None:
        if not (self.delay_ms > 0 and math.isfinite(self.delay_ms)):
            raise ConfigError(f"--added-delay-ms must be a positive number, not {self.delay_ms}")
        if not 0 < self.share <= 1:
            raise ConfigError(f"--added-delay-share must be in (0, 1], not {self.share}")

    def sleeper(self) -> Callable[[], None]:
        draw = random.Random(self.seed).random

        def maybe_sleep() -> None:
            if draw() < self.share:
                time.sleep(self.delay_ms / 1000)

        return maybe_sleep


def create_app(
    model_path: str, recorder: Recorder | None, slow_down: SlowDown | None = None
) -> Flask:
    """The naive hoisted app's /predict (model loaded once), timed into `recorder`, plus
    /metrics; with no recorder, untimed and without /metrics (the bare reference). Same
    checks and answers as the naive app, without its log line."""
    app = new_app(__name__)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = torch.jit.load(model_path, map_location=device)
    maybe_sleep = slow_down.sleeper() if slow_down else None

    def predict() -> Response:
        if maybe_sleep is not None:
            maybe_sleep()
        body = json_body()
        if body is None:
            return make_response(jsonify(error=NOT_JSON), 400)
        try:
            scores = score(model, body, device)
        except BadRequest as error:
            return make_response(jsonify(error=str(error)), 400)
        return jsonify(scores=scores)

    if recorder is None:
        app.post("/predict")(predict)
        return app
    app.post("/predict")(timed(predict, recorder))

    @app.get("/metrics")
    def metrics() -> Response:
        body, content_type = recorder.exposition(request.headers.get("Accept", ""))
        return Response(body, content_type=content_type)

    return app


def configure_timing_log(path: Path) -> logging.Logger:
    """The naive app's `predict` logger, writing to `path` in LOG_FORMAT and nowhere else
    (not also to stderr through the root logger, which would pay for the line twice)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logger = logging.getLogger(TIMING_LOGGER)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


def create_log_app(model_path: str, log_file: Path) -> Flask:
    """The naive hoisted app, unchanged, with its timing line going to `log_file`."""
    configure_timing_log(log_file)
    return serving_app.create_app(model_path, hoisted=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Naive Flask model endpoint, instrumented")
    parser.add_argument("--model", required=True, help="TorchScript file")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--metrics", choices=METRICS, default="otel")
    parser.add_argument("--log-file", type=Path, help="with --metrics log: the timing log")
    parser.add_argument(
        "--buckets", default="default", help="`default` or bucket upper bounds in ms: 1,2.5,5"
    )
    parser.add_argument(
        "--variant", default=DEFAULT_VARIANT, help="the `variant` label on every observation"
    )
    parser.add_argument(
        "--exact-durations-file",
        type=Path,
        help="also append `status ms` per request here (the exact reference; costs a write)",
    )
    parser.add_argument(
        "--added-delay-ms", type=float, help="seeded slow-down: sleep this long in some requests"
    )
    parser.add_argument(
        "--added-delay-share",
        type=float,
        default=1.0,
        help="with --added-delay-ms: the share of requests that sleep (default all)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seeds the slow-down's draws")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.metrics == "log":
        if args.log_file is None:
            parser.error("--metrics log needs --log-file")
        serve(create_log_app(args.model, args.log_file), args.port)
        return
    try:
        slow_down = None
        if args.added_delay_ms is not None:
            slow_down = SlowDown(args.added_delay_ms, args.added_delay_share, args.seed)
        recorder = None
        if args.metrics != "none":
            recorder = new_recorder(args.metrics, parse_layout(args.buckets), args.variant)
    except InfragapError as error:  # a bad --buckets or slow-down, or a library missing
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    if recorder is not None and args.exact_durations_file is not None:
        recorder = ExactDurations(recorder, args.exact_durations_file)
    serve(create_app(args.model, recorder, slow_down), args.port)


if __name__ == "__main__":
    main()
