"""shell-to-airflow: before/after scripts, the DAGs they become, and what it refuses.

Each `tests/fixtures/shell_to_airflow/<case>.sh` must become `<case>_dag.py` beside it
(golden files; after a deliberate change to the output, regenerate them with
`INFRAGAP_UPDATE_GOLDEN=1 pytest tests/migrate/test_migrate_shell_to_airflow.py` and read
the diff). tests/pipelines/test_migrated_dag_runs.py runs such DAGs in Airflow.
"""

from __future__ import annotations

import os
from pathlib import Path
from textwrap import dedent

import pytest

from infragap.migrate.results import RuleResult, Status
from infragap.migrate.rules import fix_text

pytest.importorskip("tree_sitter_bash")

RULE = "shell-to-airflow"
CASES = Path(__file__).resolve().parents[1] / "fixtures" / "shell_to_airflow"
MARK = "infragap migrate: shell-to-airflow"


def migrate(script: str, name: str = "run.sh", **options: str) -> RuleResult:
    return fix_text(RULE, dedent(script), options, path=name)


def dag_of(result: RuleResult) -> str:
    (dag,) = result.new_files
    return dag.text


@pytest.mark.parametrize("case", sorted(p.stem for p in CASES.glob("*.sh")), ids=lambda case: case)
def test_each_script_becomes_its_golden_dag_and_a_second_run_changes_nothing(case):
    script = (CASES / f"{case}.sh").read_text()
    result = fix_text(RULE, script, {}, path=f"{case}.sh")
    assert result.status is Status.CHANGED, result.reason
    (dag,) = result.new_files
    assert dag.path == f"{case}_dag.py"
    compile(dag.text, dag.path, "exec")
    golden = CASES / dag.path
    if os.environ.get("INFRAGAP_UPDATE_GOLDEN"):
        golden.write_text(dag.text)
    assert dag.text == golden.read_text()
    lines = result.text.splitlines(keepends=True)
    assert MARK in lines[1] and "".join(lines[:1] + lines[2:]) == script  # only a comment added
    again = fix_text(RULE, result.text, {}, path=f"{case}.sh")
    assert again.status is Status.UNCHANGED and again.text == result.text


def test_the_date_loop_becomes_the_logical_date_and_its_chooser_goes():
    dag = dag_of(fix_text(RULE, (CASES / "dated_backfill.sh").read_text(), {}, path="p.sh"))
    assert 'ENV["DATE"] = "{{ ds }}"' in dag
    assert 'ENV["HERE"] = SCRIPT_DIR' in dag
    assert 'ENV["PYTHON"] = os.environ.get("PYTHON") or "python3"' in dag
    assert 'SETUP = "set -euo pipefail\\n"' in dag
    assert "DATES" not in dag.split("with DAG(")[1]  # the array that chose the dates is gone
    assert "(line 15 chose them)" in dag
    assert 'trigger_rule="all_done"' not in dag  # set -e: each step waits for the one before


def test_without_set_e_each_step_runs_whatever_the_one_before_did():
    dag = dag_of(
        migrate(
            """\
            python a.py
            python b.py && python c.py
            python d.py
            """
        )
    )
    steps = dag.split("chain(")[1].split("step(")[1:]
    assert ['trigger_rule="all_done"' in s for s in steps] == [False, True, False, True]


def test_echo_lines_ride_with_the_next_step_and_the_last_ones_with_the_last():
    dag = dag_of(
        migrate(
            """\
            set -e
            echo "start"
            python a.py
            python b.py
            echo "done"
            """
        )
    )
    assert '\'echo "start"\\n\'\n            "python a.py"' in dag
    assert '"python b.py\\n"\n            \'echo "done"\'' in dag


