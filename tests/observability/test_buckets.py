"""Histogram fidelity without a server: bucket counting, Prometheus's histogram_quantile
on hand-worked examples, the default layouts as the instrumented app really exposes
them, the SLO layout, and exact vs histogram quantiles on a seeded sample."""

from __future__ import annotations

import itertools
import json
import math
import random

import pytest

from infragap.errors import ConfigError
from infragap.naive.timing_log_answers import nearest_rank
from infragap.suites.observability.buckets import (
    DEFAULT_LAYOUTS,
    MAX_BUCKETS,
    OTEL_DEFAULT_MS,
    bucket_counts,
    bucket_width,
    fidelity,
    histogram_quantile,
    quantile_label,
    slo_layout,
)

SEED = 11
BOUNDS = (1.0, 2.0, 4.0)
SAMPLES = [0.5, 1.0, 1.5, 3.0, 10.0]  # per bucket: le=1: 2 (1.0 included), le=2: 1, ...
COUNTS = [2, 3, 4, 5]


def lognormal_ms(count: int = 2000) -> list[float]:
    """Seeded request latencies: median 40 ms, p99 near 160 ms."""
    rng = random.Random(SEED)
    return [rng.lognormvariate(math.log(40.0), 0.6) for _ in range(count)]


def test_bucket_counts_are_cumulative_and_a_bound_is_inclusive():
    assert bucket_counts(SAMPLES, BOUNDS) == COUNTS
    assert bucket_counts([], BOUNDS) == [0, 0, 0, 0]
    assert bucket_counts([math.inf, -3.0], BOUNDS) == [1, 1, 1, 2]


def test_bucket_counts_refuse_nan_samples_and_bad_bounds():
    with pytest.raises(ValueError, match="NaN"):
        bucket_counts([math.nan], BOUNDS)
    with pytest.raises(ConfigError, match="strictly increasing"):
        bucket_counts([1.0], (2.0, 1.0))
    with pytest.raises(ConfigError, match="finite"):
        bucket_counts([1.0], (1.0, math.inf))


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (0.2, 0.5),  # rank 1 of 2 in (0, 1]: halfway from the implied 0
        (0.5, 1.5),  # rank 2.5: 0.5 of the 1 observation in (1, 2]
        (0.7, 3.0),  # rank 3.5: halfway through (2, 4]
        (0.0, 0.0),  # rank 0 in a lowest bucket that holds observations
    ],
)
def test_quantile_interpolates_inside_its_bucket(q, expected):
    assert histogram_quantile(q, BOUNDS, COUNTS) == pytest.approx(expected)


@pytest.mark.parametrize("q", [0.9, 0.99, 1.0])
def test_quantile_in_the_inf_bucket_is_the_highest_finite_bound(q):
    assert histogram_quantile(q, BOUNDS, COUNTS) == 4.0


def test_lowest_bound_at_zero_answers_zero():
    # OTel's default layout starts at le=0: observations of exactly 0 land there.
    counts = [1, 3, 4, 4]
    assert histogram_quantile(0.25, (0.0, 5.0, 10.0), counts) == 0.0
    assert histogram_quantile(0.5, (0.0, 5.0, 10.0), counts) == pytest.approx(2.5)


def test_where_prometheus_answers_nan_this_answers_none():
    assert histogram_quantile(0.5, BOUNDS, [0, 0, 0, 0]) is None  # no observations
    assert histogram_quantile(0.5, (), [3]) is None  # only the +Inf bucket
    assert histogram_quantile(math.nan, BOUNDS, COUNTS) is None
    assert histogram_quantile(0.0, BOUNDS, [0, 2, 2, 2]) is None  # 0/0 in the lowest bucket


def test_out_of_range_quantiles_answer_infinities_as_prometheus_does():
    assert histogram_quantile(-0.1, BOUNDS, COUNTS) == -math.inf
    assert histogram_quantile(1.1, BOUNDS, COUNTS) == math.inf


def test_decreasing_counts_are_raised_to_the_running_maximum():
    # float counts from rate() can dip; Prometheus reads [3, 2, 4] as [3, 3, 4]
    assert histogram_quantile(0.5, (1.0, 2.0), [3.0, 2.0, 4.0]) == pytest.approx(2 / 3)


def test_counts_must_match_the_bounds():
    with pytest.raises(ValueError, match="4 counts for 2 bounds"):
        histogram_quantile(0.5, (1.0, 2.0), [1, 2, 3, 4])


def test_bucket_width():
    assert bucket_width(0.5, BOUNDS) == 1.0  # (0, 1]
    assert bucket_width(2.0, BOUNDS) == 1.0  # (1, 2]: a bound is in its own bucket
    assert bucket_width(3.0, BOUNDS) == 2.0
    assert bucket_width(4.5, BOUNDS) is None  # +Inf
    assert bucket_width(-1.0, (0.0, 5.0)) is None  # (-Inf, 0]


