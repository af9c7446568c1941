"""The proven side of the pipelines pair: an Airflow 3 DAG of the naive step scripts.

`dags/training_pipeline.py` is the DAG; `runner.py` runs it for real (temporary
AIRFLOW_HOME, SQLite, `airflow db migrate`, `dag.test()` per logical date in a child
process) and `metadata.py` reads task tries, states and durations back from Airflow's
database. Only `run_dates.py`, run in that child, imports Airflow.
"""

from pathlib import Path

DAGS_DIR = Path(__file__).resolve().parent / "dags"
DAG_FILE = DAGS_DIR / "training_pipeline.py"
DAG_ID = "training_pipeline"
