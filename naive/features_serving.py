"""The naive feature endpoint: recomputes the model's features from the raw files per request.

`POST /features` with `{"user_id": [1, 2, ...]}` answers
`{"rows": [{"user_id": 1, "found": true, "age_bucket": 3, ...}, ...]}` in request
order; a user id that is not in the users export comes back with `"found": false` and
null features. Every request reads `users.csv` and `events.parquet` again, as endpoints
written next to a training notebook do, so that the features are "always fresh".

The preprocessing is this endpoint's own copy of features_training.py, rewritten when
the service was built. It drifted the way such copies drift; each difference is real
code seen in the wild, kept small:

1. location_code: the LabelEncoder is refitted here on the whole users export, which
   now includes the city the company launched in last week (no training user lives
   there). LabelEncoder sorts its classes, so every city sorted after the new one gets
   a code one higher than the model learnt.
2. age_bucket: `np.digitize` on the same edges instead of `pd.cut`. digitize closes
   bins on the left, pd.cut on the right, so a user aged exactly 18, 25, 35, 45, 55 or
   65 lands one bucket higher than in training.
3. events_7d, events_30d, purchases_30d: "the last 7 days" became the last 7 calendar
   days in the server's local time zone (Europe/Berlin), counted from local midnight,
   instead of the last 7×24 hours in UTC; the window is a few hours longer and starts
   at a different moment.

`now` is the service's clock: the wall clock by default, or `--now` (ISO time) to
serve as of a fixed moment, which the benchmark uses to ask both sides the same thing.
"""

from __future__ import annotations

import argparse
import logging
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from flask import Flask, jsonify, request
from sklearn.preprocessing import LabelEncoder
from werkzeug.exceptions import HTTPException

logger = logging.getLogger(__name__)

LOCAL_TZ = "Europe/Berlin"
AGE_EDGES = [18, 25, 35, 45, 55, 65]
FEATURES = ["age_bucket", "location_code", "events_7d", "events_30d", "purchases_30d"]
MAX_IDS = 1000
MAX_BODY_BYTES = 1 << 20


class BadRequest(ValueError):
    """The request body is not what /features takes; the message says what is wrong."""


def parse_user_ids(body: Any) -> list[int]:
    if not isinstance(body, dict):
        raise BadRequest('body must be a JSON object like {"user_id": [1, 2]}')
    ids = body.get("user_id")
    if ids is None:
        raise BadRequest('missing field "user_id" (a list of integer user ids)')
    if not isinstance(ids, list) or not ids:
        raise BadRequest('"user_id" must be a non-empty list of integers')
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise BadRequest('"user_id" must hold integers')
    if len(ids) > MAX_IDS:
        raise BadRequest(f'"user_id" holds {len(ids)} ids; ask for at most {MAX_IDS} at once')
    return ids


def serving_features(
    users: pd.DataFrame, events: pd.DataFrame, user_ids: list[int], now: pd.Timestamp
) -> list[dict[str, Any]]:
    """The features of `user_ids` at `now` (tz-aware), one dict per id, in order."""
    encoder = LabelEncoder().fit(users["location"])
    wanted = users[users["user_id"].isin(user_ids)].copy()
    ages = ((now.tz_convert(None) - wanted["birth_date"]).dt.days // 365).to_numpy()
    wanted["age_bucket"] = np.digitize(ages, AGE_EDGES)
    wanted["location_code"] = encoder.transform(wanted["location"])

    local_today = now.tz_convert(LOCAL_TZ).date()
    mine = events[events["user_id"].isin(user_ids) & (events["event_timestamp"] <= now)]
    local_day = mine["event_timestamp"].dt.tz_convert(LOCAL_TZ).dt.date
    week = mine[local_day >= local_today - timedelta(days=7)]
    month = mine[local_day >= local_today - timedelta(days=30)]
    counts = {
        "events_7d": week.groupby("user_id").size(),
        "events_30d": month.groupby("user_id").size(),
        "purchases_30d": month[month["event_type"] == "purchase"].groupby("user_id").size(),
    }
    by_id = wanted.set_index("user_id")
    rows = []
    for user_id in user_ids:
        if user_id not in by_id.index:
            rows.append({"user_id": user_id, "found": False, **dict.fromkeys(FEATURES)})
            continue
        user = by_id.loc[user_id]
        row: dict[str, Any] = {"user_id": user_id, "found": True}
        row["age_bucket"] = int(user["age_bucket"])
        row["location_code"] = int(user["location_code"])
        for name, series in counts.items():
            row[name] = int(series.get(user_id, 0))
        rows.append(row)
    return rows


def read_raw(data_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    users = pd.read_csv(data_dir / "users.csv", parse_dates=["birth_date"])
    events = pd.read_parquet(data_dir / "events.parquet")
    return users, events


def create_app(data_dir: Path, now: pd.Timestamp | None = None) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        return jsonify(error=error.description), error.code

    @app.get("/health")
    def health() -> Any:
        return jsonify(status="ok")

    @app.post("/features")
    def features() -> Any:
        start = time.time()
        try:
            body = request.get_json(silent=True)
        except RecursionError:  # silent=True only swallows ValueError; deep nesting is this
            body = None
        if body is None:
            return jsonify(error="body must be JSON (Content-Type: application/json)"), 400
        try:
            user_ids = parse_user_ids(body)
        except BadRequest as error:
            return jsonify(error=str(error)), 400
        # Always fresh: read the exports again for every request.
        users, events = read_raw(data_dir)
        clock = now if now is not None else pd.Timestamp.now(tz="UTC")
        rows = serving_features(users, events, user_ids, clock)
        logger.info(f"features took {(time.time() - start) * 1000:.1f}ms for {len(rows)} users")
        return jsonify(rows=rows)

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Naive feature endpoint (Flask)")
    parser.add_argument("--data", type=Path, required=True, help="folder of raw exports")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--now", help="serve as of this ISO time instead of the wall clock")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    now = pd.Timestamp(args.now) if args.now else None
    if now is not None and now.tzinfo is None:
        now = now.tz_localize("UTC")
    create_app(args.data, now).run(host="127.0.0.1", port=args.port, threaded=True)


if __name__ == "__main__":
    main()
