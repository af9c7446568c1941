import pytest

from infragap.reports.stats import latency_summary, nearest_rank, percentile_key, ratio


def test_nearest_rank_picks_a_real_value():
    values = list(range(1, 101))  # 1..100
    assert nearest_rank(values, 50) == 50
    assert nearest_rank(values, 99) == 99
    assert nearest_rank(values, 99.9) == 100
    assert nearest_rank(values, 100) == 100


def test_nearest_rank_small_samples():
    assert nearest_rank([7.0], 50) == 7.0
    assert nearest_rank([1.0, 2.0], 50) == 1.0
    assert nearest_rank([1.0, 2.0], 51) == 2.0


@pytest.mark.parametrize("p", [0, -1, 100.1])
def test_nearest_rank_rejects_bad_percentiles(p):
    with pytest.raises(ValueError):
        nearest_rank([1.0], p)


def test_latency_summary_unsorted_input():
    summary = latency_summary([5.0, 1.0, 3.0, 2.0, 4.0])
    assert summary["p50"] == 3.0
    assert summary["max"] == 5.0
    assert summary["mean"] == 3.0
    assert summary["p99_9"] == 5.0


def test_latency_summary_empty_is_none():
    summary = latency_summary([])
    assert set(summary) == {"p50", "p90", "p95", "p99", "p99_9", "max", "mean"}
    assert all(v is None for v in summary.values())


def test_percentile_key():
    assert percentile_key(99.9) == "p99_9"
    assert percentile_key(50.0) == "p50"


def test_ratio_handles_missing_and_zero():
    assert ratio(10, 2) == 5
    assert ratio(None, 2) is None
    assert ratio(1, 0) is None
