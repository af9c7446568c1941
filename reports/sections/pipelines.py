"""The pipelines pair's report section: what orchestration buys under the same faults.

Reads the pipelines suite's results section (see infragap.suites.pipelines.suite): the
headline compares the script and the DAG under transient faults, then the persistent
failure, Airflow's fixed cost, the summary table and a timeline per scenario.
"""

from __future__ import annotations

from typing import Any

from infragap.reports import format as fmt
from infragap.reports.compare import Metric
from infragap.reports.model import Block, Callout, Cell, Claim, Code, KeyValues, Part, Table, Text
from infragap.reports.sections import SECTIONS, Contribution
from infragap.reports.sections import pipelines_charts as charts

SIDE_NAMES = {"naive": "the shell script", "airflow": "the Airflow DAG"}
STEPS = ["extract", "preprocess", "train", "evaluate"]


def _summary(section: dict[str, Any], scenario: str, side: str) -> dict[str, Any] | None:
    record = (section.get("scenarios") or {}).get(scenario, {}).get("sides", {}).get(side)
    return (record or {}).get("summary")


def _share(summary: dict[str, Any] | None) -> str:
    if not summary or summary.get("success_share") is None:
        return fmt.MISSING
    return fmt.percent(summary["success_share"] * 100)


def transient_words(section: dict[str, Any]) -> list[str]:
    naive = _summary(section, "transient", "naive")
    airflow = _summary(section, "transient", "airflow")
    if not naive or not airflow:
        return []
    rate = (section.get("config") or {}).get("fault_rate")
    retries = (section.get("config") or {}).get("retries")
    return [
        f"With every step attempt failing with probability {fmt.plain(rate)} and "
        f"{fmt.plain(retries)} retries (the script rerun as often), the Airflow DAG finished "
        f"{airflow['successful_runs']} of {airflow['runs']} runs and the shell script "
        f"{naive['successful_runs']} of {naive['runs']}; the script redid "
        f"{fmt.seconds(naive['redone_s'])} of step work, the DAG "
        f"{fmt.seconds(airflow['redone_s'])}, because a rerun starts again from the top "
        "while a retry repeats only the failed task."
    ]


def persistent_words(persistent: dict[str, Any] | None) -> list[str]:
    if not persistent:
        return []
    naive = persistent.get("naive") or {}
    airflow = persistent.get("airflow")
    day = persistent["date"]
    codes = ", ".join(str(c) for c in naive.get("exit_codes") or []) or fmt.MISSING
    not_run = len(naive.get("dates_not_run") or [])
    later = f"{not_run} later date{'' if not_run == 1 else 's'}"
    if naive.get("message"):
        words = [
            f"The missing raw input for {day} stopped the script's backfill at that date on "
            f"each of its {naive.get('passes')} runs (exit codes {codes}), so {later} never ran."
        ]
    else:
        words = [
            f"The script's backfill never reached {day} (exit codes {codes}); {later} never ran."
        ]
    if airflow:
        words.append(
            f"Airflow marked only the {day} run failed (extract: "
            f"{airflow['task_states'].get('extract')} after "
            f"{airflow['task_tries'].get('extract')} tries, the steps after it "
            f"{airflow['task_states'].get('preprocess')}) and finished the other "
            f"{len(airflow.get('dates_succeeded') or [])} of the backfill."
        )
    return words


def fixed_cost_words(cost: dict[str, Any] | None) -> list[str]:
    if not cost or cost.get("per_run_s") is None:
        return []
    dates = len(cost.get("dates") or [])
    once = (
        f"{fmt.seconds(cost.get('startup_s'))} to start a process that runs DAGs and "
        f"{fmt.seconds(cost.get('migrate_s'))} once to create its database"
    )
    if cost["per_run_s"] <= 0:
        return [
            f"On {dates} fault-free dates the DAG's runs took no longer than the script's "
            f"({fmt.seconds(cost['per_run_s'])} on average, within this machine's noise); "
            f"Airflow's fixed cost is {once}."
        ]
    return [
        f"Airflow's bookkeeping costs {fmt.seconds(cost['per_run_s'])} per fault-free run over "
        f"the plain script (mean of {dates} dates), plus {once}."
    ]


def equivalence_words(equivalence: dict[str, Any] | None) -> list[str]:
    if not equivalence:
        return []
    if not equivalence.get("passed"):
        return [
            "The two sides wrote different metrics for the same date: their timings are not "
            "comparable until the step scripts are deterministic."
        ]
    return [
        f"Both sides wrote identical metrics.json files for all {len(equivalence['dates'])} "
        "dates both finished, so they did the same work."
    ]


