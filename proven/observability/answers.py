"""The operator's questions answered with PromQL, over Prometheus's HTTP API.

Each question is one or two instant queries, built from checked names by
`infragap.proven.prometheus.query` and all evaluated at the same instant:

- p50 / p99: `histogram_quantile(q, sum by (le) (rate(<h>_bucket[w])))`, interpolated
  inside the bucket the quantile falls in, so only as exact as the bucket layout;
- request rate: `sum(rate(<h>_count[w]))`, every status included;
- share by status: `sum by (status) (rate(<h>_count[w])) / scalar(sum(rate(<h>_count[w])))`;
- p99 by variant: the p99 query with `by (variant)`;
- Triton: its own counters, `nv_inference_queue_duration_us` and
  `nv_inference_compute_infer_duration_us` over `nv_inference_request_success` (mean µs
  per request, given in ms), and `nv_inference_count` over `nv_inference_exec_count`
  (inferences per model execution: the mean batch size).

`queries` and `interpret` are pure; `answer_all` is the thin wrapper that sends the
queries and records the bytes and the time of each answer.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import requests

from infragap.errors import ConfigError
from infragap.proven.observability.names import HISTOGRAM, STATUS_LABEL, VARIANT_LABEL
from infragap.proven.prometheus.query import (
    PrometheusClient,
    PrometheusError,
    Sample,
    api_data,
    check_label_name,
    check_metric_name,
    equal_to,
    histogram_quantile_query,
    instant_samples,
    rate_query,
)
from infragap.workloads.operator_questions import (
    P50,
    P99,
    P99_BY_VARIANT,
    QUESTION_IDS,
    REQUEST_RATE,
    STATUS_SHARE,
    TRITON_BATCH_SIZE,
    TRITON_QUEUE_VS_COMPUTE,
    Answer,
    Value,
)

US_PER_MS = 1000


@dataclass(frozen=True)
class MetricNames:
    """Where the answers are in Prometheus: the histogram's base name as Prometheus stores
    it (`model_inference_duration_ms_milliseconds` for the OTel variant, see
    names.PROMETHEUS_HISTOGRAM), its labels, and the matchers that pick the
    serving endpoint's series and Triton's (`{"job": "..."}`)."""

    histogram: str = HISTOGRAM
    variant_label: str = VARIANT_LABEL
    status_label: str = STATUS_LABEL
    window: str = "1m"
    matchers: Mapping[str, str] = field(default_factory=dict)
    triton_matchers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_metric_name(self.histogram, "histogram name")
        check_label_name(self.variant_label)
        check_label_name(self.status_label)
        rate_query("x", self.window, equal_to(self.matchers))  # checks window and labels
        rate_query("x", self.window, equal_to(self.triton_matchers))


def _ratio(numerator: str, denominator: str, scale: int = 1) -> str:
    divided = f"{numerator} / {denominator}"
    return f"{divided} / {scale}" if scale != 1 else divided


def queries(question_id: str, names: MetricNames) -> tuple[str, ...]:
    """The PromQL that answers one question (Triton's queue vs compute takes two)."""
    h, w = names.histogram, names.window
    matchers, triton = equal_to(names.matchers), equal_to(names.triton_matchers)
    if question_id == P50:
        return (histogram_quantile_query(0.5, h, w, names.matchers),)
    if question_id == P99:
        return (histogram_quantile_query(0.99, h, w, names.matchers),)
    if question_id == REQUEST_RATE:
        return (rate_query(f"{h}_count", w, matchers),)
    if question_id == STATUS_SHARE:
        by_status = rate_query(f"{h}_count", w, matchers, [names.status_label])
        return (_ratio(by_status, f"scalar({rate_query(f'{h}_count', w, matchers)})"),)
    if question_id == P99_BY_VARIANT:
        return (histogram_quantile_query(0.99, h, w, names.matchers, [names.variant_label]),)
    success = rate_query("nv_inference_request_success", w, triton)
    if question_id == TRITON_QUEUE_VS_COMPUTE:
        return (
            _ratio(rate_query("nv_inference_queue_duration_us", w, triton), success, US_PER_MS),
            _ratio(
                rate_query("nv_inference_compute_infer_duration_us", w, triton),
                success,
                US_PER_MS,
            ),
        )
    if question_id == TRITON_BATCH_SIZE:
        executions = rate_query("nv_inference_exec_count", w, triton)
        return (_ratio(rate_query("nv_inference_count", w, triton), executions),)
    raise KeyError(f"unknown question {question_id!r}: known ones are {QUESTION_IDS}")


def _single(samples: Sequence[Sample]) -> float | None:
    if len(samples) != 1 or math.isnan(samples[0].value) or math.isinf(samples[0].value):
        return None
    return samples[0].value


def _by(samples: Sequence[Sample], label: str) -> dict[str, float]:
    return {
        sample.labels.get(label, ""): sample.value
        for sample in samples
        if not (math.isnan(sample.value) or math.isinf(sample.value))
    }


def interpret(
    question_id: str, results: Sequence[Sequence[Sample]], names: MetricNames
) -> tuple[Value | None, str]:
    """The value of an answer from its queries' samples (in `queries` order), or None
    and why: no series (nothing scraped under those names) or no traffic in the window."""
    if not any(results):
        triton = question_id in (TRITON_QUEUE_VS_COMPUTE, TRITON_BATCH_SIZE)
        where = "Triton's nv_inference_* series" if triton else f"series of {names.histogram}"
        return None, f"no {where} in Prometheus for these matchers: is the target scraped?"
    if question_id == STATUS_SHARE:
        shares = _by(results[0], names.status_label)
        if not shares:
            return None, "no requests in the window"
        return shares, "all statuses, 400s and 500s included"
    if question_id == P99_BY_VARIANT:
        by_variant = _by(results[0], names.variant_label)
        return (by_variant, "") if by_variant else (None, "no observations in the window")
    if question_id == TRITON_QUEUE_VS_COMPUTE:
        queue, compute = (_single(result) for result in results)
        if queue is None or compute is None:
            return None, "no Triton requests in the window"
        return {"queue_ms": queue, "compute_ms": compute}, "mean per successful request"
    value = _single(results[0])
    if value is None:
        return None, "no observations in the window"
    if question_id in (P50, P99):
        return value, "interpolated inside its bucket: as exact as the bucket layout"
    if question_id == REQUEST_RATE:
        return value, "all statuses; per-second rate, extrapolated to the window's edges"
    return value, ""


def query_sized(client: PrometheusClient, promql: str, at: float) -> tuple[list[Sample], int]:
    """An instant query's samples and the size in bytes of Prometheus's answer (what
    PrometheusClient.query does, keeping the size)."""
    what = f"query {promql!r}"
    try:
        response = requests.get(
            f"{client.url}/api/v1/query",
            params={"query": promql, "time": f"{at:.3f}"},
            timeout=client.timeout_s,
        )
    except requests.RequestException as exc:
        raise PrometheusError(
            f"{what}: could not reach Prometheus at {client.url} ({exc}): check that it runs"
        ) from exc
    data = api_data(response.status_code, response.text, what)
    return instant_samples(data, what), len(response.content)


def answer_question(
    client: PrometheusClient, question_id: str, names: MetricNames, at: float
) -> Answer:
    started = time.perf_counter()
    texts = queries(question_id, names)
    results, size = [], 0
    for promql in texts:
        samples, read = query_sized(client, promql, at)
        results.append(samples)
        size += read
    value, note = interpret(question_id, results, names)
    seconds = time.perf_counter() - started
    return Answer(question_id, value, note, "\n".join(texts), size, seconds)


def answer_all(
    client: PrometheusClient,
    names: MetricNames,
    at: float | None = None,
    question_ids: Sequence[str] = QUESTION_IDS,
) -> list[Answer]:
    """The questions (by default every one of the shared list), all evaluated at Unix
    time `at` (now)."""
    if at is not None and not math.isfinite(at):
        raise ConfigError(f"the evaluation time must be a Unix time in seconds, not {at}")
    instant = time.time() if at is None else at
    return [answer_question(client, question_id, names, instant) for question_id in question_ids]
