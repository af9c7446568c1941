"""The capacity model: hand-computed HPA syncs, the simulation's rules, seeded traces."""

from __future__ import annotations

import json

import pytest

from infragap.errors import ConfigError
from infragap.suites.scaling.capacity_model import (
    Assumptions,
    Fixed,
    Hpa,
    HpaController,
    fixed_for_average,
    fixed_for_peak,
    outcome_record,
    replica_recommendation,
    sensitivity,
    simulate,
    standard_strategies,
    utilization_percent,
)
from infragap.suites.scaling.traces import Trace, daily_with_spike, step

PEAK_RPS = 6000.0


@pytest.fixture(scope="module")
def day() -> Trace:
    return daily_with_spike(PEAK_RPS, seed=7)


@pytest.fixture(scope="module")
def quiet_day() -> Trace:
    return daily_with_spike(PEAK_RPS, seed=7, spike_factor=None)


# --- the replica calculator, one sync --------------------------------------------------


def test_ninety_percent_against_a_sixty_percent_target_asks_for_ceil_3_x_1_5() -> None:
    assert replica_recommendation(3, 3, 0, 0.90, Hpa()) == 5  # ceil(3 x 90/60) = ceil(4.5)


def test_within_the_tolerance_nothing_changes() -> None:
    hpa = Hpa(max_replicas=20)
    assert replica_recommendation(3, 3, 0, 0.65, hpa) == 3  # ratio 1.083
    assert replica_recommendation(10, 10, 0, 0.54, hpa) == 10  # ratio 0.9: |1 - 0.9| <= 0.1
    assert replica_recommendation(10, 10, 0, 0.53, hpa) == 9  # ratio 0.883: ceil(8.83)


def test_utilisation_is_truncated_to_a_whole_percent_as_the_controller_does() -> None:
    assert utilization_percent(0.899) == 89
    assert utilization_percent(0.29) == 29  # not 28 from 0.29 * 100 = 28.999...


def test_not_yet_ready_pods_count_as_idle_on_a_scale_up() -> None:
    # 2 ready at 90% + 2 starting: counted as 0%, the average is 45% -> ratio 0.75, which
    # reverses the direction: no change.
    assert replica_recommendation(4, 2, 2, 0.90, Hpa()) == 4
    # 3 ready at 100% + 1 starting: 75% over 4 pods -> ratio 1.25 -> ceil(5.0) = 5.
    assert replica_recommendation(4, 3, 1, 1.00, Hpa()) == 5
    # On a scale-down the starting pods are left out: ceil(30/60 x 2 ready) = 1.
    assert replica_recommendation(4, 2, 2, 0.30, Hpa()) == 1


# --- the controller across syncs ------------------------------------------------------


def test_scale_down_is_held_by_the_300_s_window() -> None:
    controller = HpaController(Hpa())
    assert controller.sync(0, 6, 6, 0, 0.60) == 6
    for now in range(15, 300, 15):  # the load halves: each sync recommends 3
        assert controller.sync(now, 6, 6, 0, 0.30) == 6, f"scaled down at {now} s"
    # At 300 s the recommendation of 6 made at 0 s leaves the window: down to 3.
    assert controller.sync(300, 6, 6, 0, 0.30) == 3


def test_max_and_min_replicas_clamp() -> None:
    assert HpaController(Hpa()).sync(0, 8, 8, 0, 1.0) == 10  # ceil(8 x 100/60) = 14 -> max
    assert HpaController(Hpa()).sync(0, 3, 3, 0, 0.10) == 2  # ceil(3 x 10/60) = 1 -> min
    assert HpaController(Hpa()).sync(0, 12, 12, 0, 0.60) == 10  # above max: pulled in


def test_scale_up_policy_allows_the_larger_of_100_percent_and_4_pods_per_15_s() -> None:
    controller = HpaController(Hpa(max_replicas=30))
    # 2 pods at 300% (a limit above the request): ratio 5 -> 10 wanted; max(2 x 2, 2 + 4)
    assert controller.sync(0, 2, 2, 0, 3.0) == 6
    # 5 s later the 15 s period still holds the +4: it starts from 2 -> at most 6.
    assert controller.sync(5, 6, 6, 0, 3.0) == 6
    # 15 s after the event it has left the period: max(6 x 2, 6 + 4) = 12.
    assert controller.sync(15, 6, 6, 0, 3.0) == 12


# --- the simulation -------------------------------------------------------------------


def test_new_replicas_serve_only_after_start_up_and_readiness_delay() -> None:
    trace = step(1000, 4000, at_s=300, duration_s=900)
    outcome = simulate(
        trace, Hpa(), capacity_rps=1000, startup_s=20, assumptions=Assumptions(readiness_delay_s=5)
    )
    # The step lands at 300 s; the sync at 300 s still sees the quiet step before it. The
    # sync at 315 s sees 100% CPU: ceil(2 x 100/60) = 4 pods, ready at 315 + 20 + 5 = 340.
    assert outcome.replicas[20] == 2
    assert outcome.replicas[21] == 4  # they exist (and cost) from 315 s ...
    assert outcome.ready_replicas[21] == 2  # ... but do not serve in 315..330 s
    assert outcome.ready_replicas[22] == pytest.approx((10 * 2 + 5 * 4) / 15)
    assert outcome.over_slo_requests[21] == pytest.approx((4000 - 2000) * 15)
    assert outcome.time_to_absorb_spike_s == pytest.approx(340 - 300)
    assert outcome.spike_absorbed is True


