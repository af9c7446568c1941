"""The open loop's pure parts: schedules, SLOs, the capacity search and steady state."""

from __future__ import annotations

import itertools

import pytest

from infragap.errors import ConfigError
from infragap.loadtests.arrivals import Arrivals, connections_for, parse_rates
from infragap.loadtests.latency_log import LatencyLog, RequestRecord
from infragap.loadtests.runner import LevelSpec, measure
from infragap.loadtests.slo import SearchPolicy, judge, next_rate, parse_slo
from infragap.loadtests.steady import (
    SteadyRule,
    WindowStat,
    judged_on,
    samples_for,
    settle_point,
    settled,
    window_stats,
)
from infragap.suites.levels import capacity_summary


def test_constant_schedule_is_evenly_spaced() -> None:
    offsets = list(itertools.islice(Arrivals("constant", 4.0).offsets(), 5))
    assert offsets == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_poisson_schedule_is_seeded_and_keeps_its_rate() -> None:
    first = list(itertools.islice(Arrivals("poisson", 100.0, seed=1).offsets(), 5000))
    again = list(itertools.islice(Arrivals("poisson", 100.0, seed=1).offsets(), 5000))
    other = list(itertools.islice(Arrivals("poisson", 100.0, seed=2).offsets(), 5000))
    assert first == again != other
    assert first[-1] == pytest.approx(50.0, rel=0.05)  # 5000 sends at 100/s


@pytest.mark.parametrize("text", ["", "0", "-5", "abc", "10,,x", "nan", "inf"])
def test_bad_rates_say_how_to_write_them(text: str) -> None:
    with pytest.raises(ConfigError, match="--rates"):
        parse_rates(text)


def test_rates_and_connections() -> None:
    assert parse_rates("50, 100,200.5") == [50.0, 100.0, 200.5]
    assert connections_for(1.0) == 4
    assert connections_for(400.0) == 101
    assert connections_for(1e6) == 256


def test_slo_parsing() -> None:
    slo = parse_slo("p99=100ms, p50<=0.02s, errors<0.5%")
    assert slo.limits_ms == {"p99": 100.0, "p50": 20.0}
    assert slo.error_budget == 0.005
    assert slo.watched_percentile == 99.0
    assert parse_slo("p99.9=1s").limits_ms == {"p99_9": 1000.0}
    for bad, says in [
        ("p98=100ms", "not a percentile"),
        ("p99=fast", "cannot read"),
        ("errors<1%", "at least one percentile"),
        ("p99=0ms", "above 0"),
    ]:
        with pytest.raises(ConfigError, match=says):
            parse_slo(bad)


def _level(p99: float, rps: float, failures: int = 0, behind: bool = False) -> dict:
    return {
        "latency_ms": {"p99": p99},
        "requests": 1000,
        "failures": failures,
        "throughput_rps": rps,
        "sends": {"generator_behind": behind},
    }


def test_judge_names_every_reason() -> None:
    slo = parse_slo("p99=100ms")
    assert judge(slo, _level(80, 99)).met
    verdict = judge(slo, _level(120, 80, failures=50, behind=True))
    assert not verdict.met
    text = " ".join(verdict.reasons)
    assert "p99 120.0 ms > 100 ms" in text
    assert "errors" in text
    assert judge(slo, _level(80, 99, behind=True)).met  # marked, not failed


def _search(capacity: float, policy: SearchPolicy) -> list[float]:
    tried: list[tuple[float, bool]] = []
    while (rate := next_rate(tried, policy)) is not None:
        tried.append((rate, rate <= capacity))
    return [rate for rate, _ in tried]


def test_search_brackets_the_capacity_within_its_precision() -> None:
    policy = SearchPolicy(10.0, precision=0.1, max_trials=20)
    rates = _search(137.0, policy)
    assert rates[:5] == [10, 20, 40, 80, 160]
    best = max(r for r in rates if r <= 137)
    ceiling = min(r for r in rates if r > 137)
    assert ceiling / best <= 1.1


def test_search_walks_down_and_is_bounded() -> None:
    assert _search(3.0, SearchPolicy(10.0))[:3] == [10.0, 5.0, 2.5]
    assert len(_search(1e9, SearchPolicy(10.0, max_trials=6))) == 6
    assert _search(0.1, SearchPolicy(1.0, min_rps=0.5)) == [1.0, 0.5]
    with pytest.raises(ConfigError):
        SearchPolicy(0.0)


