"""The scaling suite's options, checked before anything starts, and its pure sizing."""

from __future__ import annotations

import argparse

import pytest

from infragap.bench import add_arguments
from infragap.errors import ConfigError
from infragap.suites.scaling.measure import per_replica
from infragap.suites.scaling.plan import max_replicas
from infragap.suites.scaling.suite import ScalingSuite


def config(*argv: str):
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    return ScalingSuite().config(parser.parse_args(["scaling", *argv]))


def test_defaults_size_the_hoisted_app_and_triton_under_a_100_ms_p99():
    cfg = config("--quick")
    assert cfg["variants"] == ["naive-hoisted", "triton"]
    assert cfg["slo"] == "p99=100ms"
    assert cfg["users"] == [8] and cfg["startup_repeats"] == 1
    assert cfg["calibrate"] is False and cfg["triton_tuning"]["enabled"] is False


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--scaling-variants", "nope"], "unknown serving variant 'nope'"),
        (["--scaling-variants", ","], "is empty"),
        (["--startup-repeats", "0"], "at least 1"),
        (["--peak-rps", "-5"], "positive"),
    ],
)
def test_bad_options_say_what_is_wrong(argv, message):
    with pytest.raises(ConfigError, match=message):
        config("--quick", *argv)


def trial(offered: float, met: bool, cpu_s: float = 3.0) -> dict:
    return {
        "arrival": {"offered_rps": offered},
        "throughput_rps": offered * 0.99,
        "window_s": 2.0,
        "slo": {"met": met},
        "server": {"cpu_s": cpu_s, "wall_s": 9.0, "peak_rss_bytes": 300 * 1024 * 1024},
    }


def test_per_replica_figures_come_from_the_best_trial_that_met_the_slo():
    variant = {
        "capacity": {
            "slo": {"text": "p99=100ms"},
            "trials": [trial(100, True), trial(200, False), trial(150, True, cpu_s=4.5)],
            "capacity_rps": 148.5,
            "capacity_offered_rps": 150,
            "capacity_trial": 2,
        }
    }
    figures = per_replica(variant, warmup_s=1.0)
    assert figures is not None
    assert figures["capacity_rps"] == 148.5 and figures["slo"] == "p99=100ms"
    assert figures["cpu_cores"] == 1.5  # 4.5 CPU-s over 1 s warm-up + 2 s window
    assert figures["rss_mib"] == 300.0


def test_no_capacity_when_no_rate_met_the_slo():
    capacity = {"slo": {"text": "p99=1ms"}, "trials": [trial(10, False)], "capacity_rps": None}
    assert per_replica({"capacity": {**capacity, "capacity_trial": None}}, 1.0) is None


def test_max_replicas_covers_the_spike_and_never_falls_under_ten():
    assert max_replicas(spike_rps=1000, capacity_rps=500) == 10
    assert max_replicas(spike_rps=10_000, capacity_rps=400) == 30  # ceil(10000 x 1.2 / 400)


def test_fixed_plans_keep_the_hpa_floor():
    from infragap.suites.scaling.capacity_model import Fixed, Hpa
    from infragap.suites.scaling.plan import with_floor

    hpa = Hpa(min_replicas=2)
    one, five = Fixed(1, "fixed for average", "ceil(...) = 1"), Fixed(5, "fixed for peak", "r")
    floored = with_floor((one, five, hpa), hpa)
    assert [getattr(s, "replicas", None) for s in floored] == [2, 5, None]
    assert "floor of 2" in floored[0].rule and floored[2] is hpa