def test_fixed_for_peak_never_misses_the_slo_on_the_day_without_the_spike(
    quiet_day: Trace,
) -> None:
    for headroom in (0.0, 0.2):
        plan = fixed_for_peak(quiet_day, 450, headroom)
        outcome = simulate(quiet_day, plan, 450, startup_s=4)
        assert outcome.minutes_over_slo == 0
        assert outcome.requests_over_slo == 0
        assert outcome.replica_hours == pytest.approx(plan.replicas * 24)


def test_fixed_for_average_is_over_the_slo_at_the_peak(quiet_day: Trace) -> None:
    plan = fixed_for_average(quiet_day, 450)
    assert plan.replicas * 450 < PEAK_RPS
    outcome = simulate(quiet_day, plan, 450, startup_s=4)
    peak_step = quiet_day.rates.index(quiet_day.peak_rps)
    assert outcome.over_slo_requests[peak_step] > 0
    assert outcome.minutes_over_slo > 60


def test_spike_absorption_time_grows_with_start_up_time(day: Trace) -> None:
    times = []
    for startup_s in (2.0, 30.0, 120.0):
        outcome = simulate(day, Hpa(), 3000, startup_s)
        assert outcome.spike_absorbed is True
        times.append(outcome.time_to_absorb_spike_s)
    assert times == sorted(times)
    assert times[0] < times[-1]


def test_fixed_capacity_never_absorbs_a_spike_it_was_not_sized_for(day: Trace) -> None:
    outcome = simulate(day, fixed_for_peak(day, 3000, headroom=0.2), 3000, startup_s=8)
    assert outcome.spike_absorbed is False
    assert outcome.time_to_absorb_spike_s is None
    assert outcome.minutes_over_slo == pytest.approx(10)  # the spike's 10 minutes, no more


def test_ten_times_the_capacity_needs_fewer_replica_hours(day: Trace) -> None:
    for make in (lambda cap: Hpa(max_replicas=40), lambda cap: fixed_for_peak(day, cap)):
        slow = simulate(day, make(450), 450, startup_s=4)
        fast = simulate(day, make(4500), 4500, startup_s=4)
        assert fast.replica_hours < slow.replica_hours


def test_the_hpa_follows_the_day_between_its_bounds(day: Trace) -> None:
    outcome = simulate(day, Hpa(), 3000, startup_s=8)
    assert min(outcome.replicas) == 2
    assert outcome.peak_replicas <= 10
    assert outcome.peak_replicas > 2  # the afternoon and the spike take more than the minimum
    assert outcome.replica_hours < fixed_for_peak(day, 3000).replicas * 24


# --- traces ---------------------------------------------------------------------------


def test_seeded_traces_are_reproducible() -> None:
    assert daily_with_spike(PEAK_RPS, seed=3) == daily_with_spike(PEAK_RPS, seed=3)
    assert daily_with_spike(PEAK_RPS, seed=3).rates != daily_with_spike(PEAK_RPS, seed=4).rates


def test_daily_trace_shape(day: Trace) -> None:
    assert day.duration_s == 24 * 3600
    assert day.baseline_peak_rps == pytest.approx(PEAK_RPS)
    peak_hour = day.baseline_rates.index(day.baseline_peak_rps) * day.step_s / 3600
    assert 12 <= peak_hour <= 18  # the afternoon
    night = day.rates[int(3 * 3600 / day.step_s)]
    assert night < 0.3 * PEAK_RPS
    spike = [rate for i, rate in enumerate(day.rates) if day.in_spike(i)]
    assert len(spike) * day.step_s == 600
    assert min(spike) > 1.7 * PEAK_RPS


def test_step_trace() -> None:
    trace = step(100, 900, at_s=100, duration_s=600)
    assert trace.rates[6] == 100 and trace.rates[7] == 900  # 100 s rounds up to 105 s
    assert (trace.spike_start_s, trace.spike_end_s) == (105, 600)


# --- records --------------------------------------------------------------------------


def test_outcome_record_is_json_and_says_it_is_a_model(day: Trace) -> None:
    record = outcome_record(
        simulate(day, Hpa(), 3000, 8, variant="triton", sources={"capacity_rps": "measured: run 7"})
    )
    json.dumps(record, allow_nan=False)
    assert record["kind"] == "model"
    assert record["inputs"]["capacity_rps"] == {"value": 3000, "source": "measured: run 7"}
    assert record["inputs"]["startup_s"]["source"].startswith("measured")
    assert record["inputs"]["utilization_at_capacity"]["source"].startswith("assumed")
    assert len(record["series"]["replicas_max"]) == 288
    assert max(record["series"]["offered_rps_max"]) == pytest.approx(day.peak_rps)


def test_sensitivity_table(quiet_day: Trace) -> None:
    strategies = standard_strategies(quiet_day, 450)  # 16 replicas for a 6000 req/s peak
    table = sensitivity(quiet_day, strategies, 450, 4)
    json.dumps(table, allow_nan=False)
    assert table["kind"] == "model"
    assert len(table["rows"]) == len(strategies) * 9
    peak_rows = {
        row["capacity_factor"]: row
        for row in table["rows"]
        if row["strategy"] == "fixed for peak" and row["startup_factor"] == 1.0
    }
    # Sized on the measured capacity, the fixed plan misses the SLO when it is 25% lower.
    assert peak_rows[1.0]["minutes_over_slo"] == 0
    assert peak_rows[0.75]["minutes_over_slo"] > 0


def test_bad_inputs_say_what_is_wrong(day: Trace) -> None:
    with pytest.raises(ConfigError, match="capacity_rps"):
        simulate(day, Hpa(), 0, 8)
    with pytest.raises(ConfigError, match="min <= max"):
        Hpa(min_replicas=5, max_replicas=2)
    with pytest.raises(ConfigError, match="headroom"):
        fixed_for_peak(day, 3000, headroom=-0.1)
    assert isinstance(fixed_for_peak(day, 3000), Fixed)
