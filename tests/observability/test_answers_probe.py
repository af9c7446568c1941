"""The exact figures each answer is held against, and the errors recorded."""

from __future__ import annotations

import pytest

from infragap.loadtests.latency_log import LevelLoad
from infragap.suites.observability.answers_probe import (
    ScrapeTargetDown,
    answer_record,
    check_target_up,
    exact_figures,
)
from infragap.workloads import operator_questions as q
from infragap.workloads.operator_questions import Answer


def level(latencies, failures=0, window_s=2.0):
    return LevelLoad(4, window_s, latencies, failures, {}, [], 0.0, 0.0)


def test_exact_figures_from_the_load_engine():
    exact = exact_figures(level([float(i) for i in range(1, 101)], failures=0), "otel")
    assert exact[q.P50] == 50.0 and exact[q.P99] == 99.0
    assert exact[q.REQUEST_RATE] == 50.0  # 100 requests in 2 s
    assert exact[q.STATUS_SHARE] == {"200": 1.0}
    assert exact[q.P99_BY_VARIANT] == {"otel": 99.0}
    assert q.TRITON_BATCH_SIZE not in exact


def test_failures_count_in_the_rate_and_the_status_share():
    exact = exact_figures(level([1.0, 2.0, 3.0], failures=1), "log")
    assert exact[q.REQUEST_RATE] == 2.0
    assert exact[q.STATUS_SHARE] == {"200": 0.75, "failed": 0.25}


def test_triton_figures_come_from_its_counter_deltas():
    triton = {"mean_batch_size": 6.5, "mean_queue_us": 1500.0, "mean_compute_infer_us": 800.0}
    exact = exact_figures(level([1.0]), "triton", triton)
    assert exact[q.TRITON_BATCH_SIZE] == 6.5
    assert exact[q.TRITON_QUEUE_VS_COMPUTE] == {"queue_ms": 1.5, "compute_ms": 0.8}


def test_an_empty_level_has_no_latency_figures():
    exact = exact_figures(level([], window_s=0.0), "otel")
    assert exact == {}


def test_answer_record_gives_absolute_and_relative_error():
    record = answer_record(Answer(q.P99, 12.0, "note", "promql", 100, 0.01), 10.0)
    assert record["exact"] == 10.0
    assert record["abs_error"] == pytest.approx(2.0)
    assert record["rel_error"] == pytest.approx(0.2)
    assert record["bytes_read"] == 100


def test_a_breakdown_reports_its_worst_key():
    answer = Answer(q.STATUS_SHARE, {"200": 0.9, "400": 0.1}, "")
    record = answer_record(answer, {"200": 1.0})
    assert abs(record["abs_error"]) == pytest.approx(0.1)  # 200 and 400 both off by 0.1


def test_an_unanswered_question_has_no_error():
    record = answer_record(Answer(q.STATUS_SHARE, None, "cannot answer: no status"), {"200": 1.0})
    assert record["value"] is None and record["abs_error"] is None and record["rel_error"] is None


def test_a_zero_exact_figure_has_no_relative_error():
    record = answer_record(Answer(q.REQUEST_RATE, 1.0, ""), 0.0)
    assert record["abs_error"] == 1.0 and record["rel_error"] is None


class FakeTargets:
    def __init__(self, health):
        self.health = health

    def targets(self):
        return [
            {
                "labels": {"job": "otel"},
                "health": self.health,
                "scrapeUrl": "http://127.0.0.1:1/metrics",
                "lastError": "connection refused",
            }
        ]


def test_a_target_that_died_is_named_with_prometheus_error():
    with pytest.raises(ScrapeTargetDown, match=r"otel.*connection refused"):
        check_target_up(FakeTargets("down"), "otel")  # type: ignore[arg-type]
    check_target_up(FakeTargets("up"), "otel")  # type: ignore[arg-type]


def test_triton_is_asked_its_own_questions_and_the_apps_the_others():
    from infragap.suites.observability.answers_probe import questions_for

    assert questions_for("triton") == (q.TRITON_QUEUE_VS_COMPUTE, q.TRITON_BATCH_SIZE)
    assert q.P99 in questions_for("otel") and q.TRITON_BATCH_SIZE not in questions_for("otel")
