"""run_pipeline.sh for real on tiny data: exit codes under injected faults and bad inputs."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

import pytest
from pipeline_helpers import leftovers, outputs, run_script, truncate, write_schedule

from infragap.naive.pipeline import PIPELINE_DIR
from infragap.suites.pipelines.faults import (
    EXIT_BAD_INPUT,
    EXIT_TRANSIENT,
    expected_naive,
)
from infragap.workloads.pipeline_data import raw_path

pytestmark = pytest.mark.integration
STEPS = ("extract", "preprocess", "train", "evaluate")


def test_clean_run_writes_every_output(raw_dir, tmp_path, days):
    done = run_script([days[0]], raw_dir, tmp_path / "work")
    assert done.returncode == 0, done.stderr
    assert all(outputs(tmp_path / "work", days[0]).values())
    metrics = json.loads(
        (tmp_path / "work" / "metrics" / f"date={days[0]}" / "metrics.json").read_text()
    )
    assert 0.5 < metrics["roc_auc"] <= 1.0
    assert metrics["holdout_rows"] > 0
    assert not leftovers(tmp_path / "work")


def test_exit_codes_follow_the_schedule_and_reruns_start_from_the_top(raw_dir, tmp_path, days):
    day = days[1]
    fail = {day: {"extract": [1], "train": [1]}}
    schedule = write_schedule(tmp_path / "faults.json", fail)
    work = tmp_path / "work"
    codes = []
    for _ in range(3):
        done = run_script([day], raw_dir, work, schedule)
        codes.append(done.returncode)
        if done.returncode == 0:
            break
        assert "transient failure" in done.stderr
        assert not leftovers(work)
        if len(codes) == 1:
            assert not any(outputs(work, day).values())  # extract failed before committing
    assert codes == [p.exit_code for p in expected_naive(fail, [day], STEPS, reruns=2)]
    assert codes == [EXIT_TRANSIENT, EXIT_TRANSIENT, 0]
    counters = tmp_path / "faults.json.attempts"
    attempts = {step: int((counters / f"{day}.{step}").read_text()) for step in STEPS}
    assert attempts == {"extract": 3, "preprocess": 2, "train": 2, "evaluate": 1}


def test_missing_raw_input_names_the_file_and_stops_everything(raw_dir, tmp_path, days):
    missing = raw_path(raw_dir, date.fromisoformat(days[2]))
    missing.unlink()
    work = tmp_path / "work"
    done = run_script([days[0], days[2], days[3]], raw_dir, work)
    assert done.returncode == EXIT_BAD_INPUT
    assert f"raw events file {missing} is missing" in done.stderr
    assert all(outputs(work, days[0]).values())
    assert not any(outputs(work, days[2]).values())
    assert not any(outputs(work, days[3]).values())  # the backfill stopped
    assert not leftovers(work)


def test_corrupt_raw_input_is_reported_as_corrupt(raw_dir, tmp_path, days):
    path = raw_path(raw_dir, date.fromisoformat(days[0]))
    truncate(path)
    done = run_script([days[0]], raw_dir, tmp_path / "work")
    assert done.returncode == EXIT_BAD_INPUT
    assert f"raw events file {path} is corrupt" in done.stderr
    assert not any(outputs(tmp_path / "work", days[0]).values())


def test_corrupt_intermediate_stops_downstream_and_names_the_file(raw_dir, tmp_path, days):
    work = tmp_path / "work"
    assert run_script([days[0]], raw_dir, work).returncode == 0
    features = work / "features" / f"date={days[0]}" / "features.parquet"
    truncate(features)
    (work / "models" / f"date={days[0]}" / "model.pkl").unlink()
    done = subprocess.run(
        [
            sys.executable,
            str(PIPELINE_DIR / "train.py"),
            "--date",
            days[0],
            "--work-dir",
            str(work),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == EXIT_BAD_INPUT
    assert f"features file {features} is corrupt" in done.stderr
    assert f"run preprocess for {days[0]}" in done.stderr
    assert not outputs(work, days[0])["train"]
