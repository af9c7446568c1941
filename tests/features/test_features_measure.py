"""Skew, leakage, the merge_asof oracle and the wire helpers, on hand-checked data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from infragap.errors import LoadError
from infragap.loadtests.targets.features import (
    feast_body,
    feast_problem,
    naive_problem,
    read_feature_requests,
    write_feature_requests,
)
from infragap.proven.feast_repo.repository import FeatureRepo
from infragap.proven.feast_repo.store import explain_apply_failure
from infragap.suites.features.leakage import future_events, leakage_record
from infragap.suites.features.model import auc, split_rows
from infragap.suites.features.oracle import asof_join
from infragap.suites.features.sides import feast_columns
from infragap.suites.features.skew import feature_skew, prediction_shift

DAY = pd.Timedelta(days=1)


def test_feature_skew_counts_differences_and_missing_values():
    training = pd.DataFrame({"user_id": [1, 2, 3, 4], "a": [1, 2, 3, None], "b": [0, 0, 0, 0]})
    serving = pd.DataFrame({"user_id": [1, 2, 3, 4], "a": [1, 5, None, None], "b": [0, 0, 0, 1]})
    record = feature_skew(training, serving, ["a", "b"])
    assert record["features"]["a"]["differ"] == 2
    assert record["features"]["a"]["share"] == 0.5
    assert record["features"]["b"]["differ"] == 1
    assert record["values_differ"] == 3 and record["values_share"] == 3 / 8
    assert record["entities_with_any_difference"] == 3
    assert record["features"]["a"]["examples"][0] == {"user_id": 2, "training": 2.0, "serving": 5.0}


def test_feature_skew_refuses_rows_for_other_entities():
    with pytest.raises(ValueError, match="same entities"):
        feature_skew(
            pd.DataFrame({"user_id": [1], "a": [1]}),
            pd.DataFrame({"user_id": [2], "a": [1]}),
            ["a"],
        )


def test_prediction_shift_and_flips():
    shift = prediction_shift([0.1, 0.6, 0.7], [0.1, 0.4, 0.75])
    assert shift["label_flips"] == 1
    assert shift["max_abs_diff"] == pytest.approx(0.2)
    assert shift["mean_abs_diff"] == pytest.approx(0.25 / 3)


def test_future_events_counts_only_what_the_window_used_after_the_label():
    t0 = pd.Timestamp("2024-05-01T00:00:00Z")
    events = pd.DataFrame(
        {
            "user_id": [1, 1, 1, 2],
            "event_timestamp": [t0 - DAY, t0 + DAY, t0 + 20 * DAY, t0 + DAY],
            "event_type": ["view", "purchase", "view", "view"],
        }
    )
    label_s = np.array([int(t0.timestamp())] * 3)
    users = np.array([1, 1, 2])
    end = np.array(
        [int((t0 + 25 * DAY).timestamp()), int(t0.timestamp()), int((t0 + 2 * DAY).timestamp())]
    )
    found = future_events(events, users, label_s, end)
    # row 0: window ends 25 days later: 7d sees the day-20 view, 30d both, purchases one
    assert found["events_7d"].tolist() == [1, 0, 1]
    assert found["events_30d"].tolist() == [2, 0, 1]
    assert found["purchases_30d"].tolist() == [1, 0, 0]
    record = leakage_record(found)
    assert record["rows"] == 3 and record["leaked_rows"] == 2
    assert record["features"]["purchases_30d"]["leaked_rows"] == 1


def test_asof_join_picks_the_latest_row_within_the_ttl():
    t0 = pd.Timestamp("2024-05-01T00:00:00Z")
    table = pd.DataFrame(
        {
            "user_id": [1, 1, 2],
            "event_timestamp": [t0, t0 + DAY, t0],
            "x": [10, 11, 20],
        }
    )
    entities = pd.DataFrame(
        {
            "user_id": [1, 1, 2, 1],
            "event_timestamp": [t0 + DAY, t0 + DAY / 2, t0 + 5 * DAY, t0 - DAY],
        }
    )
    joined = asof_join(entities, table, ["x"], ttl=2 * DAY)
    assert joined["user_id"].tolist() == [1, 1, 2, 1]
    assert joined["x"].tolist()[:2] == [11, 10]  # exact time included
    assert joined["x"].isna().tolist()[2:] == [True, True]  # too old / before any row


def test_split_is_seeded_and_disjoint():
    train, test = split_rows(100, seed=1)
    assert len(test) == 20 and not set(train) & set(test)
    assert np.array_equal(split_rows(100, seed=1)[1], test)


def test_auc_of_one_class_is_none():
    assert auc([1, 1], [0.2, 0.3]) is None
    assert auc([0, 1], [0.2, 0.3]) == 1.0


def test_feast_answer_parsing_and_checks():
    body = {
        "metadata": {"feature_names": ["user_id", "age_bucket"]},
        "results": [
            {"values": [1, 2], "statuses": ["PRESENT", "PRESENT"]},
            {"values": [3, None], "statuses": ["PRESENT", "NOT_FOUND"]},
        ],
    }
    assert feast_columns(body) == {"user_id": [1, 2], "age_bucket": [3, None]}
    assert feast_problem(body, 2) is None
    assert "each of 3" in feast_problem(body, 3)
    assert naive_problem({"rows": [{}, {}]}, 2) is None
    assert "2 feature rows" in naive_problem({"rows": []}, 2)
    assert feast_body([4], 9, "svc") == {
        "feature_service": "svc",
        "entities": {"user_id": [4], "request_ts": [9]},
    }


def test_feature_request_file_round_trip(tmp_path):
    path = tmp_path / "r.json"
    write_feature_requests([[1, 2], [3]], 1234, path)
    assert read_feature_requests(path) == ([[1, 2], [3]], 1234)
    with pytest.raises(LoadError, match="empty"):
        write_feature_requests([], 1, path)
    with pytest.raises(LoadError, match="write_feature_requests"):
        read_feature_requests(tmp_path / "missing.json")


def test_apply_failure_names_feast_error_and_the_file(tmp_path):
    repo = FeatureRepo(tmp_path, "sqlite", pd.Timestamp("2024-01-01", tz="UTC"))
    log = (
        "Traceback (most recent call last):\n"
        '  File "/venv/feast/repo_operations.py", line 136, in parse_repo\n'
        f'  File "{tmp_path}/features.py", line 12, in <module>\n'
        "ValueError: bad field\n"
    )
    message = explain_apply_failure(log, repo)
    assert "ValueError: bad field" in message
    assert f"{tmp_path}/features.py, line 12" in message
    assert str(tmp_path / "features.py") in explain_apply_failure("Oops\n", repo)
