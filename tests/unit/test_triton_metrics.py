# ruff: noqa: E501  (the sample keeps Triton's long HELP lines verbatim)
"""Metric parsing and deltas, on /metrics text captured from the bundled tritonserver 2.51.

AFTER was scraped after 400 one-row requests sent by 16 threads plus one request with an
out-of-range id (answered 400 by the model) and one malformed body (rejected by the HTTP
front end); BEFORE is the same server at start-up.
"""

from __future__ import annotations

import pytest

from infragap.proven.triton.metrics import (
    MetricsUnavailable,
    counter_deltas,
    parse_prometheus,
    triton_model_counters,
)

AFTER = """\
# HELP nv_inference_request_success Number of successful inference requests, all batch sizes
# TYPE nv_inference_request_success counter
nv_inference_request_success{model="ranker",version="1"} 401
# HELP nv_inference_request_failure Number of failed inference requests, all batch sizes
# TYPE nv_inference_request_failure counter
nv_inference_request_failure{model="ranker",reason="OTHER",version="1"} 0
nv_inference_request_failure{model="ranker",reason="CANCELED",version="1"} 0
nv_inference_request_failure{model="ranker",reason="BACKEND",version="1"} 0
nv_inference_request_failure{model="ranker",reason="REJECTED",version="1"} 0
# HELP nv_inference_count Number of inferences performed (does not include cached requests)
# TYPE nv_inference_count counter
nv_inference_count{model="ranker",version="1"} 401
# HELP nv_inference_exec_count Number of model executions performed (does not include cached requests)
# TYPE nv_inference_exec_count counter
nv_inference_exec_count{model="ranker",version="1"} 209
# HELP nv_inference_request_duration_us Cumulative inference request duration in microseconds (includes cached requests)
# TYPE nv_inference_request_duration_us counter
nv_inference_request_duration_us{model="ranker",version="1"} 1597223
# HELP nv_inference_queue_duration_us Cumulative inference queuing duration in microseconds (includes cached requests)
# TYPE nv_inference_queue_duration_us counter
nv_inference_queue_duration_us{model="ranker",version="1"} 831173
# HELP nv_inference_compute_input_duration_us Cumulative compute input duration in microseconds (does not include cached requests)
# TYPE nv_inference_compute_input_duration_us counter
nv_inference_compute_input_duration_us{model="ranker",version="1"} 17714
# HELP nv_inference_compute_infer_duration_us Cumulative compute inference duration in microseconds (does not include cached requests)
# TYPE nv_inference_compute_infer_duration_us counter
nv_inference_compute_infer_duration_us{model="ranker",version="1"} 674704
# HELP nv_inference_compute_output_duration_us Cumulative inference compute output duration in microseconds (does not include cached requests)
# TYPE nv_inference_compute_output_duration_us counter
nv_inference_compute_output_duration_us{model="ranker",version="1"} 71762
# HELP nv_inference_pending_request_count Instantaneous number of pending requests awaiting execution per-model.
# TYPE nv_inference_pending_request_count gauge
nv_inference_pending_request_count{model="ranker",version="1"} 0
# HELP nv_pinned_memory_pool_total_bytes Pinned memory pool total memory size, in bytes
# TYPE nv_pinned_memory_pool_total_bytes gauge
nv_pinned_memory_pool_total_bytes 0
# HELP nv_pinned_memory_pool_used_bytes Pinned memory pool used memory size, in bytes
# TYPE nv_pinned_memory_pool_used_bytes gauge
nv_pinned_memory_pool_used_bytes 0
# HELP nv_cpu_utilization CPU utilization rate [0.0 - 1.0]
# TYPE nv_cpu_utilization gauge
nv_cpu_utilization 0
# HELP nv_cpu_memory_total_bytes CPU total memory (RAM), in bytes
# TYPE nv_cpu_memory_total_bytes gauge
nv_cpu_memory_total_bytes 0
# HELP nv_cpu_memory_used_bytes CPU used memory (RAM), in bytes
# TYPE nv_cpu_memory_used_bytes gauge
nv_cpu_memory_used_bytes 0
"""

BEFORE = "\n".join(
    line.rsplit(" ", 1)[0] + " 0" if line and not line.startswith("#") else line
    for line in AFTER.splitlines()
)


