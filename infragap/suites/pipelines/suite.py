"""The pipelines suite: one four-step ML pipeline as a shell script and as an Airflow DAG.

Both sides run the same step scripts on the same seeded raw data under the same seeded
transient faults. Four scenarios, on disjoint dates, run one after another:

- "clean": no faults; the sides' metrics must agree (equivalence) and the difference in
  wall time is Airflow's fixed cost per run;
- "transient": N daily runs, each step attempt failing with probability p;
- "backfill": D dates in one go, under the same transient faults;
- "missing": a two-date backfill whose first date has no raw input (the persistent
  failure), without transient faults.

Adds to its results section: "setup" (versions, data, dates); "fixed_cost" (migrate_s,
startup_s, and from the dates where no step failed on either side: per_run_s, its
samples, per_run_overhead_s and naive_overhead_s, see metrics.fixed_cost); "scenarios"
({name: {"description", "dates", "schedule", "missing_input", "sides": {"naive" |
"airflow": side}}}, a side holding "runs", "attempts" (see metrics.py), "passes"
(naive), "startup_s" (airflow), "summary" (metrics.summarize) and "schedule_check");
"equivalence"; and "persistent" (how each side reports the missing input).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from infragap.errors import ConfigError, EquivalenceError, MissingDependency
from infragap.naive.pipeline import STEPS
from infragap.suites.base import SUITES, BenchContext
from infragap.suites.pipelines import metrics
from infragap.suites.pipelines.scenarios import SIDES, PipelinesRun, run_scenario

DEPENDENCIES = ("airflow", "pandas", "pyarrow", "sklearn")
DATA_SIZES = ("tiny", "small", "default")


def check_dependencies(run: PipelinesRun) -> None:
    for module in DEPENDENCIES:
        if importlib.util.find_spec(module) is None:
            raise MissingDependency(f"{module} (needed by the pipelines pair)", "pipelines")


def plan_dates(run: PipelinesRun) -> None:
    from infragap.workloads.pipeline_data import FIRST_DAY, days_from

    counts = {
        "clean": run.config["clean_runs"],
        "transient": run.config["runs"],
        "backfill": run.config["backfill_dates"],
        "missing": 2,
    }
    days = [d.isoformat() for d in days_from(FIRST_DAY, sum(counts.values()))]
    for name, count in counts.items():
        run.dates[name], days = days[:count], days[count:]
    run.missing = [run.dates["missing"][0]]


def prepare_data(run: PipelinesRun) -> None:
    from datetime import date

    from infragap.workloads.pipeline_data import PIPELINE_DATA_SIZES, write_raw_events

    size = PIPELINE_DATA_SIZES[run.config["data_size"]]
    cache = (
        Path(run.config["cache_dir"]) / "pipeline-data" / f"{size.name}-seed{run.config['seed']}"
    )
    wanted = [d for dates in run.dates.values() for d in dates if d not in run.missing]
    with run.ctx.console.status(f"generating raw events for {len(wanted)} days ({size.name})"):
        paths = write_raw_events(
            cache, [date.fromisoformat(d) for d in wanted], run.config["seed"], size
        )
    # The run's raw folder links to the cached days, leaving the missing day out.
    run.raw_dir = run.ctx.work_dir / "raw"
    for path in paths:
        link = run.raw_dir / path.parent.name
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(path.parent.resolve(), target_is_directory=True)
    run.section["setup"] = {
        "airflow_version": _version("apache-airflow"),
        "pandas_version": _version("pandas"),
        "sklearn_version": _version("scikit-learn"),
        "data": {
            "size": size.name,
            "sessions_per_day": size.sessions_per_day,
            "raw_bytes_per_day": statistics.fmean(p.stat().st_size for p in paths),
        },
        "dates": run.dates,
        "missing_input": run.missing,
        "steps": list(STEPS),
    }
    run.save()
    run.say(f"raw events for {len(paths)} days in {cache}")


def migrate_airflow(run: PipelinesRun) -> None:
    from infragap.proven.airflow_dag.runner import AirflowHome

    run.airflow = AirflowHome(run.ctx.work_dir / "airflow-home", run.ctx.supervisor)
    with run.ctx.console.status("airflow db migrate (SQLite)"):
        seconds = run.airflow.migrate()
    run.section["fixed_cost"] = {"migrate_s": seconds}
    run.save()
    run.say(f"airflow db migrate: {seconds:.1f} s")


def run_clean(run: PipelinesRun) -> None:
    run_scenario(run, "clean", with_faults=False)
    check_equivalence(run, run.dates["clean"])


def run_transient(run: PipelinesRun) -> None:
    run_scenario(run, "transient", with_faults=True)


def run_backfill(run: PipelinesRun) -> None:
    run_scenario(run, "backfill", with_faults=True)


def run_missing(run: PipelinesRun) -> None:
    run_scenario(run, "missing", with_faults=False)


def check_equivalence(run: PipelinesRun, dates: Sequence[str]) -> None:
    """Both sides' metrics.json must be identical for every date both finished."""
    compared: list[str] = []
    mismatches: list[dict[str, Any]] = []
    for day in dates:
        naive = _metrics(run.ctx.work_dir / "naive" / "data", day)
        airflow = _metrics(run.ctx.work_dir / "airflow" / "data", day)
        if naive is None or airflow is None:
            continue
        compared.append(day)
        if naive != airflow:
            mismatches.append({"date": day, "naive": naive, "airflow": airflow})
    previous = run.section.get("equivalence") or {"dates": [], "mismatches": []}
    record = {
        "dates": sorted(set(previous["dates"]) | set(compared)),
        "mismatches": previous["mismatches"] + mismatches,
        "example": _metrics(run.ctx.work_dir / "naive" / "data", compared[0]) if compared else None,
    }
    record["passed"] = bool(record["dates"]) and not record["mismatches"]
    run.section["equivalence"] = record
    run.save()
    if not compared and dates == run.dates["clean"]:
        raise EquivalenceError(
            "neither side finished a clean run, so their outputs could not be compared: "
            f"read the logs under {run.ctx.work_dir / 'logs'}"
        )
    if mismatches:
        raise EquivalenceError(
            f"the shell script and the DAG computed different metrics for "
            f"{', '.join(str(m['date']) for m in mismatches)}: the step scripts are not "
            "deterministic"
        )
    run.say(f"equivalence: identical metrics on {len(record['dates'])} dates")


