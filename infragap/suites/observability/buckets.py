"""How exact a histogram's quantiles are, given its bucket layout.

A classic Prometheus histogram keeps one cumulative counter per bucket upper bound (`le`)
and nothing else about the observations, so `histogram_quantile` can only interpolate
linearly inside the bucket the quantile falls in: its answer is as exact as that bucket
is narrow. This module computes, without any server, what Prometheus would answer for a
set of observations under a given layout, and how far that is from the exact quantile:

- `bucket_counts`: the cumulative per-`le` counts a histogram holds after observing
  the samples (what a scrape exposes, and what `rate(..._bucket[w])` is proportional to).
- `histogram_quantile`: Prometheus's `histogram_quantile` for classic histograms.
- `DEFAULT_LAYOUTS`: the layouts the instrumented app gets when it is given none.
- `slo_layout`: a layout that answers the p99 around an SLO to a few per cent.
- `fidelity`: exact vs histogram quantiles, per layout, as plain JSON-able data.

Everything here is pure: numbers in, numbers out. Bounds are in ms, without +Inf (every
histogram has the +Inf bucket; it is added here, as the client libraries add it).
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

from infragap.errors import ConfigError
from infragap.naive.timing_log_answers import nearest_rank

# The OpenTelemetry SDK's default explicit-bucket boundaries (the metrics SDK spec's
# defaults), meant for milliseconds; the instrumented app's OTel histogram records ms.
OTEL_DEFAULT_MS: tuple[float, ...] = (
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0,
    1000.0, 2500.0, 5000.0, 7500.0, 10000.0,
)  # fmt: skip
# prometheus_client's Histogram.DEFAULT_BUCKETS (without its +Inf) are meant for seconds,
# but the instrumented app observes milliseconds into them: in ms its buckets end at
# 10 ms, and every slower request lands in +Inf, where a quantile reads as 10 ms.
PROMETHEUS_CLIENT_DEFAULT_AS_MS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip
# Keyed by the instrumented app's `--metrics` choice, as it lays buckets out by default.
DEFAULT_LAYOUTS: dict[str, tuple[float, ...]] = {
    "otel": OTEL_DEFAULT_MS,
    "prometheus-client": PROMETHEUS_CLIENT_DEFAULT_AS_MS,
}

SLO_GROWTH = 1.2  # each bound 20% above the one before: p99 off by a few per cent at most
MIN_GROWTH = 1.01  # finer steps would collide once bounds are rounded to 4 digits
OVER_SLO = 4.0  # bounds reach at least this many times the SLO
MAX_BUCKETS = 40  # +Inf included: one time series each, per label set


def checked_bounds(bounds: Sequence[float]) -> tuple[float, ...]:
    """The bounds as floats if they are finite and strictly increasing, else a
    ConfigError. Negative bounds are allowed, as Prometheus allows them."""
    checked = tuple(float(bound) for bound in bounds)
    if not all(math.isfinite(bound) for bound in checked):
        raise ConfigError(f"bucket bounds must be finite (+Inf is always added): {checked}")
    if any(later <= earlier for earlier, later in itertools.pairwise(checked)):
        raise ConfigError(f"bucket bounds must be strictly increasing: {checked}")
    return checked


def bucket_counts(samples_ms: Sequence[float], bounds: Sequence[float]) -> list[int]:
    """Cumulative counts per `le`: entry i counts the samples <= bounds[i]; the last
    entry, for +Inf, counts them all. An observation equal to a bound is in that bound's
    bucket, as in every Prometheus client."""
    checked = checked_bounds(bounds)
    per_bucket = [0] * (len(checked) + 1)
    for sample in samples_ms:
        if math.isnan(sample):
            raise ValueError("a NaN sample falls in no bucket: drop it before counting")
        per_bucket[bisect.bisect_left(checked, sample)] += 1
    return list(itertools.accumulate(per_bucket))


def histogram_quantile(
    q: float, bounds: Sequence[float], cumulative_counts: Sequence[float]
) -> float | None:
    """What Prometheus's `histogram_quantile(q, ...)` answers for a classic histogram
    with these finite `bounds` and `cumulative_counts` (one per bound, then +Inf's).

    As Prometheus's `bucketQuantile` (promql/quantile.go) does: find the first bucket
    whose cumulative count reaches rank = q * total, and interpolate linearly between
    its lower and upper bound. The lowest bucket's lower bound is 0 when its upper bound
    is above 0; when it is 0 or below, that upper bound is the answer. A quantile in the
    +Inf bucket answers the highest finite bound. Counts that decrease are raised to the
    running maximum first (Prometheus's monotonicity envelope), so float counts from
    rate() work too. Where Prometheus answers NaN (no observations, no finite bound, q
    NaN, or q = 0 with an empty lowest bucket) this answers None; q < 0 answers -inf and
    q > 1 +inf, as Prometheus does.
    """
    checked = checked_bounds(bounds)
    if len(cumulative_counts) != len(checked) + 1:
        raise ValueError(
            f"{len(cumulative_counts)} counts for {len(checked)} bounds: "
            "pass one count per bound plus the +Inf bucket's"
        )
    if math.isnan(q):
        return None
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    counts = list(itertools.accumulate(cumulative_counts, max))
    total = counts[-1]
    if not checked or total <= 0:
        return None
    rank = q * total
    # The first finite bucket whose count reaches the rank; len(checked) when none does.
    b = bisect.bisect_left(counts, rank, hi=len(checked))
    if b == len(checked):
        return checked[-1]
    if b == 0 and checked[0] <= 0:
        return checked[0]
    below = counts[b - 1] if b > 0 else 0
    start = checked[b - 1] if b > 0 else 0.0
    in_bucket = counts[b] - below
    if in_bucket == 0:  # rank 0 in an empty lowest bucket: Prometheus's 0/0 is NaN
        return None
    return start + (checked[b] - start) * ((rank - below) / in_bucket)


def bucket_width(value: float, bounds: Sequence[float]) -> float | None:
    """The width of the bucket holding `value` under Prometheus's reading of the layout
    (the lowest bucket starting at 0); None when that bucket is unbounded: +Inf, or the
    lowest one when its upper bound is 0 or below."""
    checked = checked_bounds(bounds)
    index = bisect.bisect_left(checked, value)
    if index == len(checked):
        return None
    if index == 0:
        return checked[0] if checked[0] > 0 else None
    return checked[index] - checked[index - 1]


def slo_layout(
    slo_ms: float,
    low_ms: float,
    high_ms: float,
    *,
    growth: float = SLO_GROWTH,
    over_slo: float = OVER_SLO,
    max_buckets: int = MAX_BUCKETS,
) -> tuple[float, ...]:
    """Bucket bounds (ms, without +Inf) that answer the p99 precisely for this SLO.

    One bound is exactly `slo_ms`, so "how many requests were slower than the SLO" is
    counted, not interpolated. The others are geometric around it, each `growth` times
    the one before (1.2 by default: a quantile inside a bucket is off by a fraction of
    20%, a few per cent in practice), from `low_ms` (the fastest requests seen) to
    `high_ms` (the slowest) or `over_slo` times the SLO, whichever is higher, so a p99
    well above the SLO is still measured. Bounds other than the SLO are rounded to 4
    significant digits, to read well in a configuration.

    Each bucket is a time series per label set, so the layout has at most `max_buckets`
    buckets, +Inf included: when the span needs more at `growth`, the steps widen just
    enough to fit (the ratio of neighbouring bounds says which growth was used).
    """
    for name, value in (("SLO", slo_ms), ("lowest latency", low_ms), ("highest", high_ms)):
        if not (math.isfinite(value) and value > 0):
            raise ConfigError(f"the {name} must be a positive number of ms, not {value!r}")
    if high_ms < low_ms:
        raise ConfigError(
            f"the highest latency ({high_ms} ms) is below the lowest ({low_ms} ms): swap them"
        )
    if not MIN_GROWTH <= growth <= 2.0:
        raise ConfigError(
            f"growth {growth!r} is outside [{MIN_GROWTH}, 2]: 1.2 keeps quantiles within a "
            "few per cent; finer costs buckets, coarser costs precision"
        )
    if over_slo < 1:
        raise ConfigError(f"over_slo {over_slo!r} must be at least 1 (the layout reaches the SLO)")
    if max_buckets < 4:
        raise ConfigError(
            f"max_buckets {max_buckets!r} must be at least 4 (a bound either side of the SLO, "
            "the SLO's, and +Inf)"
        )
    down = math.log(slo_ms / min(low_ms, slo_ms))
    up = math.log(max(high_ms, over_slo * slo_ms) / slo_ms)
    step = math.log(growth)
    if _steps(down, step) + _steps(up, step) + 2 > max_buckets:
        # The finest step that fits: k steps over the whole span cost at most k + 2
        # bounds once each side is rounded up, so k = max_buckets - 3 always fits.
        for k in range(max_buckets - 2, 0, -1):
            step = (down + up) / k
            if _steps(down, step) + _steps(up, step) + 2 <= max_buckets:
                break
    bounds = [
        slo_ms if k == 0 else float(f"{slo_ms * math.exp(k * step):.4g}")
        for k in range(-_steps(down, step), _steps(up, step) + 1)
    ]
    return checked_bounds(bounds)


def _steps(span: float, step: float) -> int:
    """Geometric steps of log-size `step` needed to cover log-span `span`."""
    return math.ceil(span / step - 1e-9) if span > 0 else 0


def quantile_label(q: float) -> str:
    """p50, p99, p99.9: the name a quantile goes by."""
    return f"p{q * 100:g}"


def fidelity(
    samples_ms: Sequence[float],
    layouts: Mapping[str, Sequence[float]],
    quantiles: Sequence[float] = (0.5, 0.99),
) -> dict[str, Any]:
    """For each layout, each quantile: the exact value (nearest rank over the samples),
    what Prometheus answers from the layout's buckets, the absolute error (ms) and the
    relative error (of the exact value), and the width of the bucket holding the exact
    value (None for an unbounded one; `above_last_bound` says it is +Inf).

        {"samples": 2000, "quantiles": ["p50", "p99"],
         "layouts": {"otel": {"bounds": [...], "buckets": 16, "answers": {"p99": {
             "q": 0.99, "exact_ms": 161.2, "histogram_ms": 176.4, "abs_error_ms": 15.2,
             "rel_error": 0.094, "bucket_width_ms": 150.0, "above_last_bound": False}}}}}

    With no samples every value is None. Plain data: it goes into the results JSON.
    """
    for q in quantiles:
        if not 0.0 <= q <= 1.0:
            raise ConfigError(f"quantile {q!r} is outside [0, 1]: pass 0.5 for p50, 0.99 for p99")
    samples = list(samples_ms)
    report: dict[str, Any] = {}
    for name, bounds in layouts.items():
        checked = checked_bounds(bounds)
        counts = bucket_counts(samples, checked)
        answers = {quantile_label(q): _answer(q, samples, checked, counts) for q in quantiles}
        report[name] = {"bounds": list(checked), "buckets": len(checked) + 1, "answers": answers}
    return {
        "samples": len(samples),
        "quantiles": [quantile_label(q) for q in quantiles],
        "layouts": report,
    }


def _answer(
    q: float, samples: Sequence[float], bounds: tuple[float, ...], counts: Sequence[int]
) -> dict[str, Any]:
    if not samples:
        return {
            "q": q,
            "exact_ms": None,
            "histogram_ms": None,
            "abs_error_ms": None,
            "rel_error": None,
            "bucket_width_ms": None,
            "above_last_bound": None,
        }
    exact = nearest_rank(samples, q)
    answer = histogram_quantile(q, bounds, counts)
    error = None if answer is None else abs(answer - exact)
    return {
        "q": q,
        "exact_ms": exact,
        "histogram_ms": answer,
        "abs_error_ms": error,
        "rel_error": None if error is None or exact == 0 else error / abs(exact),
        "bucket_width_ms": bucket_width(exact, bounds),
        "above_last_bound": not bounds or exact > bounds[-1],
    }
