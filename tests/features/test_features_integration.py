"""The features pair for real on the tiny data set: Feast applied, materialised and
served by `feast serve`, the naive Flask endpoint, Locust; figures checked where the
right answer is known."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
import requests

from infragap.proven.feast_repo import names
from infragap.workloads.ecommerce import NEW_MARKET

pytestmark = pytest.mark.integration


def section(run):
    return run.section


def test_feast_serves_what_training_saw(features_run):
    skew = section(features_run)["skew"]["feast"]
    assert skew["entities"] == len(features_run.sample) > 100
    assert skew["values_differ"] == 0
    assert skew["prediction"]["label_flips"] == 0
    assert skew["prediction"]["max_abs_diff"] == 0.0


def test_naive_skew_is_exactly_the_documented_drift(features_run):
    skew = section(features_run)["skew"]["naive"]["features"]
    users = features_run.data.users.set_index("user_id").loc[features_run.sample]
    # 1. the refitted encoder moves every city sorted after the new market
    assert skew["location_code"]["differ"] == int((users["location"] > NEW_MARKET).sum()) > 0
    # 2. digitize vs cut: exactly the users whose age sits on a bin edge
    age = (features_run.as_of.tz_convert(None) - users["birth_date"]).dt.days // 365
    edges = {18, 25, 35, 45, 55, 65}
    assert skew["age_bucket"]["differ"] == int(age.isin(edges).sum()) > 0
    # 3. the calendar week only ever adds hours: serving counts are never lower
    served = features_run.served["naive"].set_index("user_id")
    trained = features_run.naive_per_user.set_index("user_id").loc[features_run.sample]
    for name in ("events_7d", "events_30d", "purchases_30d"):
        assert (served[name] >= trained[name]).all()
    assert skew["events_7d"]["differ"] > 0


def test_leakage_naive_rows_see_the_future_feast_rows_never(features_run):
    leakage = section(features_run)["leakage"]
    assert leakage["feast"]["leaked_rows"] == 0
    assert leakage["feast"]["snapshots_after_label"] == 0
    assert leakage["naive"]["share"] > 0.3
    # brute force for a few rows: a naive 30-day count leaks when an event of the
    # user falls in (label, as_of] inside (as_of - 30 d, as_of]
    data = features_run.data
    as_of = features_run.as_of
    window = data.events[data.events["event_timestamp"] > as_of - pd.Timedelta(days=30)]
    labels = data.labels.reset_index(drop=True)
    leaked = 0
    for row in labels.itertuples():
        mine = window[window["user_id"] == row.user_id]["event_timestamp"]
        leaked += bool((mine > row.label_timestamp).any())
    assert leakage["naive"]["features"]["events_30d"]["leaked_rows"] == leaked
    metrics = leakage["metrics"]
    assert metrics["naive_offline_auc"] > metrics["naive_point_in_time_auc"]


def test_historical_retrieval_matches_the_merge_asof_oracle(features_run):
    oracle = section(features_run)["oracle"]
    assert oracle["passed"] and oracle["entities"] == len(features_run.data.labels)
    as_of = features_run.feast_table["as_of_ts"]
    label_s = features_run.feast_table["request_ts"]
    assert (as_of <= label_s).all() and (label_s - as_of < 86_400).all()


def test_online_and_historical_agree_after_materialising(features_run):
    consistency = section(features_run)["consistency"]
    assert consistency["passed"] and consistency["values_differ"] == 0
    assert consistency["entities"] >= 300


def test_endpoints_serve_their_own_computation(features_run):
    assert section(features_run)["answers"]["passed"]


def test_naive_endpoint_on_bad_input(features_run):
    url = features_run.endpoints["naive"].url + "/features"
    found = requests.post(url, json={"user_id": [1, 10**9]}, timeout=30).json()["rows"]
    assert found[0]["found"] is True and found[1]["found"] is False
    assert found[1]["events_7d"] is None
    for body, status, words in (
        (b"{not json", 400, "JSON"),
        (b'{"ids": [1]}', 400, "missing"),
        (b'{"user_id": ["1"]}', 400, "integers"),
    ):
        response = requests.post(
            url, data=body, headers={"Content-Type": "application/json"}, timeout=30
        )
        assert response.status_code == status and words in response.json()["error"]
    assert requests.get(features_run.endpoints["naive"].url + "/health", timeout=10).ok


def test_feast_server_on_bad_input(features_run):
    url = features_run.endpoints["feast"].url + "/get-online-features"
    ts = features_run.request_ts
    body = {
        "feature_service": names.FEATURE_SERVICE,
        "entities": {"user_id": [1, 10**9], "request_ts": [ts, ts]},
    }
    answer = requests.post(url, json=body, timeout=30).json()
    columns = {
        name: result
        for name, result in zip(answer["metadata"]["feature_names"], answer["results"], strict=True)
    }
    assert columns["events_7d"]["statuses"] == ["PRESENT", "NOT_FOUND"]
    assert columns["events_7d"]["values"][1] is None
    assert columns["age_bucket"]["values"][1] is None
    malformed = requests.post(
        url, data=b"{not json", headers={"Content-Type": "application/json"}, timeout=30
    )
    assert malformed.status_code == 422 and "JSON decode error" in malformed.text
    wrong_shape = requests.post(url, json={"entities": 5}, timeout=30)
    assert wrong_shape.status_code == 422 and "valid dictionary" in wrong_shape.text
    no_time = requests.post(
        url,
        json={"feature_service": names.FEATURE_SERVICE, "entities": {"user_id": [1]}},
        timeout=30,
    )
    assert no_time.status_code == 404 and "request_ts" in no_time.text
    # Feast 0.47's own behaviour, recorded so an upgrade that changes it is noticed:
    # an id of the wrong type is a server error, not a 4xx.
    wrong_type = requests.post(
        url,
        json={
            "feature_service": names.FEATURE_SERVICE,
            "entities": {"user_id": ["x"], "request_ts": [ts]},
        },
        timeout=30,
    )
    assert wrong_type.status_code == 500 and "invalid literal" in wrong_type.text
    assert requests.get(features_run.endpoints["feast"].url + "/health", timeout=10).ok


def test_load_on_both_endpoints(features_run):
    from infragap.suites.features.suite import drive_load

    drive_load(features_run)
    variants = section(features_run)["variants"]
    assert set(variants) == {"naive", "feast"}
    for name, variant in variants.items():
        (level,) = variant["levels"]
        assert level["requests"] > 0 and level["failures"] == 0, (name, level)
        assert level["requests"] == len(level["latencies_ms"])
        assert level["server"]["cpu_s"] > 0


def test_a_repository_feast_rejects_names_the_file(features_run, tmp_path):
    from infragap.processes import Supervisor
    from infragap.proven.feast_repo.repository import FeatureRepo
    from infragap.proven.feast_repo.store import FeatureRepoError, apply_repository

    broken = tmp_path / "repo"
    shutil.copytree(features_run.repo.path, broken, ignore=shutil.ignore_patterns("*.db"))
    definitions = broken / names.DEFINITIONS_FILE
    text = definitions.read_text()
    definitions.write_text(text.replace('Field(name="events_7d", dtype=Int64)', "Field(name=7)"))
    repo = FeatureRepo(broken, "sqlite", features_run.repo.earliest)
    with Supervisor(tmp_path / "logs") as supervisor, pytest.raises(FeatureRepoError) as info:
        apply_repository(supervisor, repo)
    message = str(info.value)
    assert "feast apply" in message and str(definitions) in message
    assert "line" in message