@pytest.mark.parametrize("kind", sorted(DEFAULT_LAYOUTS))
def test_default_layouts_are_what_the_app_exposes(kind):
    """The app's default recorders, read back from their exposition: the same `le`
    bounds as DEFAULT_LAYOUTS (prometheus_client's, meant for seconds, holding ms),
    and the same cumulative counts as bucket_counts."""
    pytest.importorskip("opentelemetry.exporter.prometheus")
    parser = pytest.importorskip("prometheus_client.parser")
    app = pytest.importorskip("infragap.proven.observability.instrumented_app")
    from infragap.proven.observability.names import PROMETHEUS_HISTOGRAM

    recorder = app.new_recorder(kind, "default")
    samples = [0.003, 0.05, 5.0, 7.5, 60.0, 4000.0]
    for ms in samples:
        recorder.record(ms, 200)
    text = recorder.exposition("")[0].decode()
    (family,) = [
        f
        for f in parser.text_string_to_metric_families(text)
        if f.name == PROMETHEUS_HISTOGRAM[kind]
    ]
    buckets = [s for s in family.samples if s.name.endswith("_bucket")]
    les = [float(s.labels["le"]) for s in buckets]
    assert les[-1] == math.inf
    assert tuple(les[:-1]) == DEFAULT_LAYOUTS[kind]
    assert [s.value for s in buckets] == bucket_counts(samples, DEFAULT_LAYOUTS[kind])


def test_prometheus_client_default_layout_reads_every_slow_p99_as_10_ms():
    report = fidelity(lognormal_ms(), DEFAULT_LAYOUTS)
    p99 = report["layouts"]["prometheus-client"]["answers"]["p99"]
    assert p99["histogram_ms"] == 10.0
    assert p99["above_last_bound"] is True and p99["bucket_width_ms"] is None
    assert p99["exact_ms"] > 100


def test_slo_layout_has_the_slo_as_a_bound_and_is_a_valid_layout():
    app = pytest.importorskip("infragap.proven.observability.instrumented_app")
    bounds = slo_layout(100.0, 3.0, 250.0)
    assert 100.0 in bounds
    assert app.check_layout(bounds) == bounds
    assert len(bounds) + 1 <= MAX_BUCKETS
    assert bounds[0] <= 3.0 and bounds[-1] >= 400.0  # four times the SLO
    ratios = [later / earlier for earlier, later in itertools.pairwise(bounds)]
    assert max(ratios) <= 1.2 * 1.001  # rounding to 4 digits moves a ratio a little


def test_slo_layout_reaches_the_slowest_request_and_starts_at_the_slo_if_all_are_slower():
    assert slo_layout(100.0, 150.0, 900.0)[0] == 100.0
    assert slo_layout(100.0, 150.0, 900.0)[-1] >= 900.0


def test_slo_layout_widens_its_steps_to_stay_within_the_bucket_budget():
    bounds = slo_layout(100.0, 0.01, 100_000.0)
    assert len(bounds) + 1 == MAX_BUCKETS
    assert 100.0 in bounds and bounds[0] <= 0.01 and bounds[-1] >= 100_000.0
    small = slo_layout(100.0, 1.0, 1000.0, max_buckets=6)
    assert len(small) + 1 <= 6 and 100.0 in small


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((0.0, 1.0, 10.0), {}, "SLO must be a positive"),
        ((100.0, 50.0, 10.0), {}, "below the lowest"),
        ((100.0, 1.0, math.inf), {}, "highest must be a positive"),
        ((100.0, 1.0, 10.0), {"growth": 1.0}, "growth"),
        ((100.0, 1.0, 10.0), {"max_buckets": 3}, "at least 4"),
    ],
)
def test_slo_layout_refuses_bad_parameters(args, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        slo_layout(*args, **kwargs)


def test_slo_layout_p99_is_far_closer_than_the_otel_default():
    samples = lognormal_ms()
    layouts = {"otel": OTEL_DEFAULT_MS, "slo": slo_layout(100.0, min(samples), max(samples))}
    report = fidelity(samples, layouts)
    otel = report["layouts"]["otel"]["answers"]["p99"]
    slo = report["layouts"]["slo"]["answers"]["p99"]
    assert otel["exact_ms"] == slo["exact_ms"] == nearest_rank(samples, 0.99)
    assert slo["rel_error"] < 0.05
    assert slo["abs_error_ms"] * 5 < otel["abs_error_ms"]
    assert slo["bucket_width_ms"] < otel["bucket_width_ms"]
    assert json.loads(json.dumps(report, allow_nan=False)) == report


def test_fidelity_on_a_hand_worked_example():
    report = fidelity(SAMPLES, {"small": BOUNDS}, quantiles=(0.5,))
    assert report["samples"] == 5 and report["quantiles"] == ["p50"]
    assert report["layouts"]["small"]["buckets"] == 4
    assert report["layouts"]["small"]["answers"]["p50"] == {
        "q": 0.5,
        "exact_ms": 1.5,  # nearest rank: the 3rd of 5
        "histogram_ms": 1.5,
        "abs_error_ms": 0.0,
        "rel_error": 0.0,
        "bucket_width_ms": 1.0,
        "above_last_bound": False,
    }


def test_fidelity_of_no_samples_is_all_none():
    report = fidelity([], DEFAULT_LAYOUTS)
    assert report["samples"] == 0
    for layout in report["layouts"].values():
        for answer in layout["answers"].values():
            assert {key for key, value in answer.items() if value is not None} == {"q"}


def test_fidelity_refuses_a_quantile_outside_0_1():
    with pytest.raises(ConfigError, match="outside"):
        fidelity(SAMPLES, {"small": BOUNDS}, quantiles=(99,))


def test_quantile_labels():
    assert [quantile_label(q) for q in (0.5, 0.9, 0.99, 0.999)] == ["p50", "p90", "p99", "p99.9"]
