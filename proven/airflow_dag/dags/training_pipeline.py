"""The daily training pipeline as an Airflow DAG: the naive step scripts, unchanged.

Each step is a BashOperator calling the same `python <step>.py` command the shell script
runs, with retries and a retry delay; each logical date is one DAG run. Where the
scripts, the data and the Python live comes from the environment (PIPELINE_*), as a
deployment would set it.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, chain

DAG_ID = "training_pipeline"
STEPS = ("extract", "preprocess", "train", "evaluate")


def _steps_dir() -> str:
    configured = os.environ.get("PIPELINE_STEPS_DIR")
    if configured:
        return configured
    from infragap.naive.pipeline import PIPELINE_DIR

    return str(PIPELINE_DIR)


def _command(step: str) -> str:
    raw = ' --raw-dir "$PIPELINE_RAW_DIR"' if step == "extract" else ""
    return (
        f'"$PIPELINE_PYTHON" "{_steps_dir()}/{step}.py" --date {{{{ ds }}}}'
        f'{raw} --work-dir "$PIPELINE_WORK_DIR"'
    )


with DAG(
    dag_id=DAG_ID,
    description="extract -> preprocess -> train -> evaluate, one run per day",
    schedule="@daily",
    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    default_args={
        "retries": int(os.environ.get("PIPELINE_RETRIES", "2")),
        "retry_delay": timedelta(seconds=float(os.environ.get("PIPELINE_RETRY_DELAY_S", "300"))),
    },
    tags=["infragap"],
) as dag:
    chain(
        *(
            BashOperator(task_id=step, bash_command=_command(step), do_xcom_push=False)
            for step in STEPS
        )
    )