def test_variables_that_run_something_stay_shell_and_reassignments_too():
    dag = dag_of(
        migrate(
            """\
            OUT=/data/out
            STAMP=$(date +%s)
            python a.py "$OUT" "$STAMP"
            OUT=/data/other
            python b.py "$OUT"
            """
        )
    )
    assert 'ENV["OUT"] = "/data/out"  # line 1' in dag
    assert 'SETUP = "STAMP=$(date +%s)\\n"' in dag
    assert 'SETUP_2 = SETUP + "OUT=/data/other\\n"' in dag
    assert "setup=SETUP_2" in dag.split('"b"')[1]


def test_commands_that_look_like_templates_or_template_files_run_as_written():
    dag = dag_of(
        migrate(
            """\
            python a.py --n "${#ITEMS}"
            python b.py && ./publish.sh
            """
        )
    )
    assert '{% raw %}python a.py --n "${#ITEMS}"{% endraw %}' in dag
    assert '"./publish.sh ",' in dag  # a trailing .sh would make Airflow look for a file


def test_loop_items_become_one_task_each_with_the_item_in_the_environment():
    dag = dag_of(
        migrate(
            """\
            for model in small large; do
                python train.py --model "$model"
            done
            python compare.py
            """
        )
    )
    assert '"train_small",' in dag and 'env={"model": "small"},' in dag
    assert '"train_large",' in dag and 'env={"model": "large"},' in dag


def test_a_commented_out_step_stays_a_comment_and_is_noted():
    result = migrate("python a.py\n# python old.py --slow\npython b.py\n")
    assert "# Commented out in run.sh:2, not a task: python old.py --slow" in dag_of(result)
    assert any("commented-out step" in note.message for note in result.notes)


@pytest.mark.parametrize(
    ("script", "why"),
    [
        ("python a.py\ntrap 'rm -f x' EXIT\npython b.py\n", "`trap` acts when the whole script"),
        ("python a.py\nexit 1\npython b.py\n", "`exit` stops the script before its end"),
        ('cd "$(mktemp -d)"\npython a.py\npython b.py\n', "`cd` into a folder known only"),
        (
            'python a.py | read MODEL\npython b.py --model "$MODEL"\n',
            "$MODEL is set inside a construct kept as one task",
        ),
        ("while read d; do python a.py $d; done\nshift\npython b.py\n", "`shift` changes"),
    ],
)
def test_scripts_that_cannot_be_split_run_whole_in_one_task(script, why):
    result = migrate(script)
    dag = dag_of(result)
    assert why in dag and 'bash "$INFRAGAP_SCRIPT"' in dag
    assert 'ENV["INFRAGAP_SCRIPT"] = os.path.join(SCRIPT_DIR, "run.sh")' in dag
    assert dag.count("step(\n") == 1
    (note,) = result.notes
    assert note.message.startswith("one task for the whole script")


def test_a_script_that_does_not_parse_is_skipped_byte_for_byte():
    script = "python a.py\nif [ -f x ]; then\npython b.py\n"  # no `fi`
    result = migrate(script)
    assert result.status is Status.FAILED and result.text == script
    assert "not valid shell: `fi` is missing: the if statement at line 2" in result.reason


@pytest.mark.parametrize(
    "script",
    [
        "python serve.py --port 8000\n",  # one step is not a pipeline
        "echo hello\nls -l\n",
        f"#!/bin/sh\n# Runs as an Airflow DAG now: run_dag.py ({MARK}).\n"
        "python a.py\npython b.py\n",
    ],
)
def test_nothing_to_do_leaves_the_script_alone(script):
    result = migrate(script)
    assert result.status is Status.UNCHANGED and not result.new_files


def test_crlf_scripts_keep_their_line_endings():
    result = migrate("#!/bin/sh\r\npython a.py\r\npython b.py\r\n")
    assert result.text.startswith("#!/bin/sh\r\n# Runs as an Airflow DAG now: run_dag.py")
    assert result.text.endswith("python a.py\r\npython b.py\r\n")
    assert "\r\n\r" not in result.text


def test_options_set_the_retries():
    dag = dag_of(migrate("python a.py\npython b.py\n", retries="5", retry_delay_s="30"))
    assert '"retries": 5,' in dag and '"retry_delay": timedelta(seconds=30),' in dag
