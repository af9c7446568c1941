"""The Airflow DAG for real on tiny data: what its database records matches the schedule."""

from __future__ import annotations

import itertools
import json
import shutil
import sys
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest
from pipeline_helpers import leftovers, outputs, run_script, truncate, write_schedule

from infragap.naive.pipeline import PIPELINE_DIR
from infragap.processes import Supervisor
from infragap.suites.pipelines.faults import expected_airflow
from infragap.workloads.pipeline_data import raw_path

pytestmark = pytest.mark.integration
STEPS = ("extract", "preprocess", "train", "evaluate")
RETRIES = 2
DELAY_S = 1


@pytest.fixture(scope="module")
def backfill(tmp_path_factory: pytest.TempPathFactory, raw_cache: Path, days: list[str]):
    """Five dates in one dag.test() child: clean, retried, retries exhausted, missing, corrupt."""
    pytest.importorskip("airflow")
    from infragap.proven.airflow_dag.runner import AirflowHome

    root = tmp_path_factory.mktemp("airflow")
    raw = Path(shutil.copytree(raw_cache, root / "raw"))
    missing, corrupt = days[3], days[4]
    raw_path(raw, date.fromisoformat(missing)).unlink()
    truncate(raw_path(raw, date.fromisoformat(corrupt)))
    fail = {days[1]: {"extract": [1], "train": [1, 2]}, days[2]: {"preprocess": [1, 2, 3]}}
    env = {
        "PIPELINE_STEPS_DIR": str(PIPELINE_DIR),
        "PIPELINE_PYTHON": sys.executable,
        "PIPELINE_RAW_DIR": str(raw),
        "PIPELINE_WORK_DIR": str(root / "work"),
        "PIPELINE_RETRIES": str(RETRIES),
        "PIPELINE_RETRY_DELAY_S": str(DELAY_S),
        "PIPELINE_FAULTS": str(write_schedule(root / "faults.json", fail)),
    }
    # Other test modules may hold servers of their own for the session: only processes
    # started while this fixture runs must be gone afterwards.
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with Supervisor(root / "logs") as supervisor:
        home = AirflowHome(root / "home", supervisor)
        home.migrate()
        events: list = []
        report = home.run_dates(days[:5], env, events.append, timeout_s=600)
    children = [
        p
        for p in psutil.Process().children(recursive=True)
        if p.pid not in before and p.status() != "zombie"
    ]
    yield SimpleNamespace(
        home=home,
        report=report,
        events={e.date: e for e in events},
        fail=fail,
        raw=raw,
        work=root / "work",
        missing=missing,
        corrupt=corrupt,
        children=children,
    )


def tries_of(backfill, day):
    from infragap.proven.airflow_dag.metadata import final_states, task_tries

    tries = task_tries(backfill.home.db, "training_pipeline", backfill.events[day].run_id)
    most: dict[str, int] = {}
    for one in tries:
        most[one.task_id] = max(most.get(one.task_id, 0), one.try_number)
    return tries, most, final_states(tries)


def test_run_states_and_progress(backfill, days):
    states = {day: backfill.events[day].state for day in days[:5]}
    assert states == {
        days[0]: "success",
        days[1]: "success",
        days[2]: "failed",
        days[3]: "failed",
        days[4]: "failed",
    }
    assert backfill.report.startup_s is not None and backfill.report.startup_s > 0
    assert not backfill.children, "a child process survived"


def test_tries_in_airflows_database_match_the_schedule(backfill, days):
    for day in days[:5]:
        bad_input = day in (backfill.missing, backfill.corrupt)
        expected = expected_airflow(backfill.fail.get(day, {}), STEPS, RETRIES, bad_input)
        _, most, states = tries_of(backfill, day)
        got = {step: (most.get(step, 0), states.get(step)) for step in STEPS}
        assert got == {step: (e.tries, e.state) for step, e in expected.items()}, day


def test_retries_wait_and_record_durations(backfill, days):
    tries, _, _ = tries_of(backfill, days[1])
    train = sorted((t for t in tries if t.task_id == "train"), key=lambda t: t.try_number)
    assert [t.state for t in train] == ["failed", "failed", "success"]
    for before, after in itertools.pairwise(train):
        assert after.start - before.end >= DELAY_S - 0.05
    assert all(t.duration_s and t.duration_s > 0 for t in train)


def test_missing_and_corrupt_inputs_fail_the_run_with_the_file_in_the_log(backfill):
    from infragap.suites.pipelines.airflow_side import failure_excerpt

    for day, words in ((backfill.missing, "is missing"), (backfill.corrupt, "is corrupt")):
        path = raw_path(backfill.raw, date.fromisoformat(day))
        log = backfill.home.task_log(backfill.events[day].run_id, "extract", RETRIES + 1)
        assert log, day
        assert any(f"raw events file {path} {words}" in line for line in failure_excerpt(log))
        assert not any(outputs(backfill.work, day).values())
    assert not leftovers(backfill.work)


def test_the_dag_computes_what_the_script_computes(backfill, raw_cache, tmp_path, days):
    done = run_script([days[0]], raw_cache, tmp_path / "work")
    assert done.returncode == 0, done.stderr
    naive = json.loads(
        (tmp_path / "work" / "metrics" / f"date={days[0]}" / "metrics.json").read_text()
    )
    dag = json.loads((backfill.work / "metrics" / f"date={days[0]}" / "metrics.json").read_text())
    assert naive == dag
