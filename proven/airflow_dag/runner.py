"""Run the training DAG for real, one `dag.test()` per logical date, in a child process.

`AirflowHome` is a temporary AIRFLOW_HOME with a SQLite metadata database: `migrate()`
runs `airflow db migrate` once, `run_dates()` starts one child that runs the DAG for each
date in turn and hands every finished run to a callback as soon as it is recorded. The
harness never imports Airflow: its configuration and logging stay in the children.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infragap.errors import InfragapError, MissingDependency
from infragap.processes import Child, Supervisor
from infragap.proven.airflow_dag import DAG_FILE, DAG_ID

POLL_S = 0.2


class AirflowRunError(InfragapError):
    """Airflow could not set up its database or run the DAG; carries the end of its log."""


def require_airflow() -> None:
    if importlib.util.find_spec("airflow") is None:
        raise MissingDependency("Apache Airflow (the pipelines pair's proven side)", "pipelines")


@dataclass(frozen=True)
class RunEvent:
    """One finished DAG run as the child saw it (wall clock around `dag.test()`)."""

    date: str
    run_id: str
    state: str
    start: float
    end: float


@dataclass
class BackfillReport:
    spawned_at: float
    log_path: Path | None = None  # the child's console: dag.test() logs every task there
    started_at: float | None = None  # the child's interpreter is up
    ready_at: float | None = None  # Airflow imported and the DAG parsed
    runs: list[RunEvent] = field(default_factory=list)

    @property
    def startup_s(self) -> float | None:
        return None if self.ready_at is None else self.ready_at - self.spawned_at


class AirflowHome:
    """A private AIRFLOW_HOME: SQLite database, logs, and the environment that selects it.

    It runs the training DAG by default; `dag_file` and `dag_id` name another DAG (its
    folder becomes the dags folder, where Airflow must find a DAG to run it).
    """

    def __init__(
        self,
        home: Path,
        supervisor: Supervisor,
        python: str = sys.executable,
        dag_file: Path = DAG_FILE,
        dag_id: str = DAG_ID,
    ):
        self.home = home.resolve()
        self.dag_file = dag_file.resolve()
        self.dag_id = dag_id
        self.supervisor = supervisor
        self.python = python
        self.db = self.home / "airflow.db"
        self._runs = 0
        self._consoles: list[Path] = []

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """This process's environment without any Airflow or pipeline settings, plus ours."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("AIRFLOW") and not key.startswith("PIPELINE_")
        }
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dag_file.parent),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db}",
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
                "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(extra or {})
        return env

    def migrate(self, timeout_s: float = 600.0) -> float:
        """`airflow db migrate` into a fresh SQLite file; returns the seconds it took."""
        require_airflow()
        self.home.mkdir(parents=True, exist_ok=True)
        start = time.monotonic()
        child = self.supervisor.start(
            "airflow-db-migrate",
            [self.python, "-m", "airflow", "db", "migrate"],
            env=self.environment(),
            cwd=self.home,
        )
        self._wait(child, start + timeout_s, "airflow db migrate")
        return time.monotonic() - start

    def run_dates(
        self,
        dates: Sequence[str],
        extra_env: Mapping[str, str],
        on_run: Callable[[RunEvent], None],
        timeout_s: float,
        name: str = "airflow-dag-test",
    ) -> BackfillReport:
        """Run the DAG once per date, in order; `on_run` gets each run as it finishes."""
        require_airflow()
        self._runs += 1
        progress = self.home / f"progress-{self._runs}.jsonl"
        progress.unlink(missing_ok=True)
        argv = [
            self.python,
            "-m",
            "infragap.proven.airflow_dag.run_dates",
            "--dag-file",
            str(self.dag_file),
            "--dates",
            ",".join(dates),
            "--progress",
            str(progress),
        ]
        report = BackfillReport(spawned_at=time.time())
        deadline = time.monotonic() + timeout_s
        child = self.supervisor.start(
            f"{name}-{self._runs}", argv, env=self.environment(extra_env), cwd=self.home
        )
        report.log_path = child.log_path
        self._consoles.append(child.log_path)
        seen = 0
        try:
            while True:
                exited = not child.alive()
                events = _read_events(progress)
                for event in events[seen:]:
                    _apply(report, event, on_run)
                seen = len(events)
                if exited:
                    break
                if time.monotonic() > deadline:
                    raise AirflowRunError(
                        f"the DAG runs for {len(dates)} dates took over {timeout_s:.0f} s: "
                        f"raise the timeout or read {child.log_path}, which ends with:\n"
                        f"{child.log_tail()}"
                    )
                time.sleep(POLL_S)
        finally:
            self.supervisor.stop(child)
        code = child.popen.returncode
        if code != 0 or len(report.runs) != len(dates):
            raise AirflowRunError(
                f"the dag.test() child exited with code {code} after {len(report.runs)} of "
                f"{len(dates)} runs; its log ({child.log_path}) ends with:\n{child.log_tail()}"
            )
        return report

    def _wait(self, child: Child, deadline: float, what: str) -> None:
        try:
            while child.alive():
                if time.monotonic() > deadline:
                    raise AirflowRunError(
                        f"{what} did not finish in time: read {child.log_path}, "
                        f"which ends with:\n{child.log_tail()}"
                    )
                time.sleep(POLL_S)
        finally:
            self.supervisor.stop(child)
        if child.popen.returncode != 0:
            raise AirflowRunError(
                f"{what} failed with exit code {child.popen.returncode}; its log "
                f"({child.log_path}) ends with:\n{child.log_tail()}"
            )

    def task_log(self, run_id: str, task_id: str, try_number: int) -> list[str]:
        """One try's task log as readable lines; empty when none was kept.

        A deployed Airflow writes one file per try under logs/; dag.test() logs every
        task to its console instead, between "[DAG TEST] running task" and "end task".
        """
        folder = (
            self.home / "logs" / f"dag_id={self.dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        )
        try:
            return log_lines((folder / f"attempt={try_number}.log").read_text("utf-8", "replace"))
        except OSError:
            pass
        for console in self._consoles:
            try:
                text = console.read_text("utf-8", "replace")
            except OSError:
                continue
            tries = console_task_logs(text, run_id, task_id, self.dag_id)
            if len(tries) >= try_number >= 1:
                return tries[try_number - 1]
        return []


def _read_events(progress: Path) -> list[dict[str, Any]]:
    try:
        lines = progress.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    events = []
    for line in lines:
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            break  # a line still being written: read it next time
    return events


def _apply(report: BackfillReport, event: dict[str, Any], on_run: Callable[[RunEvent], None]):
    kind = event.get("event")
    if kind == "started":
        report.started_at = float(event["at"])
    elif kind == "ready":
        report.ready_at = float(event["at"])
    elif kind == "run":
        run = RunEvent(
            event["date"],
            event["run_id"],
            event["state"],
            float(event["start"]),
            float(event["end"]),
        )
        report.runs.append(run)
        on_run(run)


_LOGGER_TAIL = re.compile(r"\s+\[[A-Za-z_][\w.]*\](\s+[\w.]+=\S+)*\s*$")


def console_task_logs(
    text: str, run_id: str, task_id: str, dag_id: str = DAG_ID
) -> list[list[str]]:
    """The lines logged by each try of one task in a dag.test() console, in try order."""
    start = f"[DAG TEST] running task <TaskInstance: {dag_id}.{task_id} {run_id} "
    tries: list[list[str]] = []
    current: list[str] | None = None
    for line in text.splitlines():
        if start in line:
            current = []
            tries.append(current)
        elif current is not None and "[DAG TEST] end task" in line:
            current = None
        elif current is not None:
            current.append(_LOGGER_TAIL.sub("", line))
    return tries


def log_lines(text: str) -> list[str]:
    """Airflow 3 task logs are JSON lines; give back their human-readable events."""
    lines = []
    for raw in text.splitlines():
        try:
            record = json.loads(raw)
        except json.JSONDecodeError:
            lines.append(raw)
            continue
        if isinstance(record, dict):
            level = str(record.get("level", "")).upper()
            lines.append(f"{level} {record.get('event', '')}".strip())
        else:
            lines.append(raw)
    return lines
