"""preprocessing-to-feast: before/after repositories, the code it must refuse or only
partly translate, and the call sites it rewrites.

The "after" of each fixture repository is kept under
tests/fixtures/preprocessing_to_feast/<fixture>/ (golden files; after a deliberate change
to the output, regenerate them with
`INFRAGAP_UPDATE_GOLDEN=1 pytest tests/migrate/test_migrate_preprocessing_to_feast.py`
and read the diff). tests/features/test_migrated_feature_repo.py runs the result on Feast.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from textwrap import dedent

import pytest

from infragap.migrate.apply import plan
from infragap.migrate.cli import main
from infragap.migrate.results import RepositoryFix, Status
from infragap.migrate.rules import fix_sources

RULE = "preprocessing-to-feast"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GOLDEN = FIXTURES / "preprocessing_to_feast"

TRAINING = """\
import pandas as pd

BINS = [0, 18, 35, 120]


def build_training_features(df):
    df = df.copy()
    df["age_bucket"] = pd.cut(df["age"], bins=BINS, labels=False)
    df["spend_per_visit"] = df["spend"] / df["visits"].clip(lower=1)
    return df[["user_id", "event_timestamp", "age_bucket", "spend_per_visit"]]


def main():
    users = pd.read_parquet("data/users.parquet")
    build_training_features(users).to_parquet("data/train.parquet")
"""
SERVING = """\
import pandas as pd


def serve_features(rows):
    df = pd.DataFrame(rows)
    df["age_bucket"] = pd.cut(df["age"], bins=[0, 18, 30, 120], labels=False)
    df["spend_per_visit"] = df["spend"] / df["visits"].clip(lower=1)
    return df[["age_bucket", "spend_per_visit"]].values
