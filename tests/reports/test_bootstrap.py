import math

import numpy as np
import pytest

from infragap.reports.bootstrap import (
    UNKNOWN,
    RatioEstimate,
    mean_interval,
    percentile_draws,
    ratio_of_means,
    ratio_of_percentiles,
)
from infragap.reports.stats import nearest_rank


def test_ratio_of_means_without_spread_is_exact():
    estimate = ratio_of_means([10, 10, 10], [5, 5, 5])
    assert (estimate.point, estimate.low, estimate.high) == (2.0, 2.0, 2.0)
    assert estimate.direction == 1
    assert not estimate.spans_one


def test_ratio_of_means_hand_checked_point_and_interval_around_it():
    estimate = ratio_of_means([52, 44, 50, 48, 51], [5, 5, 6, 5, 3])
    assert estimate.point == pytest.approx(49.0 / 4.8)
    assert estimate.low < estimate.point < estimate.high
    assert estimate.direction == 1


def test_same_samples_span_one_and_say_so():
    samples = [20, 21, 19, 22, 18, 20]
    estimate = ratio_of_means(samples, samples)
    assert estimate.point == 1.0
    assert estimate.spans_one
    assert estimate.direction == 0


def test_seeded_and_deterministic():
    a, b = [3.0, 4.0, 5.0, 9.0], [2.0, 2.5, 3.0, 3.1]
    assert ratio_of_means(a, b, seed=3) == ratio_of_means(a, b, seed=3)
    assert ratio_of_means(a, b, seed=3) != ratio_of_means(a, b, seed=4)
    assert ratio_of_percentiles(a, b, 99) == ratio_of_percentiles(a, b, 99)


@pytest.mark.parametrize(
    ("numerator", "denominator"),
    [([], [1.0]), ([1.0], []), ([1.0], [0.0, 0.0])],
)
def test_no_data_gives_unknown(numerator, denominator):
    assert ratio_of_means(numerator, denominator) == UNKNOWN
    assert not UNKNOWN.known and not UNKNOWN.spans_one and UNKNOWN.direction == 0


def test_ratio_of_percentiles_point_is_the_nearest_rank_ratio():
    slow = [float(x) for x in range(100, 200)]
    fast = [float(x) for x in range(10, 20)]
    estimate = ratio_of_percentiles(slow, fast, 99)
    assert estimate.point == nearest_rank(slow, 99) / nearest_rank(fast, 99)
    assert estimate.direction == 1


def test_percentile_draws_match_a_brute_force_bootstrap():
    """The Beta shortcut has the distribution of resampling every value."""
    rng = np.random.default_rng(11)
    values = np.sort(rng.lognormal(3, 0.5, size=200))
    shortcut = percentile_draws(values, 99, 20000, np.random.default_rng(1))
    brute_rng = np.random.default_rng(2)
    rank = math.ceil(0.99 * len(values))
    brute = np.sort(brute_rng.choice(values, size=(20000, len(values))), axis=1)[:, rank - 1]
    for q in (5, 25, 50, 75, 95):
        assert np.percentile(shortcut, q) == pytest.approx(np.percentile(brute, q), rel=0.02)
    assert set(np.unique(shortcut)) <= set(values)  # only values some request really had


def test_inverted_swaps_the_interval_ends():
    estimate = RatioEstimate(2.0, 1.5, 4.0)
    assert estimate.inverted() == RatioEstimate(0.5, 0.25, 1 / 1.5)
    assert estimate.inverted().direction == -1


def test_unbounded_ratio_when_a_resample_has_no_requests():
    estimate = ratio_of_means([5, 5, 5], [0, 0, 1])
    assert estimate.known
    assert estimate.high == math.inf


def test_mean_interval():
    assert mean_interval([]) is None
    low, high = mean_interval([1.0, 2.0, 3.0, 4.0])
    assert 1.0 <= low < 2.5 < high <= 4.0
