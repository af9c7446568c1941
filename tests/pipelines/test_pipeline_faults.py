"""The seeded fault schedule and what it implies for each side."""

from infragap.suites.pipelines.faults import (
    EXIT_BAD_INPUT,
    EXIT_TRANSIENT,
    ExpectedPass,
    ExpectedTask,
    draw_schedule,
    expected_airflow,
    expected_naive,
    injected_failures,
)

STEPS = ("extract", "preprocess", "train", "evaluate")
DATES = [f"2025-01-{d:02d}" for d in range(6, 26)]


def test_same_seed_same_schedule_and_rate_zero_injects_nothing():
    first = draw_schedule(3, "transient", DATES, STEPS, 0.2, 3)
    assert first == draw_schedule(3, "transient", DATES, STEPS, 0.2, 3)
    assert first != draw_schedule(4, "transient", DATES, STEPS, 0.2, 3)
    assert draw_schedule(3, "transient", DATES, STEPS, 0.0, 3) == {}


def test_failure_share_is_near_the_rate():
    dates = [f"day-{i}" for i in range(100)]
    schedule = draw_schedule(0, "transient", dates, STEPS, 0.3, 3)
    share = injected_failures(schedule) / (len(dates) * len(STEPS) * 3)  # 1,200 coins
    assert 0.25 < share < 0.35
    assert all(1 <= n <= 3 for steps in schedule.values() for a in steps.values() for n in a)


def test_each_attempt_is_its_own_coin_independent_of_the_attempt_budget():
    short = draw_schedule(1, "s", DATES, STEPS, 0.5, 2)
    long = draw_schedule(1, "s", DATES, STEPS, 0.5, 4)
    for day, steps in short.items():
        for step, attempts in steps.items():
            assert [n for n in long[day][step] if n <= 2] == attempts


def test_airflow_retries_only_the_failing_task():
    expected = expected_airflow({"extract": [1], "train": [1, 2]}, STEPS, retries=2)
    assert expected == {
        "extract": ExpectedTask(2, "success"),
        "preprocess": ExpectedTask(1, "success"),
        "train": ExpectedTask(3, "success"),
        "evaluate": ExpectedTask(1, "success"),
    }


def test_airflow_gives_up_after_its_retries_and_skips_downstream():
    expected = expected_airflow({"preprocess": [1, 2, 3]}, STEPS, retries=2)
    assert expected["preprocess"] == ExpectedTask(3, "failed")
    assert expected["train"] == expected["evaluate"] == ExpectedTask(0, "upstream_failed")
    missing = expected_airflow({}, STEPS, retries=1, input_missing=True)
    assert missing["extract"] == ExpectedTask(2, "failed")


def test_script_reruns_from_the_top():
    schedule = {"d1": {"extract": [1], "train": [1]}}
    passes = expected_naive(schedule, ["d1"], STEPS, reruns=2)
    assert passes == [
        ExpectedPass(EXIT_TRANSIENT, ("d1", "extract")),
        ExpectedPass(EXIT_TRANSIENT, ("d1", "train")),
        ExpectedPass(0, None),
    ]


def test_script_backfill_stops_at_the_missing_date_every_time():
    passes = expected_naive({}, ["d1", "d2", "d3"], STEPS, reruns=2, missing={"d2"})
    assert passes == [ExpectedPass(EXIT_BAD_INPUT, ("d2", "extract"))] * 3


def test_script_without_reruns_stops_at_the_first_failure():
    passes = expected_naive({"d1": {"evaluate": [1]}}, ["d1"], STEPS, reruns=0)
    assert passes == [ExpectedPass(EXIT_TRANSIENT, ("d1", "evaluate"))]
