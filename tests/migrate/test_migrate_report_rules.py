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


def _aggregate(files: dict[str, str]) -> list:
    rule = RULES.get("duplicated-preprocessing")
    return rule.aggregate([f for path, code in files.items() for f in _find(path, code)])


# -- one finding per place, counts that match what is named ----------------------------

ENCODE_BOTH = """\
    import pandas as pd
    X_train = pd.get_dummies(X_train)
    X_test = pd.get_dummies(X_test)
    """


def test_two_transforms_on_one_line_are_one_finding_naming_each_file_once():
    findings = _aggregate(
        {
            "prep.py": ENCODE_BOTH,
            "prep_copy.py": ENCODE_BOTH,  # byte-identical: reported once, as a copy
            "report.py": """\
                import pandas as pd
                encoded = pd.get_dummies(X_train), pd.get_dummies(X_test)
                """,
        }
    )
    (report,) = [f for f in findings if f.path == "report.py"]
    assert report.message == (
        "pd.get_dummies is computed in 3 files (also prep.py:2, 3; prep_copy.py:2, 3, a "
        "byte-identical copy of prep.py)"
    )
    places = [(f.path, f.line) for f in findings]
    assert len(places) == len(set(places))


def test_the_count_of_files_is_the_number_of_files_named():
    findings = _aggregate(
        {
            "a.py": "import pandas as pd\nb = pd.cut(df['age'], 3)\nz = pd.cut(df['age'], 4)\n",
            "b.py": "import pandas as pd\nb = pd.cut(df['age'], 3)\n",
        }
    )
    by_place = {(f.path, f.line): f.message for f in findings}
    assert by_place[("b.py", 2)].startswith(
        "pd.cut on 'age' is computed in 2 files (also a.py:2, 3)"
    )
    assert set(by_place) == {("a.py", 2), ("a.py", 3), ("b.py", 2)}


# -- copies only of the same data --------------------------------------------------------

PANDAS = "import pandas as pd\n"
SKLEARN = "from sklearn.preprocessing import StandardScaler\n"


def test_one_hot_encodings_of_different_columns_are_not_copies():
    findings = _aggregate(
        {
            "train.py": PANDAS + "df = pd.get_dummies(df, columns=['channel'])\n",
            "serve.py": PANDAS + "df = pd.get_dummies(df, columns=['city', 'device'])\n",
        }
    )
    assert findings == []


def test_one_hot_encodings_sharing_a_column_are_copies_that_differ():
    findings = _aggregate(
        {
            "train.py": PANDAS + "df = pd.get_dummies(df, columns=['device'])\n",
            "serve.py": PANDAS + "df = pd.get_dummies(df, columns=['city', 'device'])\n",
        }
    )
    serve = next(f.message for f in findings if f.path == "serve.py")
    assert serve.startswith("pd.get_dummies on 'city', 'device' is computed in 2 files")
    assert 'columns=["city", "device"] here vs columns=["device"] in train.py:2' in serve


SCALE_AMOUNT = """\
    from sklearn.preprocessing import StandardScaler

    def fit(df):
        scaler = StandardScaler()
        df[["amount"]] = scaler.fit_transform(df[["amount"]])
        return scaler
    """


def test_scalers_on_different_columns_are_not_copies():
    findings = _aggregate(
        {
            "billing/train.py": SCALE_AMOUNT,
            "risk/score.py": """\
                from sklearn.preprocessing import StandardScaler
                df["balance"] = StandardScaler().fit_transform(df[["balance"]])
                """,
            "risk/pipeline.py": """\
                from sklearn.compose import ColumnTransformer
                from sklearn.preprocessing import StandardScaler
                prep = ColumnTransformer([("num", StandardScaler(), ["age", "income"])])
                """,
            "risk/unknown.py": SKLEARN + "s = StandardScaler()\n",  # fitted on nothing known
        }
    )
    assert findings == []