def claims(section: dict[str, Any]) -> list[Claim]:
    found = []
    naive = _summary(section, "transient", "naive")
    airflow = _summary(section, "transient", "airflow")
    if naive and airflow:
        found.append(
            Claim(
                label="runs that finished under transient faults",
                value=f"{_share(airflow)} vs {_share(naive)}",
                detail="Airflow DAG vs shell script",
                tone="good"
                if (airflow["success_share"] or 0) > (naive["success_share"] or 0)
                else "neutral",
            )
        )
        found.append(
            Claim(
                label="step work redone under transient faults",
                value=f"{fmt.seconds(airflow['redone_s'])} vs {fmt.seconds(naive['redone_s'])}",
                detail="Airflow DAG vs shell script",
                tone="good" if airflow["redone_s"] < naive["redone_s"] else "neutral",
            )
        )
    cost = section.get("fixed_cost") or {}
    if cost.get("per_run_s") is not None:
        found.append(
            Claim(
                label="Airflow's fixed cost per run",
                value=fmt.seconds(cost["per_run_s"]),
                detail=f"start-up {fmt.seconds(cost.get('startup_s'))}, "
                f"db migrate {fmt.seconds(cost.get('migrate_s'))} once",
                tone="bad" if cost["per_run_s"] > 0 else "neutral",
            )
        )
    return found


def summary_table(section: dict[str, Any]) -> Table:
    rows = []
    for name, scenario in (section.get("scenarios") or {}).items():
        for side, record in scenario.get("sides", {}).items():
            summary = record.get("summary")
            if not summary:
                continue
            per_step = summary.get("attempts_per_step") or {}
            rows.append(
                [
                    Cell(name),
                    Cell(side),
                    Cell(
                        f"{summary['successful_runs']}/{summary['runs']}",
                        note=_share(summary),
                    ),
                    Cell(fmt.seconds(summary["wall_s"])),
                    Cell(fmt.seconds(summary["wall_per_success_s"])),
                    Cell(fmt.seconds(summary["busy_s"])),
                    Cell(
                        fmt.seconds(summary["redone_s"]),
                        note=f"{fmt.seconds(summary['lost_s'])} in failed tries",
                    ),
                    Cell(fmt.number(summary["failed_attempts"])),
                    Cell(" / ".join(fmt.number(per_step.get(step), 2) for step in STEPS)),
                    Cell(
                        fmt.seconds(summary["recovery_median_s"]),
                        note=f"max {fmt.seconds(summary['recovery_max_s'])}"
                        if summary["recovery_max_s"] is not None
                        else "",
                    ),
                ]
            )
    return Table(
        columns=[
            "scenario",
            "side",
            "runs ok",
            "wall",
            "wall per ok run",
            "step time",
            "redone",
            "failed tries",
            "tries per step",
            "recovery p50",
        ],
        rows=rows,
        numeric_from=2,
        caption="Wall: first step start to last step end (Airflow's process start-up "
        "excluded, see the fixed cost). Wall per ok run: wall divided by the runs that "
        "finished. Step time: the sum of every attempt's duration. Redone: step time spent "
        "on a step for a date after its first attempt (failed tries, and for the script the "
        "steps that had already succeeded before a rerun). Tries: mean attempts per date. "
        "Tries per step: mean attempts per date of extract / preprocess / train / evaluate. "
        "Recovery: from a step's first failure to its later success.",
    )


def persistent_blocks(persistent: dict[str, Any] | None) -> list[Block]:
    if not persistent:
        return [Text("No persistent failure was recorded in this run.")]
    naive, airflow = persistent.get("naive") or {}, persistent.get("airflow") or {}
    blocks: list[Block] = [
        Text(
            f"The raw events file for {persistent['date']}, the first date of a two-date "
            "backfill, was left out. "
            "The shell script reports it as an exit code and a line on stderr; Airflow as "
            "task states, tries and a task log."
        ),
        KeyValues(
            title="shell script",
            items=[
                ("exit codes", ", ".join(str(c) for c in naive.get("exit_codes") or [])),
                ("dates finished", ", ".join(naive.get("dates_succeeded") or []) or "none"),
                ("dates never run", ", ".join(naive.get("dates_not_run") or []) or "none"),
                ("gave up after", fmt.seconds(naive.get("gave_up_after_s"))),
            ],
        ),
    ]
    if naive.get("message"):
        blocks.append(Code(naive["message"], title="the script's last words on stderr"))
    if airflow:
        states = airflow.get("task_states") or {}
        tries = airflow.get("task_tries") or {}
        blocks.append(
            KeyValues(
                title="Airflow DAG",
                items=[
                    ("run state", str(airflow.get("run_state"))),
                    *((f"task {s}", f"{states.get(s)} ({tries.get(s, 0)} tries)") for s in STEPS),
                    ("dates finished", ", ".join(airflow.get("dates_succeeded") or []) or "none"),
                    ("gave up after", fmt.seconds(airflow.get("gave_up_after_s"))),
                ],
            )
        )
        if airflow.get("log_excerpt"):
            blocks.append(Code("\n".join(airflow["log_excerpt"]), title="extract's last task log"))
    return blocks


