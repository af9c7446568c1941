"""The pipelines pair: a shell script of Python steps vs an Airflow DAG, under seeded faults."""
