"""Run one scenario on both sides and record what each side did, run by run.

The naive side is driven by naive_side.py, the proven side by Airflow through
infragap.proven.airflow_dag; both fill a side record ({"runs", "attempts", "passes" or
"startup_s", "summary", "schedule_check"}) and save the results after every run.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infragap.atomic import write_json_atomically
from infragap.naive.pipeline import PIPELINE_DIR, STEPS
from infragap.suites.base import BenchContext
from infragap.suites.pipelines import faults, metrics
from infragap.suites.pipelines.faults import Schedule

SIDES = ("naive", "airflow")
BACKFILLS = ("backfill", "missing")  # the script runs these as one invocation over all dates
DESCRIPTIONS = {
    "clean": "no injected faults: checks that both sides compute the same metrics and "
    "measures Airflow's fixed cost per run",
    "transient": "independent daily runs; every step attempt fails with probability p",
    "backfill": "one backfill over consecutive dates, under transient faults",
    "missing": "a two-date backfill whose first date has no raw input (a persistent "
    "failure), without transient faults",
}


@dataclass
class PipelinesRun:
    """State handed from step to step."""

    ctx: BenchContext
    section: dict[str, Any]
    config: dict[str, Any]
    dates: dict[str, list[str]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    raw_dir: Path = Path()
    airflow: Any = None  # proven.airflow_dag.runner.AirflowHome

    def say(self, text: str) -> None:
        self.ctx.console.print(f"[bold]pipelines[/] {text}")

    def save(self) -> None:
        self.ctx.results.save()


def run_scenario(run: PipelinesRun, name: str, with_faults: bool) -> None:
    """Draw the scenario's fault schedule, run the script then the DAG, summarize both."""
    cfg = run.config
    dates = run.dates[name]
    missing = [d for d in run.missing if d in dates]
    schedule: Schedule = (
        faults.draw_schedule(cfg["seed"], name, dates, STEPS, cfg["fault_rate"], cfg["retries"] + 1)
        if with_faults
        else {}
    )
    scenario = run.section.setdefault("scenarios", {}).setdefault(
        name,
        {
            "description": DESCRIPTIONS[name],
            "dates": dates,
            "schedule": schedule,
            "injected_failures": faults.injected_failures(schedule),
            "missing_input": missing,
            "sides": {},
        },
    )
    run.save()
    for side, drive in (("naive", drive_naive), ("airflow", drive_airflow)):
        faults_file = None
        if with_faults:
            faults_file = run.ctx.work_dir / "faults" / f"{name}-{side}.json"
            write_json_atomically(faults_file, {"fail": schedule})
        record = scenario["sides"].setdefault(side, {"runs": [], "attempts": []})
        with run.ctx.console.status(f"{name}: {side} side, {len(dates)} dates"):
            drive(run, name, dates, faults_file, record)
        wall = metrics.span(record["runs"] if side == "airflow" else record["passes"])
        record["summary"] = metrics.summarize(record["runs"], record["attempts"], wall, STEPS)
        record["schedule_check"] = schedule_check(run, side, name, schedule, record)
        for problem in record["schedule_check"]["mismatches"]:
            run.section["warnings"].append(f"{name}/{side}: {problem}")
        run.save()
        run.say(_side_line(name, side, record["summary"]))


def drive_naive(
    run: PipelinesRun, name: str, dates: list[str], faults_file: Path | None, record: dict
) -> None:
    from infragap.suites.pipelines.naive_side import (
        NaivePipeline,
        date_states,
        read_timings,
        run_with_reruns,
    )

    cfg = run.config
    side_dir = run.ctx.work_dir / "naive"
    pipeline = NaivePipeline(run.ctx.supervisor, run.raw_dir, side_dir / "data")
    timing_log = side_dir / f"timing-{name}.jsonl"
    record["passes"] = []

    def refresh(new_pass: dict) -> None:
        record["passes"].append(new_pass)
        record["attempts"] = read_timings(timing_log)
        run.save()

    # A daily job runs one date per invocation; a backfill is one invocation over all dates.
    batches = [dates] if name in BACKFILLS else [[d] for d in dates]
    for batch in batches:
        run_with_reruns(
            pipeline, batch, timing_log, faults_file, cfg["retries"], cfg["retry_delay_s"], refresh
        )
    states = date_states(dates, record["attempts"], STEPS[-1])
    record["runs"] = [_naive_run(day, states[day], record) for day in dates]