def test_parse_keys_samples_by_name_and_sorted_labels() -> None:
    samples = parse_prometheus(AFTER)
    key = (
        "nv_inference_request_failure",
        (("model", "ranker"), ("reason", "BACKEND"), ("version", "1")),
    )
    assert samples[key] == 0.0
    assert samples[("nv_inference_exec_count", (("model", "ranker"), ("version", "1")))] == 209.0
    assert samples[("nv_cpu_memory_used_bytes", ())] == 0.0


def test_parse_handles_escapes_timestamps_and_special_values() -> None:
    text = 'm{a="x\\"y\\\\z",b="line\\nbreak"} +Inf 1700000000000\nother NaN\n'
    samples = parse_prometheus(text)
    assert samples[("m", (("a", 'x"y\\z'), ("b", "line\nbreak")))] == float("inf")
    assert ("other", ()) in samples


def test_parse_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_prometheus("ok 1\nthis is not a sample\n")


def test_model_counters_sum_failure_reasons() -> None:
    counters = triton_model_counters(AFTER, "ranker")
    assert counters["nv_inference_count"] == 401
    assert counters["nv_inference_exec_count"] == 209
    assert counters["nv_inference_request_success"] == 401
    assert counters["nv_inference_request_failure"] == 0
    assert counters["nv_inference_queue_duration_us"] == 831173
    assert counters["nv_inference_compute_infer_duration_us"] == 674704
    assert counters["nv_inference_compute_input_duration_us"] == 17714
    assert counters["nv_inference_compute_output_duration_us"] == 71762


def test_model_counters_sum_versions_and_ignore_other_models() -> None:
    text = (
        'nv_inference_count{model="ranker",version="1"} 3\n'
        'nv_inference_count{model="ranker",version="2"} 4\n'
        'nv_inference_count{model="other",version="1"} 100\n'
        'nv_inference_request_failure{model="ranker",reason="REJECTED",version="1"} 2\n'
        'nv_inference_request_failure{model="ranker",reason="BACKEND",version="2"} 1\n'
    )
    for name in ("exec_count", "request_success", "queue_duration_us", "compute_infer_duration_us"):
        text += f'nv_inference_{name}{{model="ranker",version="1"}} 1\n'
    counters = triton_model_counters(text, "ranker")
    assert counters["nv_inference_count"] == 7
    assert counters["nv_inference_request_failure"] == 3
    assert "nv_inference_compute_input_duration_us" not in counters


def test_unknown_model_has_no_counters() -> None:
    with pytest.raises(MetricsUnavailable, match="'nope'"):
        triton_model_counters(AFTER, "nope")


def test_deltas_give_batching_and_time_per_request() -> None:
    stats = counter_deltas(
        triton_model_counters(BEFORE, "ranker"), triton_model_counters(AFTER, "ranker")
    )
    assert stats.requests_succeeded == 401
    assert stats.requests_failed == 0
    assert stats.inferences == 401
    assert stats.executions == 209
    assert stats.mean_batch_size == pytest.approx(401 / 209)
    assert stats.mean_requests_per_batch == pytest.approx(401 / 209)
    assert stats.mean_queue_us == pytest.approx(831173 / 401)
    assert stats.mean_compute_infer_us == pytest.approx(674704 / 401)
    assert stats.mean_compute_input_us == pytest.approx(17714 / 401)
    assert stats.mean_compute_output_us == pytest.approx(71762 / 401)


def test_rows_and_requests_per_batch_differ_for_multi_row_requests() -> None:
    before = dict.fromkeys(
        ("nv_inference_count", "nv_inference_exec_count", "nv_inference_request_success"), 0.0
    )
    after = {
        "nv_inference_count": 80.0,  # 20 requests of 4 rows
        "nv_inference_exec_count": 5.0,
        "nv_inference_request_success": 20.0,
    }
    stats = counter_deltas(before, after)
    assert stats.mean_batch_size == 16
    assert stats.mean_requests_per_batch == 4
    assert stats.mean_queue_us is None


def test_idle_interval_has_no_ratios() -> None:
    counters = triton_model_counters(AFTER, "ranker")
    stats = counter_deltas(counters, counters)
    assert stats.executions == 0
    assert stats.mean_batch_size is None
    assert stats.mean_queue_us is None


def test_counter_going_down_means_a_restart() -> None:
    with pytest.raises(ValueError, match="restarted"):
        counter_deltas(
            triton_model_counters(AFTER, "ranker"), triton_model_counters(BEFORE, "ranker")
        )
