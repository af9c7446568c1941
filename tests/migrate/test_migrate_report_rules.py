"""The report-only rules: shell pipelines and duplicated preprocessing."""

from __future__ import annotations

from textwrap import dedent

from infragap.migrate.rules import RULES
from infragap.migrate.shell.steps import shell_steps
from infragap.migrate.source import Source


def test_shell_steps_skip_comments_and_shebangs():
    script = dedent(
        """\
        #!/usr/bin/env python3-wrapper
        # python old_step.py (disabled)
        set -e
        python3 -u extract.py --day "$DAY"
        /opt/venv/bin/python -m pkg.train && python evaluate.py  # eval
        """
    )
    assert shell_steps(script) == [(4, "extract.py"), (5, "-m pkg.train"), (5, "evaluate.py")]


def test_shell_script_with_two_steps_is_one_finding():
    source = Source("python a.py\npython b.py\n", "run.sh", "shell")
    (finding,) = RULES.get("shell-pipeline").find(source)
    assert (finding.line, finding.code) == (1, "python a.py")
    assert "a.py -> b.py" in finding.message
    assert finding.fixes == ("shell-to-airflow",) and not finding.unfixable


def test_a_script_migrated_to_airflow_is_no_longer_reported():
    text = "# Runs as an Airflow DAG now (infragap migrate: shell-to-airflow).\n"
    source = Source(text + "python a.py\npython b.py\n", "run.sh", "shell")
    assert RULES.get("shell-pipeline").find(source) == []


def test_an_interpreter_named_by_a_variable_is_a_python_step():
    steps = shell_steps('"$PYTHON" "$HERE/extract.py" --date "$D"\n${PYTHON} -m pkg.train\n')
    assert steps == [(1, "$HERE/extract.py"), (2, "-m pkg.train")]


def test_one_step_is_not_a_pipeline():
    source = Source("python serve.py\n", "serve.sh", "shell")
    assert RULES.get("shell-pipeline").find(source) == []


def test_subprocess_chains_in_python():
    source = Source(
        "import subprocess as sp\nimport os\n"
        "sp.check_call(['python', 'extract.py'])\nos.system('python train.py')\n",
        "run.py",
    )
    (finding,) = RULES.get("shell-pipeline").find(source)
    assert finding.line == 3
    assert "extract.py -> train.py" in finding.message
    assert finding.unfixable.startswith("shell-to-airflow reads shell scripts")


def _find(path: str, code: str) -> list:
    return RULES.get("duplicated-preprocessing").find(Source(dedent(code), path))


def test_the_same_feature_in_two_files_is_reported_in_both():
    train = _find(
        "train.py",
        """\
        import pandas as pd
        df["age_b"] = pd.cut(df["age"], bins=[0, 18, 50])
        df["city"] = pd.get_dummies(df["city"])
        """,
    )
    serve = _find(
        "serve.py",
        """\
        from pandas import cut
        x["age_b"] = cut(x["age"], bins=[0, 18, 55])
        """,
    )
    findings = RULES.get("duplicated-preprocessing").aggregate(train + serve)
    assert [(f.path, f.line) for f in findings] == [("serve.py", 2), ("train.py", 2)]
    assert "pd.cut on 'age' is computed in 2 files (also train.py:2)" in findings[0].message
    assert findings[0].message.endswith(
        ", and the copies differ: bins=[0, 18, 55] here vs bins=[0, 18, 50] in train.py:2"
    )
    assert findings[0].fixes == ("preprocessing-to-feast",)


def test_copies_that_differ_only_in_names_are_the_same():
    train = _find(
        "train.py",
        """\
        import pandas as pd
        BINS = [0, 18, 50]
        df["age_b"] = pd.cut(df["age"], bins=BINS)
        """,
    )
    serve = _find(
        "serve.py",
        """\
        from pandas import cut
        x["age_b"] = cut(x["age"], bins=[0, 18, 50])  # the same edges, written out
        """,
    )
    findings = RULES.get("duplicated-preprocessing").aggregate(train + serve)
    assert len(findings) == 2 and not any("differ" in f.message for f in findings)


def test_functions_preprocessing_to_feast_migrated_are_not_reported():
    code = """\
        import pandas as pd
        # Deprecated (infragap migrate: preprocessing-to-feast): Feast serves these features
        def build(df):
            df["age_b"] = pd.cut(df["age"], bins=[0, 18, 50])
            return df
        """
    assert _find("train.py", code) == []


def test_identical_copies_are_reported_without_claiming_a_difference():
    code = "import pandas as pd\ny = pd.qcut(df['price'], 4)\n"
    findings = RULES.get("duplicated-preprocessing").aggregate(
        _find("a.py", code) + _find("b.py", code)
    )
    assert len(findings) == 1  # once per pair (issue 15), not once per file or transform
    assert not any("differ" in f.message for f in findings)
    assert findings[0].path == "b.py"
    assert findings[0].message.startswith("b.py is a byte-identical copy of a.py")


def test_a_transform_in_one_file_only_is_not_reported():
    findings = _find("a.py", "import pandas as pd\ny = pd.cut(df['age'], 3)\n")
    assert RULES.get("duplicated-preprocessing").aggregate(findings) == []