def fixed_cost_blocks(cost: dict[str, Any] | None) -> list[Block]:
    if not cost:
        return [Text("Airflow's fixed cost was not measured in this run.")]
    return [
        KeyValues(
            items=[
                (
                    "per fault-free run, over the script",
                    f"{fmt.seconds(cost.get('per_run_s'))} (mean of "
                    f"{len(cost.get('dates') or [])} dates run both ways)",
                ),
                (
                    "Airflow, per run, outside the tasks (dag.test() wall − task durations)",
                    fmt.seconds(cost.get("per_run_overhead_s")),
                ),
                (
                    "script, per run, outside the steps (bash, wall − step durations)",
                    fmt.seconds(cost.get("naive_overhead_s")),
                ),
                ("process start-up (import, parse the DAG)", fmt.seconds(cost.get("startup_s"))),
                ("airflow db migrate, once", fmt.seconds(cost.get("migrate_s"))),
            ]
        ),
        Text(
            "dag.test() runs the DAG in one process with a SQLite database; a deployed "
            "scheduler starts once, but pays the same per-run bookkeeping."
        ),
    ]


def check_blocks(section: dict[str, Any]) -> list[Block]:
    mismatches = [
        f"{name}/{side}: {problem}"
        for name, scenario in (section.get("scenarios") or {}).items()
        for side, record in scenario.get("sides", {}).items()
        for problem in (record.get("schedule_check") or {}).get("mismatches", [])
    ]
    injected = sum(
        int(s.get("injected_failures") or 0) for s in (section.get("scenarios") or {}).values()
    )
    if mismatches:
        return [Callout("bad", "; ".join(mismatches[:5]), title="tries differ from the schedule")]
    return [
        Callout(
            "good",
            f"Every try Airflow recorded in its database and every exit code of the script "
            f"matches the seeded schedule ({injected} injected transient failures).",
            title="faults as injected",
        )
    ]


def validity_warnings(section: dict[str, Any]) -> list[str]:
    warnings = []
    if not section.get("equivalence"):
        warnings.append("no equivalence check was recorded: the sides' outputs were not compared")
    elif not section["equivalence"].get("passed"):
        warnings.append("the sides wrote different metrics: the comparison is not like for like")
    return warnings


class PipelinesSection:
    title = "Pipelines: shell script vs Airflow DAG"
    description = (
        "The same four step scripts (extract, preprocess, train, evaluate) on the same "
        "seeded raw events, chained by a set -e shell script that is rerun from the top "
        "after a failure, and by an Airflow 3 DAG with per-task retries, run with "
        "dag.test() per logical date. Both face the same seeded transient faults."
    )

    def contribute(self, section: dict[str, Any], anchor: str) -> Contribution:
        verdicts = [
            *transient_words(section),
            *persistent_words(section.get("persistent")),
            *fixed_cost_words(section.get("fixed_cost")),
            *equivalence_words(section.get("equivalence")),
        ]
        parts = []
        if section.get("scenarios"):
            parts.append(
                Part(
                    "Runs, wall time and redone work",
                    f"{anchor}-summary",
                    [summary_table(section), *check_blocks(section)],
                )
            )
            parts.append(Part("Timelines", f"{anchor}-timelines", self._timelines(section)))
        parts.append(
            Part(
                "A missing input",
                f"{anchor}-persistent",
                persistent_blocks(section.get("persistent")),
            )
        )
        parts.append(
            Part(
                "Airflow's fixed cost",
                f"{anchor}-fixed-cost",
                fixed_cost_blocks(section.get("fixed_cost")),
            )
        )
        return Contribution(verdicts, claims(section), parts, validity_warnings(section))

    def _timelines(self, section: dict[str, Any]) -> list[Block]:
        blocks: list[Block] = []
        steps = (section.get("setup") or {}).get("steps") or STEPS
        for name, scenario in section["scenarios"].items():
            figure = charts.timeline(name, scenario, steps)
            if figure is not None:
                blocks.append(figure)
        return blocks or [Text("No attempts were recorded.")]

    def metrics(self, section: dict[str, Any]) -> list[Metric]:
        found = []
        for name, scenario in (section.get("scenarios") or {}).items():
            for side, record in scenario.get("sides", {}).items():
                group = f"{name} / {side}"
                runs = record.get("runs") or []
                ok = [float(r["state"] == "success") for r in runs]
                walls = [
                    float(r["wall_s"])
                    for r in runs
                    if r["state"] == "success" and r.get("wall_s") is not None
                ]
                redone = _redone_per_date(record.get("attempts") or [])
                found += [
                    Metric(
                        f"{name}/{side}/success", group, "runs ok", "share", "higher", tuple(ok)
                    ),
                    Metric(
                        f"{name}/{side}/wall", group, "wall per ok run", "s", "lower", tuple(walls)
                    ),
                    Metric(f"{name}/{side}/redone", group, "redone per date", "s", "lower", redone),
                ]
        return found


def _redone_per_date(attempts: list[dict[str, Any]]) -> tuple[float, ...]:
    by_task: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for a in sorted(attempts, key=lambda a: a["start"]):
        by_task.setdefault((a["date"], a["step"]), []).append(a)
    per_date: dict[str, float] = {}
    for (day, _step), tries in by_task.items():
        per_date[day] = per_date.get(day, 0.0) + sum(a["duration_s"] for a in tries[1:])
    return tuple(per_date[d] for d in sorted(per_date))


SECTIONS.register("pipelines")(PipelinesSection())
