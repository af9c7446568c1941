"""Child process: run the DAG once per logical date with `dag.test()`, reporting progress.

runner.py starts it as `python -m infragap.proven.airflow_dag.run_dates --dag-file F
--dates D1,D2 --progress FILE`, with AIRFLOW_HOME pointing at a migrated SQLite
database, so Airflow's configuration and logging stay in this process. Each finished run
appends one JSON line to the progress file; what Airflow recorded about it is in its
database.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def emit(progress: Path, event: dict[str, Any]) -> None:
    with open(progress, "a", encoding="utf-8") as out:
        out.write(json.dumps(event) + "\n")
        out.flush()
        os.fsync(out.fileno())


# What dag.test() imports lazily on its first run (the in-process execution API, the task
# runner, the bash hook): imported up front, so start-up is counted once, as start-up,
# and not inside the first task's duration.
WARM_UP = (
    "airflow.api_fastapi.execution_api.app",
    "airflow.dag_processing.bundles.manager",
    "airflow.dag_processing.dagbag",
    "airflow.models.dagrun",
    "airflow.providers.standard.hooks.subprocess",
    "airflow.sdk.execution_time.supervisor",
    "airflow.sdk.execution_time.task_runner",
    "airflow.serialization.serialized_objects",
)


def warm_up() -> None:
    for module in WARM_UP:
        # A module moved in another Airflow version is simply imported lazily, as before.
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    # The in-process execution API is built once per process and cached (a private API, so
    # anything going wrong only means the first task pays for it, as without the warm-up).
    # Its first request starts the app; the health check is harmless.
    with contextlib.suppress(Exception):
        import httpx
        from airflow.sdk.execution_time.supervisor import in_process_api_server

        api = in_process_api_server()
        with httpx.Client(transport=api.transport, base_url="http://in-process.invalid./") as c:
            c.get("/health")


def load_dag(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"infragap_dag_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load the DAG file {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run_dates")
    parser.add_argument("--dag-file", type=Path, required=True)
    parser.add_argument("--dates", required=True, help="comma-separated YYYY-MM-DD")
    parser.add_argument("--progress", type=Path, required=True)
    args = parser.parse_args(argv)
    emit(args.progress, {"event": "started", "at": time.time()})
    dag = load_dag(args.dag_file)
    warm_up()
    emit(args.progress, {"event": "ready", "at": time.time()})
    for day in args.dates.split(","):
        logical = datetime.fromisoformat(day).replace(tzinfo=timezone.utc)
        start = time.time()
        run = dag.test(logical_date=logical)
        end = time.time()
        state = getattr(run.state, "value", run.state)
        emit(
            args.progress,
            {
                "event": "run",
                "date": day,
                "run_id": run.run_id,
                "state": str(state),
                "start": start,
                "end": end,
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
