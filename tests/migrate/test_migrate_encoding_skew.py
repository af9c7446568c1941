"""Skew between encodings of the same columns (issue item 11): a LabelEncoder or a scaler
fitted in training vs pd.get_dummies + reindex or raw values in serving, found whichever
file trains and whichever serves; the same encoding on both sides says nothing."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

from infragap.migrate.rules import RULES
from infragap.migrate.scan import scan
from infragap.migrate.source import Source

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "encoding_skew"
RULE = "duplicated-preprocessing"
SKEW = "encoded differently in training and serving"


def _skews(texts: dict[str, str]) -> list:
    rule = RULES.get(RULE)
    found = [f for path, text in texts.items() for f in rule.find(Source(dedent(text), path))]
    return [f for f in rule.aggregate(found) if SKEW in f.message]


def test_the_fixture_reports_each_planted_skew_once_and_nothing_else():
    report = scan(FIXTURE, 1, (RULE,))
    assert not report.errors
    skews = [(f.path, f.line, f.message) for f in report.findings if SKEW in f.message]
    assert [(path, line) for path, line, _ in skews] == [
        ("refit/score_api.py", 11),
        ("shop/app.py", 14),
        ("shop/app.py", 15),
    ]
    refit, age, city = (message for _, _, message in skews)
    assert refit.startswith("'balance' is encoded differently")
    assert (
        "StandardScaler fitted in refit/train_balance.py:7 vs StandardScaler fitted here" in refit
    )
    assert "serving fits StandardScaler again, on the request's values" in refit
    assert age.startswith("'age' is encoded differently")
    assert "MinMaxScaler fitted in shop/train_model.py:15 vs no encoding here" in age
    assert "MinMaxScaler scales with the training minimum and maximum, serving passes" in age
    assert city.startswith("'city' is encoded differently")
    assert (
        "LabelEncoder fitted in shop/train_model.py:13 vs pd.get_dummies + "
        "reindex(columns=..., fill_value=0) here: LabelEncoder gives one integer column "
        "of codes, pd.get_dummies gives one 0/1 column per value"
    ) in city
    assert not any(word in m for _, _, m in skews for word in ("device", "plan", "channel"))


TRAINING = """\
    import pandas as pd
    from sklearn.preprocessing import LabelEncoder

    def build(df):
        le = LabelEncoder()
        le.fit(df["city"])
        df["city"] = le.transform(df["city"])
        return df
    """
SERVING = """\
    import pandas as pd
    from flask import Flask, request

    app = Flask(__name__)

    @app.post("/p")
    def p():
        df = pd.get_dummies(pd.DataFrame([request.json]), columns=["city"])
        return df.to_json()
    """


def test_the_handler_says_which_file_serves_whatever_the_names():
    (finding,) = _skews({"a.py": TRAINING, "b.py": SERVING})
    assert finding.path == "b.py" and "LabelEncoder fitted in a.py:6" in finding.message


def test_the_same_encoding_on_both_sides_is_no_skew():
    serving = SERVING.replace(
        'pd.get_dummies(pd.DataFrame([request.json]), columns=["city"])',
        'pd.DataFrame([request.json]).assign(city=lambda d: ENCODER.transform(d["city"]))',
    )
    assert _skews({"train.py": TRAINING, "serve.py": serving}) == []
    dummies = TRAINING.replace('le.transform(df["city"])', 'pd.get_dummies(df["city"])')
    dummies = dummies.replace('le.fit(df["city"])', "pass")
    assert _skews({"train.py": dummies, "serve.py": SERVING}) == []


def test_a_one_hot_encoder_vs_get_dummies_is_two_encodings_kept_in_step_by_hand():
    training = """\
        from sklearn.preprocessing import OneHotEncoder

        def fit(df):
            return OneHotEncoder().fit_transform(df[["city"]])
        """
    (finding,) = _skews({"train.py": training, "serve.py": SERVING})
    assert "OneHotEncoder makes a column per category it saw in training" in finding.message


def test_a_scaler_inside_a_pipeline_travels_with_the_model():
    training = """\
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import MinMaxScaler

        def fit(df):
            scaler = MinMaxScaler()
            scaler.fit(df[["age"]])
            return make_pipeline(scaler)
        """
    serving = 'import pandas as pd\n\ndef serve(row):\n    return pd.DataFrame([row])[["age"]]\n'
    assert _skews({"train.py": training, "serve.py": serving}) == []
    plain = training.replace("make_pipeline(scaler)", "scaler").replace(
        "from sklearn.pipeline import make_pipeline\n        ", ""
    )
    (finding,) = _skews({"train.py": plain, "serve.py": serving})
    assert "serving passes the raw values" in finding.message


def test_get_dummies_on_the_whole_frame_is_compared_with_categorical_encodings_only():
    training = """\
        from sklearn.preprocessing import LabelEncoder, StandardScaler

        def fit(df):
            df["city"] = LabelEncoder().fit_transform(df["city"])
            df["age"] = StandardScaler().fit_transform(df[["age"]])
            return df
        """
    serving = """\
        import pandas as pd

        def serve(row):
            df = pd.DataFrame([row])
            df["age"] = df["age"] / 1
            return pd.get_dummies(df).reindex(columns=["age", "city"], fill_value=0)
        """
    skews = _skews({"train.py": training, "serve.py": serving})
    messages = [f.message for f in skews]
    assert any(m.startswith("'city' is") and "on the whole frame" in m for m in messages)
    assert not any("'age'" in m and "get_dummies" in m for m in messages)


def test_test_files_and_files_of_no_role_say_nothing():
    assert _skews({"tests/test_train.py": TRAINING, "b.py": SERVING}) == []
    assert _skews({"a.py": TRAINING.replace("le.fit(", "le.fit_x("), "b.py": SERVING}) == []