"""


def run(texts: dict[str, str], **options: str) -> RepositoryFix:
    return fix_sources(RULE, {path: dedent(text) for path, text in texts.items()}, options)


def files(fix: RepositoryFix) -> dict[str, str]:
    return {new.path: new.text for new in fix.new_files}


@pytest.mark.parametrize("fixture", ["legacy_repo", "legacy_features"])
def test_each_fixture_repository_becomes_its_golden_after(fixture, tmp_path):
    repo = Path(shutil.copytree(FIXTURES / fixture, tmp_path / fixture))
    result = plan(repo, (RULE,), {}, 1)
    after = {f.rel: f.after for f in result.fixes if f.status is Status.CHANGED}
    after.update({new.path: new.text for f in result.fixes for new in f.new_files})
    golden = GOLDEN / fixture
    if os.environ.get("INFRAGAP_UPDATE_GOLDEN"):
        shutil.rmtree(golden, ignore_errors=True)
        for rel, text in after.items():
            (golden / rel).parent.mkdir(parents=True, exist_ok=True)
            (golden / rel).write_text(text)
    expected = {
        p.relative_to(golden).as_posix(): p.read_text() for p in golden.rglob("*") if p.is_file()
    }
    assert sorted(after) == sorted(expected)
    for rel, text in after.items():
        assert text == expected[rel], rel
        if rel.endswith(".py"):
            compile(text, rel, "exec")


@pytest.mark.parametrize("fixture", ["legacy_repo", "legacy_features"])
def test_a_second_run_changes_nothing(fixture, tmp_path, capsys):
    repo = Path(shutil.copytree(FIXTURES / fixture, tmp_path / fixture))
    assert main(["apply", str(repo), "--rule", RULE, "--write", "-j", "1"]) == 0
    written = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    assert main(["apply", str(repo), "--rule", RULE, "--check", "-j", "1"]) == 0
    assert {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()} == written
    capsys.readouterr()
    assert main(["scan", str(repo), "--format", "json", "-j", "1"]) == 0
    assert '"duplicated-preprocessing"' not in capsys.readouterr().out


def test_the_fixture_repository_is_partly_translated_with_the_reasons():
    fix = run(
        {
            path: (FIXTURES / "legacy_repo" / path).read_text()
            for path in ("training/preprocess.py", "serving/features.py", "serving/app.py")
        }
    )
    notes = {path: [n.message for n in r.notes] for path, r in fix.results.items()}
    training = " | ".join(notes["training/preprocess.py"])
    assert "clicks_7d: .groupby() looks across rows: left as a column to fill" in training
    assert "city: LabelEncoder is fitted on the data" in training
    assert "the code does not say which table preprocess() reads" in training
    serving = " | ".join(notes["serving/features.py"])
    assert (
        "age_bucket differs from training/preprocess.py:9 (bins=[0, 18, 35, 50, 120] vs "
        "bins=[0, 18, 35, 55, 120]): Feast keeps the training copy"
    ) in serving
    assert "s.rolling(7) vs s.rolling(7, min_periods=1)" in serving
    features = files(fix)["feature_repo/features.py"]
    assert 'path=str(ROOT / "TODO-preprocess-source.parquet")' in features
    assert 'timestamp_field="ts"' in features  # seen in serving's sort_values("ts")


def test_a_complete_pair_carries_the_training_code_once_and_rewrites_both_sides():
    fix = run({"training/features.py": TRAINING, "serving/online.py": SERVING})
    assert set(fix.results) == {"training/features.py", "serving/online.py"}
    features = files(fix)["feature_repo/features.py"]
    assert "BINS = [0, 18, 35, 120]" in features  # the training copy's bins, carried inline
    assert 'path=str(ROOT / "data/users.parquet")' in features
    assert features.count('df["age_bucket"] = pd.cut(') == 1
    training = fix.results["training/features.py"].text
    assert "build_training_features_from_feast(users).to_parquet" in training
    assert "get_historical_features(" in training
    assert "# Deprecated (infragap migrate: preprocessing-to-feast)" in training
    serving = fix.results["serving/online.py"].text
    assert "get_online_features(" in serving and 'entity_rows=df[["user_id"]]' in serving
    assert 'return df[["age_bucket", "spend_per_visit"]].values' in serving.split("_from_feast")[-1]
    (note,) = fix.results["serving/online.py"].notes
    assert "age_bucket differs" in note.message and "[0, 18, 30, 120]" in note.message
    yaml = files(fix)["feature_repo/feature_store.yaml"]
    assert "online_store:\n  type: sqlite" in yaml and "provider: local" in yaml


def test_call_sites_in_other_modules_follow_every_import_style():
    app = """\
        from flask import Flask, request
        import serving.online as online
        from serving.online import serve_features as features_for
        from .online import serve_features

        app = Flask(__name__)
        KEEP = serve_features  # a reference that is not a call


        @app.post("/a")
        def a():
            return str(online.serve_features(request.json["rows"]))


        @app.post("/b")
        def b():
            return str(features_for(request.json["rows"]) + serve_features([]))
        """
    fix = run(
        {"training/features.py": TRAINING, "serving/online.py": SERVING, "serving/app.py": app}
    )
    text = fix.results["serving/app.py"].text
    assert "online.serve_features_from_feast(request" in text
    assert "from serving.online import serve_features_from_feast as features_for" in text
    assert "from .online import serve_features, serve_features_from_feast" in text
    assert "serve_features_from_feast([])" in text and "KEEP = serve_features  #" in text
    readme = files(fix)["feature_repo/README.md"]
    assert "serving/app.py:12 calls serve_features_from_feast()" in readme


@pytest.mark.parametrize(
    ("training", "why"),
    [
        (
            TRAINING.replace(
                '    df["spend_per_visit"]',
                '    for _ in range(1):\n        df["x"] = 1\n    df["spend_per_visit"]',
            ),
            "computes a feature under a condition or in a loop",
        ),
        (
            TRAINING.replace(
                '    df["spend_per_visit"]', '    df = df.dropna()\n    df["spend_per_visit"]'
            ),
            "changes the frame between two features",
        ),
        (
            TRAINING.replace(
                '    return df[["user_id", "event_timestamp", "age_bucket", "spend_per_visit"]]\n',
                "",
            ),
            "does not end by returning the frame",
        ),
    ],
)
def test_copies_it_cannot_serve_from_feast_are_refused_with_the_reason(training, why):
    fix = run({"training/features.py": training, "serving/online.py": SERVING})
    (result,) = fix.results.values()
    assert result.status is Status.SKIPPED and why in result.reason
    assert not fix.new_files


def test_without_a_join_key_it_asks_for_one():
    training = TRAINING.replace('"user_id", ', "")
    fix = run({"training/features.py": training, "serving/online.py": SERVING})
    assert "--option entity=COLUMN" in fix.results["training/features.py"].reason
    named = run({"training/features.py": training, "serving/online.py": SERVING}, entity="user_id")
    assert 'join_keys=["user_id"]' in files(named)["feature_repo/features.py"]


def test_when_the_code_does_not_tell_the_roles_options_do():
    both = TRAINING.replace("build_training_features", "features_a")
    other = both.replace("features_a", "features_b").replace("35", "40")
    texts = {"a/one.py": both, "b/two.py": other}
    fix = run(texts)
    assert all("--option training=PATH:FUNCTION" in r.reason for r in fix.results.values())
    chosen = run(texts, training="b/two.py:features_b", serving="a/one.py:features_a")
    assert "features_b_from_feast" in chosen.results["b/two.py"].text
    assert "get_online_features" in chosen.results["a/one.py"].text
    wrong = run(texts, training="b/two.py:nope")
    assert wrong.failure.startswith("--option training=b/two.py:nope: no such feature function")


def test_features_needing_other_rows_stay_columns_of_the_table_with_a_todo():
    training = TRAINING.replace(
        '    df["spend_per_visit"]',
        '    df["visits_7d"] = df.groupby("user_id")["visits"].transform("sum")\n'
        '    df["spend_per_visit"]',
    )
    fix = run({"training/features.py": training, "serving/online.py": SERVING})
    features = files(fix)["feature_repo/features.py"]
    assert (
        "# TODO(infragap): visits_7d (training/features.py:9): .groupby() looks across" in features
    )
    assert 'Field(name="visits_7d"' not in features


def test_a_csv_source_is_named_with_what_to_do():
    training = TRAINING.replace(
        'pd.read_parquet("data/users.parquet")', "pd.read_csv(USERS)"
    ).replace("BINS = ", 'USERS = "exports/users.csv"\nBINS = ')
    fix = run({"training/features.py": training, "serving/online.py": SERVING})
    features = files(fix)["feature_repo/features.py"]
    assert 'path=str(ROOT / "exports/users.csv")' in features
    assert "reads exports/users.csv with" in features and "Feast reads parquet" in features


def test_one_copy_alone_is_left_to_duplicated_preprocessing():
    assert run({"training/features.py": TRAINING}) == RepositoryFix()