def test_capacity_is_the_best_rate_that_met_the_slo() -> None:
    def trial(offered: float, achieved: float, met: bool) -> dict:
        return {
            "arrival": {"offered_rps": offered},
            "throughput_rps": achieved,
            "slo": {"met": met},
        }

    trials = [
        trial(10, 9.9, True),
        trial(20, 19.8, True),
        trial(40, 25, False),
        trial(28, 27.5, True),
    ]
    summary = capacity_summary(trials)
    assert summary["capacity_rps"] == 27.5
    assert summary["capacity_offered_rps"] == 28
    assert summary["capacity_trial"] == 3
    assert summary["first_miss_offered_rps"] == 40
    assert capacity_summary([trial(10, 2, False)])["capacity_rps"] is None


def test_steady_state_rule() -> None:
    even = [
        WindowStat(100, 10, 1, 2000),
        WindowStat(104, 10.5, 1, 2000),
        WindowStat(97, 9.8, 1, 2000),
    ]
    assert settled(even) and judged_on(even, 99.0) == "percentile"
    assert samples_for(99.0) == 1000 and samples_for(90.0) == 100
    # too few requests for a p99: the medians decide
    small = [
        WindowStat(100, 10, 5.0, 50),
        WindowStat(100, 30, 5.2, 50),
        WindowStat(100, 10, 5.1, 50),
    ]
    assert settled(small) and judged_on(small, 99.0) == "median"
    assert not settled(even[:2])
    assert not settled([WindowStat(100, 10, 10), WindowStat(140, 10, 10), WindowStat(100, 10, 10)])
    assert not settled([WindowStat(100, 10, 10), WindowStat(100, None), WindowStat(100, 10, 10)])
    ramp = [
        WindowStat(50, 30, 30),
        WindowStat(80, 20, 20),
        *(WindowStat(s.rps, s.latency_ms, s.latency_ms) for s in even),
    ]
    assert settle_point(ramp) == 5
    assert settle_point(ramp[:4]) is None


def test_window_stats_bucket_by_start_and_skip_failures() -> None:
    records = [
        RequestRecord(0.1, 5.0, True),
        RequestRecord(0.9, 7.0, True),
        RequestRecord(1.5, 9.0, True),
        RequestRecord(1.6, 1.0, False),
        RequestRecord(3.5, 1.0, True),
    ]
    stats = window_stats(records, 0.0, 1.0, 3, 99.0)
    assert stats == [
        WindowStat(2.0, 7.0, 5.0, 2),
        WindowStat(1.0, 9.0, 9.0, 1),
        WindowStat(0.0, None, None, 0),
    ]


def test_a_settled_level_reports_its_last_three_windows() -> None:
    # 10 requests per second for 8 s; the first 2 s are slow (not yet settled)
    records = [RequestRecord(t / 10, 50.0 if t < 20 else 10.0, True) for t in range(80)]
    log = LatencyLog(records, spawned_at=0.0, stopping_at=8.0)
    spec = LevelSpec(2, 0.0, 0.0, steady=SteadyRule(window_s=1.0, max_windows=8))
    load = measure(log, spec, [])
    assert load.settled is True
    assert len(load.windows) == 5  # settled after windows 3, 4, 5 agreed
    assert load.window_s == 3.0
    assert max(load.latencies_ms) == 10.0  # the slow start is not in the level


def _bench_args(*extra: str):
    from infragap.cli import build_parser

    return build_parser().parse_args(["bench", "serving", "--calibrate", "never", *extra])


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--rates", "0"], "--rates"),
        (["--rates", "fast"], "--rates"),
        (["--slo", "p98=1ms"], "not a percentile"),
        (["--slo", "p99=100ms", "--slo-trials", "1"], "--slo-trials"),
        (["--load-processes", "0"], "--load-processes"),
        (["--load-expect-workers", "-1"], "--load-expect-workers"),
        (["--connections", "0"], "--connections"),
        (["--duration", "0"], "--duration"),
    ],
)
def test_bad_load_options_fail_before_any_server_starts(extra: list[str], says: str) -> None:
    from infragap.suites.levels import load_config

    with pytest.raises(ConfigError, match=says):
        load_config(_bench_args(*extra), quick=True, default_users=[1])


def test_an_open_loop_replaces_the_default_users_unless_asked() -> None:
    from infragap.suites.levels import load_config

    assert load_config(_bench_args("--rates", "10"), True, [1, 8])["users"] == []
    assert load_config(_bench_args("--rates", "10", "--users", "2"), True, [1])["users"] == [2]
    assert load_config(_bench_args(), True, [1, 8])["users"] == [1, 8]