def compare_all_outputs(run: PipelinesRun) -> None:
    later = [d for name in ("transient", "backfill", "missing") for d in run.dates[name]]
    check_equivalence(run, later)


def _metrics(work_dir: Path, day: str) -> dict[str, Any] | None:
    path = work_dir / "metrics" / f"date={day}" / "metrics.json"
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


def record_fixed_cost(run: PipelinesRun) -> None:
    """Airflow's cost on runs where nothing failed, on the dates run one by one."""
    clean: dict[str, dict[str, tuple[float, float]]] = {"naive": {}, "airflow": {}}
    for name in ("clean", "transient"):
        for side, record in run.section["scenarios"][name]["sides"].items():
            clean[side].update(metrics.clean_runs(record["runs"], record["attempts"]))
    startups = [
        side["startup_s"]
        for scenario in run.section["scenarios"].values()
        for name, side in scenario["sides"].items()
        if name == "airflow" and side.get("startup_s") is not None
    ]
    run.section["fixed_cost"].update(metrics.fixed_cost(clean["naive"], clean["airflow"]))
    run.section["fixed_cost"].update(
        {
            "startup_s": statistics.fmean(startups) if startups else None,
            "startup_samples_s": startups,
        }
    )
    run.save()
    cost = run.section["fixed_cost"]
    run.say(
        f"Airflow's fixed cost: {_s(cost['per_run_s'])} per run over the script "
        f"({len(cost['dates'])} fault-free dates), "
        f"{_s(cost['startup_s'])} start-up per process, {_s(cost['migrate_s'])} db migrate once"
    )


def record_persistent(run: PipelinesRun) -> None:
    """How each side reported the missing input."""
    from infragap.suites.pipelines.airflow_side import failure_excerpt

    if not run.missing:
        return
    day = run.missing[0]
    sides = run.section["scenarios"]["missing"]["sides"]
    naive_passes = sides["naive"]["passes"]
    naive_runs = {r["date"]: r["state"] for r in sides["naive"]["runs"]}
    airflow = next((r for r in sides["airflow"]["runs"] if r["date"] == day), None)
    excerpt: list[str] = []
    if airflow is not None:
        tries = airflow["task_tries"].get(STEPS[0], 0)
        excerpt = failure_excerpt(run.airflow.task_log(airflow["run_id"], STEPS[0], tries))
    run.section["persistent"] = {
        "date": day,
        "naive": {
            "exit_codes": [p["exit_code"] for p in naive_passes],
            "message": next(
                (p["message"] for p in naive_passes if p["message"] and day in p["message"]),
                None,
            ),
            "passes": len(naive_passes),
            "dates_not_run": [d for d, s in naive_runs.items() if s == "not_run"],
            "dates_succeeded": [d for d, s in naive_runs.items() if s == "success"],
            "gave_up_after_s": metrics.span(naive_passes),
        },
        "airflow": None
        if airflow is None
        else {
            "run_state": airflow["airflow_state"],
            "task_states": airflow["task_states"],
            "task_tries": airflow["task_tries"],
            "log_excerpt": excerpt,
            "gave_up_after_s": airflow["wall_s"],
            "dates_succeeded": [
                r["date"] for r in sides["airflow"]["runs"] if r["state"] == "success"
            ],
        },
    }
    run.save()


