"""What recording one request's duration costs, each way, measured in-process.

The ways are the ones the instrumented endpoint uses (`proven/observability/
instrumented_app.py`), called exactly as the app calls them:

- `log-line`: the naive app's `logger.info(f"predict took {ms:.1f}ms for {n} rows")`
  through the `predict` logger set up by `configure_timing_log` (a FileHandler writing
  LOG_FORMAT to a file in `work_dir`; the handler flushes every line, as it does in the
  app).
- `otel-record`: an OpenTelemetry SDK histogram `record(ms)`, no attributes.
- `otel-record-attributes`: `OtelRecorder.record(ms, 200)`, the app's call: `record` with
  the attributes {"variant": ..., "status": "200"}, built per call.
- `prometheus-client-observe`: `PrometheusClientRecorder.record(ms, 200)`, the app's call:
  `.labels(variant, "200").observe(ms)` on a prometheus_client Histogram.
- `nothing`: the same loop over the same durations with an empty body: the floor.

Each way is a loop of `observations` calls over seeded durations prepared before timing,
timed with `time.perf_counter_ns`, `repeats` times; the repeats go round the ways in turn,
so a slow spell on a busy machine falls on every way alike. `ns_per_observation` is the
median over the repeats of the loop's ns per call *minus the floor's median*, so it is
the cost of the observation alone (the loop's own step is not the observation's);
`min_ns` is the fastest repeat minus the fastest floor. For `nothing` both numbers are the
floor itself, not subtracted; `floor_subtracted` says which is which. The metric ways
include the one method call the app makes through its recorder (tens of ns, against
µs).

The garbage collector stays on: an observation that allocates also pays for the
collections it causes, as it does in the app.
"""

from __future__ import annotations

import logging
import random
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from infragap.errors import ConfigError, MissingDependency

WAYS = (
    "log-line",
    "otel-record",
    "otel-record-attributes",
    "prometheus-client-observe",
    "nothing",
)
FLOOR = "nothing"
DESCRIPTIONS = {
    "log-line": 'logger.info(f"predict took {ms:.1f}ms for {n} rows") to a file (FileHandler)',
    "otel-record": "OpenTelemetry SDK histogram record(ms), no attributes",
    "otel-record-attributes": (
        'OpenTelemetry SDK histogram record(ms, {"variant": ..., "status": "200"}), as the app'
    ),
    "prometheus-client-observe": (
        "prometheus_client Histogram .labels(variant, status).observe(ms), as the app"
    ),
    "nothing": "the empty loop over the same durations: the floor, subtracted from the others",
}
LOG_FILE = "observation-cost-timing.log"  # in work_dir
ROWS = 8  # the `n rows` of the log line
STATUS = 200
WARMUP = 100  # untimed calls per way: first-call caches (OTel's per-attribute-set state)
SEED = 7

Loop = Callable[[Sequence[float]], None]


def seeded_durations(observations: int, seed: int = SEED) -> list[float]:
    """`observations` request durations in ms, log-normal around 3 ms like the endpoint's."""
    rng = random.Random(seed)
    return [rng.lognormvariate(1.1, 0.6) for _ in range(observations)]


def cost_table(
    ns_per_call: dict[str, list[float]], observations: int, floor: str = FLOOR
) -> dict[str, dict[str, Any]]:
    """Per way, from each repeat's ns per call: the median and the fastest, less the
    floor's (the floor's own row is left as it is). Plain data for the results JSON."""
    floor_median = statistics.median(ns_per_call[floor])
    floor_min = min(ns_per_call[floor])
    table = {}
    for way, samples in ns_per_call.items():
        subtract = way != floor
        median = statistics.median(samples) - (floor_median if subtract else 0.0)
        fastest = min(samples) - (floor_min if subtract else 0.0)
        table[way] = {
            "ns_per_observation": round(max(median, 0.0), 1),
            "min_ns": round(max(fastest, 0.0), 1),
            "repeats": len(samples),
            "observations": observations,
            "floor_subtracted": subtract,
            "description": DESCRIPTIONS.get(way, way),
        }
    return table


