"""shell-to-airflow for real: the DAG it writes from the pipelines pair's run_pipeline.sh
is imported by Airflow and run with dag.test(), and computes what the script computes;
a script without `set -e` keeps its semantics (a failed step does not stop the next)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from pipeline_helpers import outputs, write_schedule

from infragap.migrate.cli import main as migrate
from infragap.naive.pipeline import PIPELINE_DIR
from infragap.processes import Supervisor

pytestmark = pytest.mark.integration
STEPS = ("extract", "preprocess", "train", "evaluate")


def _migrate(folder: Path, *options: str) -> Path:
    argv = ["apply", str(folder), "--rule", "shell-to-airflow", "--write", "-j", "1"]
    for option in options:
        argv += ["--option", option]
    assert migrate(argv) == 0
    (dag,) = folder.glob("*_dag.py")
    return dag


def _run_dag(root: Path, dag: Path, dag_id: str, dates: list[str], env: dict[str, str]):
    from infragap.proven.airflow_dag.runner import AirflowHome

    with Supervisor(root / "logs") as supervisor:
        home = AirflowHome(root / "home", supervisor, dag_file=dag, dag_id=dag_id)
        home.migrate()
        runs: list = []
        home.run_dates(dates, env, runs.append, timeout_s=600)
    return home, {run.date: run for run in runs}


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory, raw_cache: Path, days: list[str]):
    """The naive pipeline migrated, then run both ways on two dates; train fails once on
    the second date, which Airflow retries and the script does not."""
    pytest.importorskip("airflow")
    root = tmp_path_factory.mktemp("migrated")
    folder = Path(shutil.copytree(PIPELINE_DIR, root / "pipeline", ignore=_pycache))
    dag = _migrate(folder, "retry_delay_s=1")
    fail = {days[1]: {"train": [1]}}
    env = {"PYTHON": sys.executable, "RAW_DIR": str(raw_cache)}
    dag_env = {
        **env,
        "WORK_DIR": str(root / "work-dag"),
        "PIPELINE_FAULTS": str(write_schedule(root / "dag-faults.json", fail)),
    }
    home, runs = _run_dag(root, dag, "run_pipeline", days[:2], dag_env)
    script = [
        subprocess.run(
            ["bash", str(folder / "run_pipeline.sh"), day],
            env={
                **_clean_env(),
                **env,
                "WORK_DIR": str(root / "work-script"),
                "PIPELINE_FAULTS": str(write_schedule(root / "script-faults.json", fail)),
            },
            capture_output=True,
            text=True,
            timeout=300,
        )
        for day in days[:2]
    ]
    return SimpleNamespace(root=root, folder=folder, dag=dag, home=home, runs=runs, script=script)


def _pycache(folder: str, names: list[str]) -> list[str]:
    return [name for name in names if name == "__pycache__"]


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "AIRFLOW"))}


def _tries(migrated, day: str, dag_id: str = "run_pipeline") -> dict[str, list[str | None]]:
    from infragap.proven.airflow_dag.metadata import task_tries

    found: dict[str, list[str | None]] = {}
    for one in task_tries(migrated.home.db, dag_id, migrated.runs[day].run_id):
        found.setdefault(one.task_id, []).append(one.state)
    return found


def test_the_dag_has_a_task_per_step_in_script_order(migrated):
    text = migrated.dag.read_text()
    compile(text, str(migrated.dag), "exec")
    assert text.index('"extract"') < text.index('"preprocess"') < text.index('"train"')
    assert (
        "# Runs as an Airflow DAG now: run_pipeline_dag.py"
        in (migrated.folder / "run_pipeline.sh").read_text()
    )
    for step in STEPS:  # the step code is untouched
        assert (migrated.folder / f"{step}.py").read_bytes() == (
            PIPELINE_DIR / f"{step}.py"
        ).read_bytes()


def test_airflow_runs_each_date_and_retries_the_failed_step(migrated, days):
    assert {day: run.state for day, run in migrated.runs.items()} == {
        days[0]: "success",
        days[1]: "success",
    }
    assert _tries(migrated, days[0]) == {step: ["success"] for step in STEPS}
    retried = _tries(migrated, days[1])
    assert retried["train"] == ["failed", "success"]
    assert [retried[s] for s in ("extract", "preprocess", "evaluate")] == [["success"]] * 3


def test_the_script_stops_where_the_dag_retried(migrated, days):
    first, second = migrated.script
    assert first.returncode == 0, first.stderr
    assert second.returncode != 0 and "transient failure" in second.stderr
    assert not outputs(migrated.root / "work-script", days[1])["evaluate"]


def test_the_dag_computes_what_the_script_computes(migrated, days):
    day = days[0]
    script_work, dag_work = migrated.root / "work-script", migrated.root / "work-dag"
    assert all(outputs(dag_work, day).values())
    script_files = sorted(p.relative_to(script_work) for p in script_work.rglob(f"date={day}/*"))
    dag_files = sorted(p.relative_to(dag_work) for p in dag_work.rglob(f"date={day}/*"))
    assert script_files == dag_files and len(dag_files) == len(STEPS)
    metrics = f"metrics/date={day}/metrics.json"
    assert json.loads((script_work / metrics).read_text()) == json.loads(
        (dag_work / metrics).read_text()
    )


def test_a_second_apply_changes_nothing(migrated):
    before = {p.name: p.read_bytes() for p in migrated.folder.iterdir() if p.is_file()}
    assert migrate(["apply", str(migrated.folder), "--rule", "shell-to-airflow", "--check"]) == 0
    assert {p.name: p.read_bytes() for p in migrated.folder.iterdir() if p.is_file()} == before


NO_ERREXIT = """\
#!/bin/bash
# Without set -e: a failing step does not stop the next one.
OUT="${OUT:-/tmp/out}"
mkdir -p "$OUT"
python3 first.py "$OUT"
python3 broken.py "$OUT"
for size in small large; do
    python3 train.py "$OUT" "$size"
