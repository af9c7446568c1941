"""The naive side: the training table's leak and the serving copy's documented drift."""

from __future__ import annotations

import pandas as pd
import pytest

from infragap.naive.features_serving import BadRequest, parse_user_ids, serving_features
from infragap.naive.features_training import build_training_table, user_features

NOW = pd.Timestamp("2024-06-01T00:00:00Z")


def users_frame(rows):
    users = pd.DataFrame(rows, columns=["user_id", "birth_date", "location"])
    users["birth_date"] = pd.to_datetime(users["birth_date"])
    return users


def events_frame(rows):
    events = pd.DataFrame(rows, columns=["user_id", "event_timestamp", "event_type"])
    events["event_timestamp"] = pd.to_datetime(events["event_timestamp"], utc=True)
    return events


USERS = users_frame(
    [
        (1, "1999-05-01", "Berlin"),  # 25 at NOW: an edge
        (2, "1990-01-01", "Paris"),  # 34
        (3, "2000-01-01", "Lisbon"),  # the new market: no labels
    ]
)
EVENTS = events_frame(
    [
        (1, "2024-05-24T23:00:00Z", "view"),  # 7 d 1 h before NOW: in Berlin's calendar week
        (1, "2024-05-31T12:00:00Z", "purchase"),
        (2, "2024-03-01T12:00:00Z", "view"),
        (2, "2024-05-20T12:00:00Z", "purchase"),
    ]
)
LABELS = pd.DataFrame(
    {
        "user_id": [1, 2],
        "label_timestamp": pd.to_datetime(["2024-03-01", "2024-03-02"], utc=True),
        "label": [1, 0],
    }
)


def test_training_joins_the_latest_values_to_old_labels():
    table, per_user, encoder = build_training_table(USERS, EVENTS, LABELS, as_of=NOW)
    assert list(encoder.classes_) == ["Berlin", "Paris"]
    assert per_user["user_id"].tolist() == [1, 2]
    row = table[table["user_id"] == 1].iloc[0]
    # A March label carries the purchase of May 31st: the leak, on purpose.
    assert row["purchases_30d"] == 1 and row["events_7d"] == 1
    assert row["age_bucket"] == 1  # pd.cut: 25 is in (18, 25]


def test_serving_drifts_from_training_as_documented():
    _, per_user, _ = build_training_table(USERS, EVENTS, LABELS, as_of=NOW)
    served = pd.DataFrame(serving_features(USERS, EVENTS, [1, 2], NOW))
    training = per_user.set_index("user_id")
    served = served.set_index("user_id")
    # 1. the encoder refitted with Lisbon shifts Paris (sorted after it), not Berlin
    assert training.loc[1, "location_code"] == served.loc[1, "location_code"] == 0
    assert (training.loc[2, "location_code"], served.loc[2, "location_code"]) == (1, 2)
    # 2. np.digitize puts the 25-year-old in the next bucket
    assert (training.loc[1, "age_bucket"], served.loc[1, "age_bucket"]) == (1, 2)
    assert training.loc[2, "age_bucket"] == served.loc[2, "age_bucket"] == 2
    # 3. Berlin's calendar week reaches back past 7×24 hours
    assert (training.loc[1, "events_7d"], served.loc[1, "events_7d"]) == (1, 2)
    assert training.loc[2, "events_30d"] == served.loc[2, "events_30d"] == 1


def test_unknown_users_come_back_not_found():
    rows = serving_features(USERS, EVENTS, [2, 999], NOW)
    assert rows[0]["found"] is True
    assert rows[1] == {
        "user_id": 999,
        "found": False,
        "age_bucket": None,
        "location_code": None,
        "events_7d": None,
        "events_30d": None,
        "purchases_30d": None,
    }


def test_features_at_an_earlier_time_ignore_later_events():
    encoder_users = USERS[USERS["user_id"] < 3]
    from sklearn.preprocessing import LabelEncoder

    encoder = LabelEncoder().fit(encoder_users["location"])
    early = user_features(encoder_users, EVENTS, pd.Timestamp("2024-03-05T00:00:00Z"), encoder)
    assert early.set_index("user_id").loc[2, "events_7d"] == 1
    assert early.set_index("user_id").loc[1, "purchases_30d"] == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([1, 2], "JSON object"),
        ({}, "missing"),
        ({"user_id": []}, "non-empty"),
        ({"user_id": "7"}, "non-empty"),
        ({"user_id": [1, "2"]}, "integers"),
        ({"user_id": [True]}, "integers"),
        ({"user_id": list(range(1001))}, "at most"),
    ],
)
def test_bad_bodies_are_refused_with_a_reason(body, message):
    with pytest.raises(BadRequest, match=message):
        parse_user_ids(body)