def time_loop(loop: Loop, durations: Sequence[float]) -> float:
    """ns per call of one run of `loop` over `durations`."""
    start = time.perf_counter_ns()
    loop(durations)
    return (time.perf_counter_ns() - start) / len(durations)


@contextmanager
def borrowed_timing_log(path: Path) -> Iterator[logging.Logger]:
    """The `predict` logger writing to `path` only (configure_timing_log), then given back
    as it was: its own handlers back, level, propagation and `disabled` restored, and the
    file handler closed, so nothing else logged to `predict` lands in `path` afterwards."""
    instrumented_app = _instrumented_app()
    logger = logging.getLogger(instrumented_app.TIMING_LOGGER)
    saved = (list(logger.handlers), logger.level, logger.propagate, logger.disabled)
    for handler in saved[0]:  # measure one FileHandler, not whatever else is attached
        logger.removeHandler(handler)
    try:
        instrumented_app.configure_timing_log(path)
        logger.disabled = False
        if not logger.isEnabledFor(logging.INFO):
            raise ConfigError(
                "logging is disabled at INFO (logging.disable was called), so a log line "
                "would cost nothing: call logging.disable(logging.NOTSET) before measuring"
            )
        yield logger
    finally:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()
        for handler in saved[0]:
            logger.addHandler(handler)
        logger.setLevel(saved[1])
        logger.propagate, logger.disabled = saved[2], saved[3]


def observation_loops(log: logging.Logger, otel: Any, prom: Any) -> dict[str, Loop]:
    """One loop per way, each calling the observation inline, as the app does."""

    def log_line(durations: Sequence[float]) -> None:
        for ms in durations:
            log.info(f"predict took {ms:.1f}ms for {ROWS} rows")

    def otel_record(durations: Sequence[float]) -> None:
        histogram = otel.histogram
        for ms in durations:
            histogram.record(ms)

    def otel_record_attributes(durations: Sequence[float]) -> None:
        for ms in durations:
            otel.record(ms, STATUS)

    def prometheus_client_observe(durations: Sequence[float]) -> None:
        for ms in durations:
            prom.record(ms, STATUS)

    def nothing(durations: Sequence[float]) -> None:
        for _ms in durations:
            pass

    loops: dict[str, Loop] = {
        "log-line": log_line,
        "otel-record": otel_record,
        "otel-record-attributes": otel_record_attributes,
        "prometheus-client-observe": prometheus_client_observe,
        "nothing": nothing,
    }
    return {way: loops[way] for way in WAYS}


def measure_observation_costs(
    work_dir: Path, observations: int = 20000, repeats: int = 5, *, seed: int = SEED
) -> dict[str, dict[str, Any]]:
    """ns per observation for each of WAYS (see the module docstring for what is
    subtracted). Writes `work_dir/LOG_FILE` (started afresh: one line per log-line call,
    WARMUP + observations × repeats). Raises MissingDependency without the
    observability extra."""
    if observations < 1 or repeats < 1:
        raise ConfigError(
            f"observations ({observations}) and repeats ({repeats}) must be at least 1"
        )
    instrumented_app = _instrumented_app()
    durations = seeded_durations(observations, seed)
    log_path = Path(work_dir) / LOG_FILE
    log_path.unlink(missing_ok=True)
    ns_per_call: dict[str, list[float]] = {way: [] for way in WAYS}
    with ExitStack() as stack:
        otel = instrumented_app.OtelRecorder()
        stack.callback(otel.provider.shutdown)  # also drops its atexit hook
        prom = instrumented_app.PrometheusClientRecorder()
        log = stack.enter_context(borrowed_timing_log(log_path))
        loops = observation_loops(log, otel, prom)
        for loop in loops.values():
            loop(durations[:WARMUP])
        for _ in range(repeats):
            for way, loop in loops.items():
                ns_per_call[way].append(time_loop(loop, durations))
    return cost_table(ns_per_call, observations)


def _instrumented_app() -> Any:
    """The instrumented app's module, imported late: it imports torch and Flask, and its
    recorders import OpenTelemetry and prometheus_client (each raising MissingDependency)."""
    try:
        from infragap.proven.observability import instrumented_app
    except ImportError as exc:
        raise MissingDependency("torch and flask (the instrumented app)", "observability") from exc
    return instrumented_app
