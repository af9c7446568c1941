"""What the pair is judged on, from recorded attempts and runs. Pure functions.

An attempt is a dict with date, step, attempt (1, 2, ...), start and end (Unix seconds),
duration_s and state ("success" or "failed"). A run is a dict with date and state
("success", "failed", or "not_run" when a backfill stopped before reaching it).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

Attempt = dict[str, Any]
Run = dict[str, Any]


def _by_task(attempts: Sequence[Attempt]) -> dict[tuple[str, str], list[Attempt]]:
    grouped: dict[tuple[str, str], list[Attempt]] = defaultdict(list)
    for attempt in sorted(attempts, key=lambda a: (a["start"], a["attempt"])):
        grouped[(attempt["date"], attempt["step"])].append(attempt)
    return grouped


def success_share(runs: Sequence[Run]) -> float | None:
    if not runs:
        return None
    return sum(run["state"] == "success" for run in runs) / len(runs)


def wall_per_success(wall_s: float | None, runs: Sequence[Run]) -> float | None:
    """The scenario's wall-clock time divided by its successful runs (failures included)."""
    successes = sum(run["state"] == "success" for run in runs)
    if wall_s is None or successes == 0:
        return None
    return wall_s / successes


def redone_seconds(attempts: Sequence[Attempt]) -> float:
    """Step-seconds executed more than once: every attempt of a step for a date after its first."""
    return sum(a["duration_s"] for tries in _by_task(attempts).values() for a in tries[1:])


def lost_seconds(attempts: Sequence[Attempt]) -> float:
    """Step-seconds of attempts that failed, whose work was thrown away."""
    return sum(a["duration_s"] for a in attempts if a["state"] != "success")


def busy_seconds(attempts: Sequence[Attempt]) -> float:
    return sum(a["duration_s"] for a in attempts)


def attempts_per_step(attempts: Sequence[Attempt], steps: Sequence[str]) -> dict[str, float]:
    """Mean attempts per date, for each step, over the dates the step was attempted at all."""
    counts: dict[str, list[int]] = defaultdict(list)
    for (_day, step), tries in _by_task(attempts).items():
        counts[step].append(len(tries))
    return {step: statistics.fmean(counts[step]) for step in steps if counts[step]}


def recovery_times(attempts: Sequence[Attempt]) -> list[float]:
    """For each step of a date that failed and later succeeded: first failure's end to success."""
    times = []
    for tries in _by_task(attempts).values():
        failed = next((a for a in tries if a["state"] != "success"), None)
        if failed is None:
            continue
        done = next(
            (a for a in tries if a["state"] == "success" and a["start"] >= failed["end"]), None
        )
        if done is not None:
            times.append(done["end"] - failed["end"])
    return times


def unrecovered(attempts: Sequence[Attempt]) -> int:
    """Steps of a date that failed and never succeeded afterwards."""
    return sum(
        1 for tries in _by_task(attempts).values() if tries and tries[-1]["state"] != "success"
    )


def span(items: Sequence[dict[str, Any]]) -> float | None:
    """Wall-clock seconds from the first start to the last end."""
    if not items:
        return None
    return max(i["end"] for i in items) - min(i["start"] for i in items)


def summarize(
    runs: Sequence[Run], attempts: Sequence[Attempt], wall_s: float | None, steps: Sequence[str]
) -> dict[str, Any]:
    recoveries = recovery_times(attempts)
    return {
        "runs": len(runs),
        "successful_runs": sum(run["state"] == "success" for run in runs),
        "success_share": success_share(runs),
        "wall_s": wall_s,
        "wall_per_success_s": wall_per_success(wall_s, runs),
        "busy_s": busy_seconds(attempts),
        "redone_s": redone_seconds(attempts),
        "lost_s": lost_seconds(attempts),
        "attempts": len(attempts),
        "failed_attempts": sum(a["state"] != "success" for a in attempts),
        "attempts_per_step": attempts_per_step(attempts, steps),
        "recoveries": len(recoveries),
        "recovery_s": recoveries,
        "recovery_median_s": statistics.median(recoveries) if recoveries else None,
        "recovery_max_s": max(recoveries) if recoveries else None,
        "unrecovered_steps": unrecovered(attempts),
    }


def clean_runs(runs: Sequence[Run], attempts: Sequence[Attempt]) -> dict[str, tuple[float, float]]:
    """date -> (run wall, step time) for successful runs whose every step passed first time."""
    by_date: dict[str, list[Attempt]] = defaultdict(list)
    for attempt in attempts:
        by_date[attempt["date"]].append(attempt)
    found = {}
    for run in runs:
        tries = by_date.get(run["date"], [])
        if run["state"] != "success" or run.get("wall_s") is None or not tries:
            continue
        if all(a["attempt"] == 1 and a["state"] == "success" for a in tries):
            found[run["date"]] = (float(run["wall_s"]), sum(a["duration_s"] for a in tries))
    return found


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def fixed_cost(
    naive: dict[str, tuple[float, float]], airflow: dict[str, tuple[float, float]]
) -> dict[str, Any]:
    """What a fault-free run costs on top of its steps, from `clean_runs` of each side.

    per_run_s compares the same dates on both sides; the overheads are a run's wall time
    minus its step time on each side (scheduling, bookkeeping, interpreter and shell).
    """
    common = sorted(set(naive) & set(airflow))
    extra = [airflow[d][0] - naive[d][0] for d in common]
    return {
        "dates": common,
        "per_run_samples_s": extra,
        "per_run_s": _mean(extra),
        "per_run_overhead_s": _mean([wall - busy for wall, busy in airflow.values()]),
        "naive_overhead_s": _mean([wall - busy for wall, busy in naive.values()]),
    }