done
"""
STEP_PY = """\
import pathlib, sys
name = "-".join([pathlib.Path(__file__).stem, *sys.argv[2:]])
if name == "broken":
    sys.exit("broken on purpose")
(pathlib.Path(sys.argv[1]) / name).write_text(name)
"""


def test_without_set_e_the_dag_runs_on_after_a_failure_as_the_script_did(tmp_path):
    pytest.importorskip("airflow")
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / "nightly.sh").write_text(NO_ERREXIT)
    for step in ("first", "broken", "train"):
        (folder / f"{step}.py").write_text(STEP_PY)
    dag = _migrate(folder, "retries=0")
    script_out, dag_out = tmp_path / "script-out", tmp_path / "dag-out"
    done = subprocess.run(
        ["bash", str(folder / "nightly.sh")],
        env={**_clean_env(), "OUT": str(script_out)},
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0  # the last step's status, as bash has it
    home, runs = _run_dag(tmp_path, dag, "nightly", ["2025-01-06"], {"OUT": str(dag_out)})
    migrated = SimpleNamespace(home=home, runs=runs)
    tries = _tries(migrated, "2025-01-06", "nightly")
    assert tries["broken"] == ["failed"]
    assert tries["first"] == tries["train_small"] == tries["train_large"] == ["success"]
    assert runs["2025-01-06"].state == "success"
    assert sorted(p.name for p in dag_out.iterdir()) == sorted(p.name for p in script_out.iterdir())
    assert sorted(p.name for p in dag_out.iterdir()) == ["first", "train-large", "train-small"]
    lines = (folder / "nightly.sh").read_text().splitlines(keepends=True)
    assert lines[1].startswith("# Runs as an Airflow DAG now: nightly_dag.py")
    assert "".join(lines[:1] + lines[2:]) == NO_ERREXIT  # only the mark was added


LOAD_DAGS = """
import importlib.util, json, sys
found = {}
for path in sys.argv[1:]:
    spec = importlib.util.spec_from_file_location("dag_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found[path] = {
        "dag_id": module.dag.dag_id,
        "tasks": [
            [t.task_id, sorted(t.upstream_task_ids), getattr(t.trigger_rule, "value", ""), t.cwd]
            for t in module.dag.tasks
        ],
    }
print(json.dumps(found))
"""


def test_every_golden_dag_imports_in_airflow_as_one_chain(tmp_path):
    pytest.importorskip("airflow")
    goldens = sorted((Path(__file__).parents[1] / "fixtures" / "shell_to_airflow").glob("*.py"))
    env = {**_clean_env(), "AIRFLOW_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, "-c", LOAD_DAGS, *map(str, goldens)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(loaded) == len(goldens) >= 5
    for path, dag in loaded.items():
        ids = [task[0] for task in dag["tasks"]]
        assert dag["dag_id"] == Path(path).stem.removesuffix("_dag")
        for before, (task_id, upstream, _, cwd) in zip(
            [None, *ids[:-1]], dag["tasks"], strict=True
        ):
            assert upstream == ([before] if before else []), (path, task_id)
            assert cwd.startswith(str(Path(path).parent)), (path, task_id)
    no_errexit = loaded[str(goldens[[g.name for g in goldens].index("no_errexit_dag.py")])]
    rules = {task[0]: task[2] for task in no_errexit["tasks"]}
    assert rules["mkdir"] == "all_success" and rules["publish"] == "all_done"
