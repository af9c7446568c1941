from infragap.reports.compare import Metric, compare_metrics, differences


def metric(key, samples, better="higher", percentile=None):
    return Metric(key, "triton at 8 users", key, "req/s", better, tuple(samples), percentile)


def test_metric_value_is_mean_or_nearest_rank():
    assert metric("t", [1.0, 2.0, 6.0]).value == 3.0
    assert metric("p", [5.0, 1.0, 3.0, 2.0], percentile=50).value == 2.0
    assert metric("e", []).value is None


def test_verdicts_follow_the_interval_and_the_better_direction():
    steady = [50.0, 51.0, 49.0, 50.0, 50.0, 51.0]
    faster = [60.0, 61.0, 59.0, 60.0, 60.0, 61.0]
    changes = compare_metrics(
        [
            metric("throughput", steady),
            metric("latency", faster, "lower"),
            metric("same", steady),
            metric("gone", steady),
        ],
        [
            metric("throughput", faster),
            metric("latency", steady, "lower"),
            metric("same", steady),
            metric("new", steady),
        ],
    )
    by_key = {c.key: c for c in changes}
    assert by_key["throughput"].verdict == "better"
    assert by_key["throughput"].before == 50.166666666666664
    assert by_key["latency"].verdict == "better"  # lower latency after
    assert by_key["same"].verdict == "within noise"
    assert by_key["gone"].verdict == "only before"
    assert by_key["new"].verdict == "only after"
    assert [c.key for c in changes] == ["throughput", "latency", "same", "new", "gone"]


def test_worse_when_higher_is_better_and_it_fell():
    (change,) = compare_metrics(
        [metric("t", [60.0, 61, 59, 60])], [metric("t", [50.0, 51, 49, 50])]
    )
    assert change.verdict == "worse"
    assert change.estimate.high < 1


def test_differences_lists_changed_added_and_removed_settings():
    before = {"triton": {"queue_delay_us": 1000, "instances": 1}, "quick": True}
    after = {"triton": {"queue_delay_us": 5000, "instances": 1}, "seed": 3}
    assert differences(before, after) == [
        ("triton.queue_delay_us", "1000", "5000"),
        ("quick", "true", "(absent)"),
        ("seed", "(absent)", "3"),
    ]
    assert differences(before, before) == []
