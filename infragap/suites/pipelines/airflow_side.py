"""Turn what Airflow recorded about a DAG run into the pair's attempts and run records.

Everything here comes from Airflow's metadata database (task tries, states, start and
end times, durations); only the wall clock around `dag.test()` is the harness's own.
"""

from __future__ import annotations

from typing import Any

from infragap.proven.airflow_dag.metadata import TaskTry, final_states
from infragap.proven.airflow_dag.runner import RunEvent


def attempts_of(day: str, tries: list[TaskTry]) -> list[dict[str, Any]]:
    """Tries that ran, as attempts; a task that never started (upstream failed) has none."""
    attempts = []
    for one in tries:
        if one.start is None or one.try_number < 1:
            continue
        end = one.end if one.end is not None else one.start + (one.duration_s or 0.0)
        attempts.append(
            {
                "date": day,
                "step": one.task_id,
                "attempt": one.try_number,
                "start": one.start,
                "end": end,
                "duration_s": one.duration_s if one.duration_s is not None else end - one.start,
                "state": "success" if one.state == "success" else "failed",
                "airflow_state": one.state,
            }
        )
    return attempts


def run_record(event: RunEvent, tries: list[TaskTry]) -> dict[str, Any]:
    tries_per_task: dict[str, int] = {}
    for one in tries:
        tries_per_task[one.task_id] = max(tries_per_task.get(one.task_id, 0), one.try_number)
    return {
        "date": event.date,
        "run_id": event.run_id,
        "state": "success" if event.state == "success" else "failed",
        "airflow_state": event.state,
        "start": event.start,
        "end": event.end,
        "wall_s": event.end - event.start,
        "task_states": final_states(tries),
        "task_tries": tries_per_task,
    }


def failure_excerpt(lines: list[str], limit: int = 4) -> list[str]:
    """The lines of a try's log that say why it failed."""
    keep = [
        line
        for line in lines
        if ": error: " in line
        or "transient failure" in line
        or "exited with return code" in line
        or "Bash command failed" in line
    ]
    return keep[-limit:]
