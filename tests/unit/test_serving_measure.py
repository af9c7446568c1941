from types import SimpleNamespace

from infragap.suites.levels import level_warnings
from infragap.suites.serving.equivalence import compare_scores, equivalence_record
from infragap.suites.serving.measure import level_record


def _load(**overrides):
    fields = dict(
        users=8,
        window_s=10.0,
        latencies_ms=[1.0, 2.0, 3.0, 4.0],
        failures=0,
        failure_messages={},
        throughput_per_s=[0, 1, 1, 2],
        loadgen_cpu_percent=40.0,
        loadgen_cpu_peak=60.0,
    )
    fields.update(overrides)
    return SimpleNamespace(**fields)


def test_level_record_rates_and_percentiles():
    record = level_record(_load(), {"cpu_s": 1.0, "peak_rss_bytes": 10}, None, rows_per_request=4)
    assert record["requests"] == 4
    assert record["throughput_rps"] == 0.4
    assert record["rows_per_s"] == 1.6
    assert record["latency_ms"]["p50"] == 2.0
    assert record["latency_ms"]["max"] == 4.0
    assert record["triton"] is None


def test_level_warnings_flag_failures_and_busy_load_generator():
    record = level_record(_load(failures=3, loadgen_cpu_peak=97.0), {}, None, 1)
    warnings = level_warnings("triton", record)
    assert any("3 failed requests" in w for w in warnings)
    assert any("load generator" in w for w in warnings)
    assert level_warnings("triton", level_record(_load(), {}, None, 1)) == []


def test_level_warnings_flag_empty_level():
    record = level_record(_load(latencies_ms=[]), {}, None, 1)
    assert record["latency_ms"]["p99"] is None
    assert any("no request completed" in w for w in level_warnings("x", record))


def test_compare_scores_within_and_beyond_tolerance():
    same = compare_scores([[0.5, 0.25]], [[0.50001, 0.25]], tolerance=1e-4)
    assert same.passed
    assert same.max_abs_diff > 0
    differ = compare_scores([[0.5], [0.5]], [[0.5], [0.7]], tolerance=1e-4)
    assert not differ.passed
    assert "request 1" in differ.mismatches[0]
    short = compare_scores([[0.5, 0.5]], [[0.5]], tolerance=1e-4)
    assert not short.passed


def test_equivalence_record_summarises_every_variant():
    record = equivalence_record(
        {"a": compare_scores([[1.0]], [[1.0]], 1e-4), "b": compare_scores([[1.0]], [[2.0]], 1e-4)},
        1e-4,
    )
    assert record["passed"] is False
    assert record["variants"]["a"]["passed"] is True
    assert record["variants"]["b"]["max_abs_diff"] == 1.0
