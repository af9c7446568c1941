"""The seeded e-commerce data set: deterministic, and its labels mean what they say."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from infragap.errors import ConfigError
from infragap.workloads.ecommerce import (
    DAY_S,
    NEW_MARKET,
    count_between,
    data_size,
    epoch_seconds,
    generate,
    write_raw,
)


@pytest.fixture(scope="module")
def data():
    return generate(data_size("tiny"), seed=3)


def test_same_seed_same_tables(data):
    again = generate(data_size("tiny"), seed=3)
    for name in ("users", "items", "events", "labels"):
        pd.testing.assert_frame_equal(getattr(data, name), getattr(again, name))
    other = generate(data_size("tiny"), seed=4)
    assert not data.events["event_timestamp"].equals(other.events["event_timestamp"])


def test_shape_and_span(data):
    size = data_size("tiny")
    assert len(data.users) == size.n_users
    assert 0.5 * size.expected_events() < len(data.events) < 2 * size.expected_events()
    assert data.events["event_timestamp"].is_monotonic_increasing
    assert data.events["event_timestamp"].min() >= data.start
    assert data.events["event_timestamp"].max() < data.end
    assert set(data.events["event_type"].unique()) == {"view", "purchase"}
    signup = data.users.set_index("user_id")["signup_time"]
    joined = signup.loc[data.events["user_id"]].reset_index(drop=True)
    assert (data.events["event_timestamp"] >= joined).all()
    assert 0.05 < data.labels["label"].mean() < 0.6


def test_labels_are_purchases_in_the_next_seven_days(data):
    purchases = data.events[data.events["event_type"] == "purchase"]
    for row in data.labels.sample(40, random_state=1).itertuples():
        mine = purchases[purchases["user_id"] == row.user_id]["event_timestamp"]
        later = (mine > row.label_timestamp) & (mine <= row.label_timestamp + pd.Timedelta(days=7))
        assert row.label == int(later.any())


def test_label_times_leave_room_for_lookback_and_horizon(data):
    signup = data.users.set_index("user_id")["signup_time"]
    times = data.labels["label_timestamp"]
    assert times.min() >= data.start + pd.Timedelta(days=30)
    assert times.max() <= data.end - pd.Timedelta(days=7)
    assert (times > signup.loc[data.labels["user_id"]].reset_index(drop=True)).all()


def test_the_new_market_has_users_but_no_labels(data):
    newcomers = data.users[data.users["location"] == NEW_MARKET]["user_id"]
    assert len(newcomers) > 0
    assert not data.labels["user_id"].isin(newcomers).any()


def test_count_between_matches_brute_force():
    rng = np.random.default_rng(0)
    users = rng.integers(1, 5, 200)
    seconds = rng.integers(0, 1000, 200)
    rows_u = rng.integers(0, 6, 50)
    low = rng.integers(-10, 900, 50)
    high = low + rng.integers(-50, 300, 50)
    got = count_between(users, seconds, rows_u, low, high)
    want = [
        int(((users == u) & (seconds > lo) & (seconds <= hi)).sum())
        for u, lo, hi in zip(rows_u, low, high, strict=True)
    ]
    assert got.tolist() == want


def test_epoch_seconds_ignores_the_resolution():
    stamps = pd.Series(pd.to_datetime(["2024-01-01T00:00:01Z", "1970-01-02T00:00:00Z"]))
    assert epoch_seconds(stamps).tolist() == [1704067201, DAY_S]
    assert epoch_seconds(stamps.astype("datetime64[us, UTC]")).tolist() == [1704067201, DAY_S]


def test_raw_files_round_trip(data, tmp_path):
    files = write_raw(data, tmp_path)
    users = pd.read_csv(files.users, parse_dates=["birth_date", "signup_time"])
    assert users["user_id"].tolist() == data.users["user_id"].tolist()
    events = pd.read_parquet(files.events)
    assert len(events) == len(data.events)
    assert str(events["event_timestamp"].dt.tz) == "UTC"


def test_unknown_size_names_the_choices():
    with pytest.raises(ConfigError, match="tiny, small, default"):
        data_size("huge")
