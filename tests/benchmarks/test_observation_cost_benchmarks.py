"""The cost of recording one request's duration, each way, as pytest-benchmark
micro-benchmarks: the naive timing log line vs OpenTelemetry and prometheus_client
histograms, called as the instrumented app calls them, plus `nothing` (an empty call:
pytest-benchmark's own floor). `infragap.suites.observability.observation_cost` measures
the same ways for the results JSON.

`pytest tests/benchmarks/test_observation_cost_benchmarks.py --benchmark-json=FILE` writes the file
`infragap report --benchmarks FILE` shows. Benchmarks measure; nothing here asserts a
speed, only that the observations were kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytest_benchmark")
for _module in ("torch", "flask", "prometheus_client", "opentelemetry.exporter.prometheus"):
    pytest.importorskip(_module)

from infragap.naive.timing_log_answers import parse_timing_log  # noqa: E402 (after the skips)
from infragap.proven.observability.instrumented_app import (  # noqa: E402
    OtelRecorder,
    PrometheusClientRecorder,
)
from infragap.suites.observability.observation_cost import (  # noqa: E402
    LOG_FILE,
    ROWS,
    STATUS,
    borrowed_timing_log,
    seeded_durations,
)

ROUNDS = 20
ITERATIONS = 500  # calls per round: one call is a few µs, below the timer's resolution
MS = seeded_durations(1)[0]


def histogram_count(recorder: Any) -> float:
    """Observations the recorder's histogram holds, over every label set (a collect)."""
    return sum(
        sample.value
        for family in recorder.registry.collect()
        for sample in family.samples
        if sample.name.endswith("_count")
    )


def benchmark_calls(benchmark, call, *args: object) -> None:
    """ROUNDS × ITERATIONS calls of `call(*args)`, timed (once when benchmarks are off)."""
    benchmark.pedantic(call, args=args, rounds=ROUNDS, iterations=ITERATIONS, warmup_rounds=1)


@pytest.fixture
def otel() -> Iterator[OtelRecorder]:
    recorder = OtelRecorder()
    yield recorder
    recorder.provider.shutdown()


def test_log_line(benchmark, tmp_path: Path):
    path = tmp_path / LOG_FILE
    with borrowed_timing_log(path) as logger:

        def log_line(ms: float) -> None:
            logger.info(f"predict took {ms:.1f}ms for {ROWS} rows")

        benchmark_calls(benchmark, log_line, MS)
    log = parse_timing_log(path.read_text())
    assert log.records and log.malformed == 0 and log.other_records == 0
    assert {record.ms for record in log.records} == {round(MS, 1)}


def test_otel_record(benchmark, otel):
    benchmark_calls(benchmark, otel.histogram.record, MS)
    assert histogram_count(otel) > 0


def test_otel_record_attributes(benchmark, otel):
    benchmark_calls(benchmark, otel.record, MS, STATUS)
    assert histogram_count(otel) > 0


def test_prometheus_client_observe(benchmark):
    recorder = PrometheusClientRecorder()
    benchmark_calls(benchmark, recorder.record, MS, STATUS)
    assert histogram_count(recorder) > 0


def test_nothing(benchmark):
    """The floor: what one call costs under the benchmark before it records anything."""

    def nothing(ms: float) -> None:
        pass

    benchmark_calls(benchmark, nothing, MS)
