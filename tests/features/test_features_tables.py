"""The Feast side's feature pipeline and repository configuration."""

from __future__ import annotations

import pandas as pd
import pytest

from infragap.errors import ConfigError
from infragap.proven.feast_repo.repository import feature_store_yaml
from infragap.proven.feast_repo.tables import activity_table, city_vocabulary, profile_table
from infragap.workloads.ecommerce import data_size, generate


@pytest.fixture(scope="module")
def data():
    return generate(data_size("tiny"), seed=5)


def test_snapshots_count_the_days_before_them(data):
    table = activity_table(data.users, data.events, data.start, data.end)
    for row in table.sample(60, random_state=2).itertuples():
        mine = data.events[data.events["user_id"] == row.user_id]
        at = row.event_timestamp
        for name, days in (("events_7d", 7), ("events_30d", 30)):
            since = max(at - pd.Timedelta(days=days), data.start)
            inside = (mine["event_timestamp"] >= since) & (mine["event_timestamp"] < at)
            assert getattr(row, name) == inside.sum(), (row, name)
        bought = mine[mine["event_type"] == "purchase"]["event_timestamp"]
        since = max(at - pd.Timedelta(days=30), data.start)
        assert row.purchases_30d == ((bought >= since) & (bought < at)).sum()
        assert row.as_of_ts == int(at.timestamp())


def test_snapshots_are_daily_from_signup_to_the_end(data):
    table = activity_table(data.users, data.events, data.start, data.end)
    assert (table["event_timestamp"] == table["event_timestamp"].dt.normalize()).all()
    assert table["event_timestamp"].max() == data.end
    signup = data.users.set_index("user_id")["signup_time"]
    first = table.groupby("user_id")["event_timestamp"].min()
    signed = signup.loc[first.index]
    assert (first >= signed).all()
    soon = (first - signed) <= pd.Timedelta(days=1)
    assert (soon | (first == data.start)).all()
    assert not table.duplicated(["user_id", "event_timestamp"]).any()


def test_city_codes_are_append_only():
    users = pd.DataFrame(
        {
            "location": ["Paris", "Berlin", "Lisbon", "Paris"],
            "signup_time": pd.to_datetime(
                ["2024-01-01", "2024-01-02", "2024-05-30", "2024-01-03"], utc=True
            ),
        }
    )
    assert city_vocabulary(users) == {"Paris": 0, "Berlin": 1, "Lisbon": 2}


def test_profile_table_has_epoch_times(data):
    profile = profile_table(data.users)
    assert profile["user_id"].is_unique
    first = data.users.iloc[0]
    assert profile["signup_ts"].iloc[0] == int(first["signup_time"].timestamp())
    assert profile["birth_ts"].iloc[0] == int(
        pd.Timestamp(first["birth_date"]).tz_localize("UTC").timestamp()
    )


def test_feature_store_yaml():
    text = feature_store_yaml()
    assert "provider: local" in text and "type: sqlite" in text and "type: file" in text
    redis = feature_store_yaml("redis", "127.0.0.1:7000")
    assert 'connection_string: "127.0.0.1:7000"' in redis
    with pytest.raises(ConfigError, match="host:port"):
        feature_store_yaml("redis")
    with pytest.raises(ConfigError, match="sqlite, redis"):
        feature_store_yaml("cassandra")


def test_redis_missing_names_the_debian_package(monkeypatch):
    from infragap.ports import free_port
    from infragap.proven.feast_repo import server

    monkeypatch.setattr(server.shutil, "which", lambda name: None)
    with pytest.raises(ConfigError, match="apt-get install redis-server"):
        server.check_redis_available()
    assert server.redis_ping("127.0.0.1", free_port(), timeout_s=0.5) is False
