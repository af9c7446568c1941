"""Preprocess: one row per (user, item) seen that day, with features and the label."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from pipeline_io import Output, StepArgs, main, parquet_writer, read_parquet

CATEGORIES = ("books", "electronics", "fashion", "garden", "grocery", "toys")
EVENT_TYPES = ("view", "cart", "purchase")


def preprocess(args: StepArgs) -> list[Output]:
    path = args.partition("extracted", "events.parquet")
    events = read_parquet(path, "extracted events file", f"run extract for {args.day} first")
    keys = ["user_id", "item_id"]
    counts = pd.crosstab([events["user_id"], events["item_id"]], events["event_type"])
    counts = counts.reindex(columns=list(EVENT_TYPES), fill_value=0)
    pairs = events.groupby(keys).agg(
        first_seen=("event_time", "min"), price=("price", "mean"), category=("category", "first")
    )
    pairs = pairs.join(counts)
    views = events[events["event_type"] == "view"]
    user_views = views.groupby("user_id").size().rename("user_views")
    user_items = views.groupby("user_id")["item_id"].nunique().rename("user_items")
    pairs = pairs.reset_index().join(user_views, on="user_id").join(user_items, on="user_id")

    features = pd.DataFrame(
        {
            "user_id": pairs["user_id"],
            "item_id": pairs["item_id"],
            "n_views": pairs["view"],
            "n_carts": pairs["cart"],
            "log_price": np.log1p(pairs["price"]),
            "hour": pd.to_datetime(pairs["first_seen"], utc=True).dt.hour,
            "user_views": pairs["user_views"].fillna(0),
            "user_items": pairs["user_items"].fillna(0),
        }
    )
    for category in CATEGORIES:
        features[f"cat_{category}"] = (pairs["category"] == category).astype(np.int8)
    features["purchased"] = (pairs["purchase"] > 0).astype(np.int8)
    features = features.sort_values(keys, kind="stable").reset_index(drop=True)
    return [(args.partition("features", "features.parquet"), parquet_writer(features))]


if __name__ == "__main__":
    sys.exit(main("preprocess", preprocess))
