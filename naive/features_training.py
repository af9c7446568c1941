"""Naive training features, written the way they show up in a first model's repo.

Reads the raw exports, builds the model's features with handwritten pandas and joins
them to the labels:

- age_bucket: `pd.cut` over age in whole years (bins closed on the right: 25 is in
  (18, 25]).
- location_code: a LabelEncoder fitted on the training users' locations.
- events_7d, events_30d, purchases_30d: each user's events in the 7×24 and 30×24
  hours before the export (`as_of`, by default the latest event's timestamp).

Then the hurried part: the per-user table holds the *latest* value of every feature,
and it is merged onto the label rows by user_id alone. A label from March gets
activity counted up to the export in June, including the purchases the label is about.
That is the point-in-time leakage the features suite measures; nothing here hides it.

The serving endpoint (features_serving.py) has its own copy of this preprocessing.
`python -m infragap.naive.features_training --data DIR --out FILE` writes the table.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd
from sklearn.preprocessing import LabelEncoder

logger = logging.getLogger(__name__)

AGE_BINS = [0, 18, 25, 35, 45, 55, 65, 120]
FEATURES = ["age_bucket", "location_code", "events_7d", "events_30d", "purchases_30d"]


def load_raw(data_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    users = pd.read_csv(data_dir / "users.csv", parse_dates=["birth_date", "signup_time"])
    events = pd.read_parquet(data_dir / "events.parquet")
    labels = pd.read_parquet(data_dir / "labels.parquet")
    return users, events, labels


def fit_location_encoder(users: pd.DataFrame, labels: pd.DataFrame) -> LabelEncoder:
    """Fitted on the users we train on, which is every user with a label."""
    train_users = users[users["user_id"].isin(labels["user_id"])]
    return LabelEncoder().fit(train_users["location"])


def user_features(
    users: pd.DataFrame, events: pd.DataFrame, as_of: pd.Timestamp, encoder: LabelEncoder
) -> pd.DataFrame:
    """One row per user: the latest value of every feature at `as_of` (tz-aware)."""
    df = users[["user_id"]].copy()
    age = (as_of.tz_convert(None) - users["birth_date"]).dt.days // 365
    df["age_bucket"] = pd.cut(age, bins=AGE_BINS, labels=False)
    df["location_code"] = encoder.transform(users["location"])

    seen = events[events["event_timestamp"] <= as_of]
    last_7d = seen[seen["event_timestamp"] > as_of - pd.Timedelta(days=7)]
    last_30d = seen[seen["event_timestamp"] > as_of - pd.Timedelta(days=30)]
    df["events_7d"] = df["user_id"].map(last_7d.groupby("user_id").size())
    df["events_30d"] = df["user_id"].map(last_30d.groupby("user_id").size())
    purchases = last_30d[last_30d["event_type"] == "purchase"]
    df["purchases_30d"] = df["user_id"].map(purchases.groupby("user_id").size())
    df[FEATURES] = df[FEATURES].fillna(0).astype("int64")
    return df


def build_training_table(
    users: pd.DataFrame,
    events: pd.DataFrame,
    labels: pd.DataFrame,
    as_of: pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, LabelEncoder]:
    """(label rows with features, the per-user feature table, the fitted encoder)."""
    if as_of is None:
        as_of = events["event_timestamp"].max()
    encoder = fit_location_encoder(users, labels)
    train_users = users[users["user_id"].isin(labels["user_id"])]
    per_user = user_features(train_users, events, as_of, encoder)
    # latest value per user, joined on user_id only
    table = labels.merge(per_user, on="user_id", how="left")
    logger.info("training table: %d rows, %d users", len(table), len(per_user))
    return table, per_user, encoder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build the naive training features")
    parser.add_argument("--data", type=Path, required=True, help="folder of raw exports")
    parser.add_argument("--out", type=Path, required=True, help="parquet file to write")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    users, events, labels = load_raw(args.data)
    table, _, _ = build_training_table(users, events, labels)
    table.to_parquet(args.out, index=False)


if __name__ == "__main__":
    main()
