"""Task tries, states and durations, read back from Airflow's SQLite metadata database.

Airflow keeps the latest try of each task in `task_instance` and every earlier try in
`task_instance_history`. Reading them with sqlite3 keeps Airflow out of the harness.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

_TRIES = """
SELECT 0, task_id, try_number, state, start_date, end_date, duration
  FROM task_instance WHERE dag_id = ? AND run_id = ?
UNION ALL
SELECT 1, task_id, try_number, state, start_date, end_date, duration
  FROM task_instance_history WHERE dag_id = ? AND run_id = ?
"""


@dataclass(frozen=True)
class TaskTry:
    """One try of one task; a task that never started has try_number 0 and no times."""

    task_id: str
    try_number: int
    state: str | None
    start: float | None  # Unix time
    end: float | None
    duration_s: float | None


def _epoch(value: str | None) -> float | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)  # Airflow stores UTC
    return moment.timestamp()


def _connect(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)


def task_tries(db: Path, dag_id: str, run_id: str) -> list[TaskTry]:
    """Every try of every task of one DAG run, by task then try number."""
    with closing(_connect(db)) as conn:
        rows = conn.execute(_TRIES, (dag_id, run_id, dag_id, run_id)).fetchall()
    found: dict[tuple[str, int], TaskTry] = {}
    # The live row wins over a history row of the same try (a cleared and rerun task).
    for _source, task, number, state, start, end, duration in sorted(rows, key=lambda row: -row[0]):
        found[(task, int(number))] = TaskTry(
            task, int(number), state, _epoch(start), _epoch(end), duration
        )
    return [found[key] for key in sorted(found)]


def run_state(db: Path, dag_id: str, run_id: str) -> str | None:
    with closing(_connect(db)) as conn:
        row = conn.execute(
            "SELECT state FROM dag_run WHERE dag_id = ? AND run_id = ?", (dag_id, run_id)
        ).fetchone()
    return row[0] if row else None


def final_states(tries: list[TaskTry]) -> dict[str, str | None]:
    """Each task's state after its last try."""
    last: dict[str, TaskTry] = {}
    for one in tries:
        if one.task_id not in last or one.try_number >= last[one.task_id].try_number:
            last[one.task_id] = one
    return {task: one.state for task, one in last.items()}