def _naive_run(day: str, state: str, record: dict) -> dict[str, Any]:
    passes = [p for p in record["passes"] if day in p["dates"]]
    tried = [a for a in record["attempts"] if a["date"] == day]
    if passes and all(p["dates"] == [day] for p in passes):
        start, end = passes[0]["start"], passes[-1]["end"]
    elif tried:
        start, end = min(a["start"] for a in tried), max(a["end"] for a in tried)
    else:
        start = end = None
    return {
        "date": day,
        "state": state,
        "start": start,
        "end": end,
        "wall_s": None if start is None or end is None else end - start,
        "exit_codes": [p["exit_code"] for p in passes],
    }


def drive_airflow(
    run: PipelinesRun, name: str, dates: list[str], faults_file: Path | None, record: dict
) -> None:
    from infragap.proven.airflow_dag.metadata import task_tries
    from infragap.proven.airflow_dag.runner import RunEvent
    from infragap.suites.pipelines.airflow_side import attempts_of, run_record

    cfg = run.config
    env = {
        "PIPELINE_STEPS_DIR": str(PIPELINE_DIR),
        "PIPELINE_PYTHON": sys.executable,
        "PIPELINE_RAW_DIR": str(run.raw_dir),
        "PIPELINE_WORK_DIR": str(run.ctx.work_dir / "airflow" / "data"),
        "PIPELINE_RETRIES": str(cfg["retries"]),
        "PIPELINE_RETRY_DELAY_S": str(cfg["retry_delay_s"]),
    }
    if faults_file is not None:
        env["PIPELINE_FAULTS"] = str(faults_file)

    def recorded(event: RunEvent) -> None:
        tries = task_tries(run.airflow.db, "training_pipeline", event.run_id)
        record["runs"].append(run_record(event, tries))
        record["attempts"].extend(attempts_of(event.date, tries))
        run.save()

    budget = len(dates) * len(STEPS) * (cfg["retries"] + 1) * (cfg["retry_delay_s"] + 300) + 600
    report = run.airflow.run_dates(dates, env, recorded, timeout_s=budget, name=f"airflow-{name}")
    record["startup_s"] = report.startup_s


def schedule_check(
    run: PipelinesRun, side: str, name: str, schedule: Schedule, record: dict
) -> dict[str, Any]:
    """Compare what the side recorded with what the injected schedule implies."""
    retries = run.config["retries"]
    missing = run.missing
    problems: list[str] = []
    if side == "airflow":
        for one in record["runs"]:
            expected = faults.expected_airflow(
                schedule.get(one["date"], {}), STEPS, retries, one["date"] in missing
            )
            for step, want in expected.items():
                got = (one["task_tries"].get(step, 0), one["task_states"].get(step))
                if got != (want.tries, want.state):
                    problems.append(
                        f"{one['date']} {step}: Airflow recorded {got[0]} tries ending "
                        f"{got[1]}, the schedule implies {want.tries} ending {want.state}"
                    )
    else:
        groups = [run.dates[name]] if name in BACKFILLS else [[d] for d in run.dates[name]]
        for dates in groups:
            passes = faults.expected_naive(schedule, dates, STEPS, retries, missing)
            implied = [p.exit_code for p in passes]
            exited = [p["exit_code"] for p in record["passes"] if p["dates"] == dates]
            if exited != implied:
                problems.append(
                    f"{','.join(dates)}: the script exited {exited}, the schedule implies {implied}"
                )
    return {"matched": not problems, "mismatches": problems}


def _s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} s"


def _side_line(name: str, side: str, summary: dict[str, Any]) -> str:
    share = summary["success_share"]
    return (
        f"{name}/{side}: {summary['successful_runs']}/{summary['runs']} runs ok"
        f"{'' if share is None else f' ({share:.0%})'}, wall {_s(summary['wall_s'])}, "
        f"redone {summary['redone_s']:.1f} step-s, {summary['failed_attempts']} failed attempts"
    )