def tidy_up(run: PipelinesRun) -> None:
    """Drop the sides' bulky intermediate partitions; metrics, models and logs stay."""
    import shutil

    for side in SIDES:
        for kind in ("extracted", "features"):
            shutil.rmtree(run.ctx.work_dir / side / "data" / kind, ignore_errors=True)


STEPS_OF_SUITE: list[tuple[str, Callable[[PipelinesRun], None]]] = [
    ("check the optional dependencies", check_dependencies),
    ("plan the dates", plan_dates),
    ("generate the raw events", prepare_data),
    ("set up Airflow's database", migrate_airflow),
    ("clean runs and equivalence", run_clean),
    ("transient faults over N runs", run_transient),
    ("a backfill under transient faults", run_backfill),
    ("a backfill with a missing input", run_missing),
    ("compare every output", compare_all_outputs),
    ("Airflow's fixed cost", record_fixed_cost),
    ("the persistent failure", record_persistent),
    ("tidy up", tidy_up),
]


def _s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} s"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _version(distribution: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


class PipelinesSuite:
    name = "pipelines"
    description = "a shell script of Python steps vs an Airflow DAG, under seeded faults"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("pipelines suite")
        group.add_argument(
            "--pipelines-runs",
            type=int,
            help="daily runs under transient faults (default 12, quick 4)",
        )
        group.add_argument(
            "--pipelines-dates", type=int, help="dates in the backfill (default 5, quick 3)"
        )
        group.add_argument(
            "--fault-rate",
            type=float,
            default=0.2,
            help="probability that one step attempt fails transiently (default 0.2)",
        )
        group.add_argument(
            "--pipelines-retries",
            type=int,
            default=2,
            help="Airflow retries per task; the script is rerun as often (default 2)",
        )
        group.add_argument(
            "--pipelines-retry-delay",
            type=float,
            help="seconds before a retry or rerun (default 10, quick 3)",
        )
        group.add_argument(
            "--pipelines-data-size",
            choices=DATA_SIZES,
            help="raw events per day (default 'default', or 'small' with --quick)",
        )

    def config(self, args: argparse.Namespace) -> dict[str, Any]:
        from infragap.workloads.model_sizes import default_cache_dir

        quick = bool(args.quick)
        runs = args.pipelines_runs if args.pipelines_runs is not None else (4 if quick else 12)
        dates = args.pipelines_dates if args.pipelines_dates is not None else (3 if quick else 5)
        delay = args.pipelines_retry_delay
        if delay is None:
            delay = 3.0 if quick else 10.0
        if runs < 1:
            raise ConfigError("--pipelines-runs must be at least 1")
        if dates < 2:
            raise ConfigError("--pipelines-dates must be at least 2 (one of them lacks its input)")
        if not 0.0 <= args.fault_rate < 1.0:
            raise ConfigError(f"--fault-rate {args.fault_rate}: give a probability in [0, 1)")
        if args.pipelines_retries < 0:
            raise ConfigError("--pipelines-retries must be 0 or more")
        if delay < 0:
            raise ConfigError("--pipelines-retry-delay must be 0 or more seconds")
        return {
            "quick": quick,
            "seed": args.seed,
            "runs": runs,
            "backfill_dates": dates,
            "clean_runs": 2 if quick else 3,
            "fault_rate": args.fault_rate,
            "retries": args.pipelines_retries,
            "retry_delay_s": delay,
            "data_size": args.pipelines_data_size or ("small" if quick else "default"),
            "cache_dir": str(args.cache_dir or default_cache_dir()),
        }

    def run(self, ctx: BenchContext, section: dict[str, Any]) -> None:
        section.setdefault("warnings", [])
        run = PipelinesRun(ctx, section, dict(section["config"]))
        for _title, step in STEPS_OF_SUITE:
            step(run)

    def summary_rows(self, section: dict[str, Any]) -> list[list[str]]:
        rows = [["scenario", "side", "ok", "s/ok run", "redone s", "failed", "tries", "recover"]]
        for name, scenario in section.get("scenarios", {}).items():
            for side, record in scenario["sides"].items():
                summary = record.get("summary")
                if not summary:
                    continue
                tries = summary["attempts_per_step"]
                rows.append(
                    [
                        name,
                        side,
                        f"{summary['successful_runs']}/{summary['runs']}",
                        _num(summary["wall_per_success_s"]),
                        f"{summary['redone_s']:.1f}",
                        str(summary["failed_attempts"]),
                        f"{statistics.fmean(tries.values()):.2f}" if tries else "n/a",
                        _num(summary["recovery_median_s"]),
                    ]
                )
        return rows


SUITES.register("pipelines")(PipelinesSuite())
