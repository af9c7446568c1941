"""The pair's metrics on hand-made attempts."""

import pytest

from infragap.suites.pipelines import metrics

STEPS = ["extract", "train"]


def attempt(day, step, n, start, end, state="success"):
    return {
        "date": day,
        "step": step,
        "attempt": n,
        "start": start,
        "end": end,
        "duration_s": end - start,
        "state": state,
    }


# Script: extract ok, train fails; rerun from the top: extract again, train ok.
SCRIPT = [
    attempt("d1", "extract", 1, 0, 2),
    attempt("d1", "train", 1, 2, 5, "failed"),
    attempt("d1", "extract", 2, 10, 12),
    attempt("d1", "train", 2, 12, 15),
]
# DAG: the same failure, only train retried.
DAG = [
    attempt("d1", "extract", 1, 0, 2),
    attempt("d1", "train", 1, 2, 5, "failed"),
    attempt("d1", "train", 2, 10, 13),
]


def test_redone_counts_every_attempt_after_the_first():
    assert metrics.redone_seconds(SCRIPT) == pytest.approx(2 + 3)
    assert metrics.redone_seconds(DAG) == pytest.approx(3)
    assert metrics.lost_seconds(SCRIPT) == metrics.lost_seconds(DAG) == pytest.approx(3)


def test_attempts_per_step_and_recovery():
    assert metrics.attempts_per_step(SCRIPT, STEPS) == {"extract": 2, "train": 2}
    assert metrics.attempts_per_step(DAG, STEPS) == {"extract": 1, "train": 2}
    assert metrics.recovery_times(SCRIPT) == [10]
    assert metrics.recovery_times(DAG) == [8]
    assert metrics.unrecovered(SCRIPT) == 0
    assert metrics.unrecovered([attempt("d1", "train", 1, 0, 1, "failed")]) == 1


def test_success_share_and_wall_per_success():
    runs = [{"state": "success"}, {"state": "failed"}, {"state": "not_run"}, {"state": "success"}]
    assert metrics.success_share(runs) == 0.5
    assert metrics.wall_per_success(30.0, runs) == 15.0
    assert metrics.wall_per_success(30.0, [{"state": "failed"}]) is None
    assert metrics.success_share([]) is None


def test_summary_holds_every_figure():
    summary = metrics.summarize([{"state": "success"}], DAG, metrics.span(DAG), STEPS)
    assert summary["wall_s"] == 13
    assert summary["busy_s"] == pytest.approx(8)
    assert summary["failed_attempts"] == 1
    assert summary["recovery_median_s"] == 8


def test_fixed_cost_uses_dates_where_nothing_failed_on_either_side():
    runs = [{"date": "d1", "state": "success", "wall_s": 20.0}]
    assert metrics.clean_runs(runs, DAG) == {}  # train failed once
    clean = [attempt("d2", "extract", 1, 0, 2), attempt("d2", "train", 1, 2, 5)]
    naive = metrics.clean_runs([{"date": "d2", "state": "success", "wall_s": 5.5}], clean)
    airflow = metrics.clean_runs([{"date": "d2", "state": "success", "wall_s": 7.0}], clean)
    cost = metrics.fixed_cost(naive, airflow)
    assert cost["dates"] == ["d2"]
    assert cost["per_run_s"] == pytest.approx(1.5)
    assert cost["per_run_overhead_s"] == pytest.approx(2.0)
    assert cost["naive_overhead_s"] == pytest.approx(0.5)
    assert metrics.fixed_cost({}, {})["per_run_s"] is None
