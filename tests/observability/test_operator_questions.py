"""The shared question list, and the PromQL side's queries and readings (no server)."""

from __future__ import annotations

import math

import pytest

from infragap.errors import ConfigError
from infragap.proven.observability.answers import MetricNames, interpret, queries
from infragap.proven.observability.names import PROMETHEUS_HISTOGRAM
from infragap.proven.prometheus.query import Sample
from infragap.workloads import operator_questions as q


def test_question_ids_are_unique_and_cover_the_issue():
    assert len(set(q.QUESTION_IDS)) == len(q.QUESTIONS)
    assert set(q.QUESTION_IDS) == {
        q.P50,
        q.P99,
        q.REQUEST_RATE,
        q.STATUS_SHARE,
        q.P99_BY_VARIANT,
        q.TRITON_QUEUE_VS_COMPUTE,
        q.TRITON_BATCH_SIZE,
    }
    assert all(question.text.endswith("?") and question.unit for question in q.QUESTIONS)
    assert q.question(q.P99).unit == "ms"
    with pytest.raises(KeyError, match="known ones are p50_latency"):
        q.question("p42")


def test_an_answer_without_a_value_is_not_answered():
    assert not q.Answer(q.P99, None, "cannot answer: x").answered
    assert q.Answer(q.P99, 0.0).answered


NAMES = MetricNames(
    histogram=PROMETHEUS_HISTOGRAM["otel"],
    window="30s",
    matchers={"job": "otel"},
    triton_matchers={"job": "triton"},
)
H = 'model_inference_duration_ms_milliseconds_{}{{job="otel"}}[30s]'


def test_every_question_has_queries():
    for question_id in q.QUESTION_IDS:
        assert queries(question_id, NAMES)
    with pytest.raises(KeyError):
        queries("p42", NAMES)


def test_latency_and_rate_queries():
    assert queries(q.P99, NAMES) == (
        f"histogram_quantile(0.99, sum by (le) (rate({H.format('bucket')})))",
    )
    assert queries(q.P99_BY_VARIANT, NAMES) == (
        f"histogram_quantile(0.99, sum by (le, variant) (rate({H.format('bucket')})))",
    )
    assert queries(q.REQUEST_RATE, NAMES) == (f"sum(rate({H.format('count')}))",)
    assert queries(q.STATUS_SHARE, NAMES) == (
        f"sum by (status) (rate({H.format('count')})) / scalar(sum(rate({H.format('count')})))",
    )


def test_triton_queries_read_its_own_counters():
    queue, compute = queries(q.TRITON_QUEUE_VS_COMPUTE, NAMES)
    success = 'sum(rate(nv_inference_request_success{job="triton"}[30s]))'
    assert queue == (
        f'sum(rate(nv_inference_queue_duration_us{{job="triton"}}[30s])) / {success} / 1000'
    )
    assert compute.startswith('sum(rate(nv_inference_compute_infer_duration_us{job="triton"}')
    (batch,) = queries(q.TRITON_BATCH_SIZE, NAMES)
    assert batch == (
        'sum(rate(nv_inference_count{job="triton"}[30s])) / '
        'sum(rate(nv_inference_exec_count{job="triton"}[30s]))'
    )


def test_bad_names_fail_before_any_query():
    with pytest.raises(ConfigError, match="metric name"):
        MetricNames(histogram="model-latency")
    with pytest.raises(ConfigError, match="duration"):
        MetricNames(window="1 minute")
    with pytest.raises(ConfigError, match="label name"):
        MetricNames(matchers={"__name__": "x"})


def sample(value: float, **labels: str) -> Sample:
    return Sample(dict(labels), value, 0.0)


def test_interpret_values_and_breakdowns():
    assert interpret(q.P99, [[sample(12.5)]], NAMES)[0] == 12.5
    shares, note = interpret(
        q.STATUS_SHARE, [[sample(0.95, status="200"), sample(0.05, status="400")]], NAMES
    )
    assert shares == {"200": 0.95, "400": 0.05} and "400s" in note
    by_variant, _ = interpret(q.P99_BY_VARIANT, [[sample(3.0, variant="hoisted")]], NAMES)
    assert by_variant == {"hoisted": 3.0}
    split, _ = interpret(q.TRITON_QUEUE_VS_COMPUTE, [[sample(0.2)], [sample(1.5)]], NAMES)
    assert split == {"queue_ms": 0.2, "compute_ms": 1.5}
    assert interpret(q.TRITON_BATCH_SIZE, [[sample(3.5)]], NAMES)[0] == 3.5


def test_interpret_no_series_and_no_traffic():
    value, note = interpret(q.P99, [[]], NAMES)
    assert value is None and "model_inference_duration_ms_milliseconds" in note
    value, note = interpret(q.TRITON_BATCH_SIZE, [[]], NAMES)
    assert value is None and "nv_inference_" in note
    value, note = interpret(q.P99, [[sample(math.nan)]], NAMES)
    assert value is None and note == "no observations in the window"
    value, note = interpret(q.TRITON_QUEUE_VS_COMPUTE, [[sample(math.nan)], [sample(1.0)]], NAMES)
    assert value is None and "no Triton requests" in note