def test_scalers_fitted_on_the_same_columns_are_copies():
    findings = _aggregate(
        {
            "billing/train.py": SCALE_AMOUNT,
            "billing/pipeline.py": """\
                from sklearn.compose import ColumnTransformer
                from sklearn.preprocessing import StandardScaler
                prep = ColumnTransformer([("num", StandardScaler(), ["amount", "fee"])])
                """,
        }
    )
    assert [(f.path, f.line) for f in findings] == [
        ("billing/pipeline.py", 3),
        ("billing/train.py", 4),
    ]
    assert findings[1].message.startswith("StandardScaler on 'amount' is computed in 2 files")


# -- derived columns: drift and duplicates -------------------------------------------------

TRAIN_COLUMNS = """\
    import pandas as pd
    SMOOTHING = 1

    def add_features(df):
        df["weekly_share"] = df["events_7d"] / (df["events_30d"] + SMOOTHING)
        df["rate"] = df["purchases"] / df["events_30d"].clip(lower=1)
        return df
    """


def test_a_column_computed_two_ways_in_training_and_serving_is_drift_reported_once():
    findings = _aggregate(
        {
            "training/build.py": TRAIN_COLUMNS,
            "serving/features.py": """\
                import pandas as pd

                def online(rows):
                    frame = pd.DataFrame(rows)
                    frame["weekly_share"] = frame["events_7d"] / frame["events_30d"].clip(lower=1)
                    return frame
                """,
        }
    )
    (drift,) = findings
    assert (drift.path, drift.line) == ("serving/features.py", 5)
    assert drift.message.startswith(
        "weekly_share is computed differently in training and serving: events_7d / "
        "events_30d.clip(lower=1) here vs events_7d / (events_30d + 1) in training/build.py:5"
    )


def test_a_column_computed_the_same_way_is_a_duplicate_not_drift():
    findings = _aggregate(
        {
            "training/build.py": TRAIN_COLUMNS,
            "serving/features.py": """\
                def online(x):
                    x["weekly_share"] = x["events_7d"]/(x["events_30d"]+1)  # SMOOTHING, spaced
                    x["rate"] = x["purchases"] / x["events_30d"].clip(lower=1)
                    return x
                """,
        }
    )
    (duplicate,) = findings
    assert (duplicate.path, duplicate.line) == ("serving/features.py", 2)
    assert "differently" not in duplicate.message
    assert duplicate.message.startswith(
        "weekly_share and rate are computed by the same expressions in serving/features.py:2, "
        "3 and training/build.py:5, 6: a duplicate"
    )


SERVING_DRIFT = """\
    def online(df):
        df["weekly_share"] = df["events_7d"] / df["events_30d"].clip(lower=1)
        return df
    """


def test_columns_that_cannot_be_compared_without_guessing_say_nothing():
    twice = TRAIN_COLUMNS.replace(
        "return df", 'df["weekly_share"] = df["weekly_share"].fillna(0)\n        return df'
    )
    cases = {
        "assigned twice in training": {"training/build.py": twice, "serving/app.py": SERVING_DRIFT},
        "a test file": {"tests/test_build.py": TRAIN_COLUMNS, "serving/app.py": SERVING_DRIFT},
        "no role": {"lib/build.py": TRAIN_COLUMNS, "lib/more.py": SERVING_DRIFT},
        "a constant": {
            "training/build.py": 'df["weekly_share"] = 0.5\n',
            "serving/app.py": 'df["weekly_share"] = 1.0\n',
        },
        "a copy of a column": {
            "training/build.py": 'df["weekly_share"] = df["share_7d"]\n',
            "serving/app.py": 'df["weekly_share"] = df["share_30d"]\n',
        },
        "migrated to Feast": {
            "training/build.py": TRAIN_COLUMNS,
            "serving/app.py": PANDAS
            + "# Deprecated (infragap migrate: preprocessing-to-feast): Feast serves it\n"
            + dedent(SERVING_DRIFT),
        },
    }
    for why, files in cases.items():
        assert _aggregate(files) == [], why
