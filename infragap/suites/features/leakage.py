"""Point-in-time leakage: training values computed from events after the label's time.

Pure functions over DataFrames. A window feature whose value counts a user's events in
(end - w, end] was computed from the future of a label at time t when any of those
events falls after t, that is in (max(t, end - w), end]. For the naive training table
`end` is the export time for every row; for Feast it is the snapshot time its
point-in-time join picked (`as_of_ts`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from infragap.workloads.ecommerce import DAY_S, count_between, epoch_seconds

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.preprocessing import LabelEncoder

# feature -> (window in days, the event type it counts or None for every event)
WINDOW_FEATURES: dict[str, tuple[int, str | None]] = {
    "events_7d": (7, None),
    "events_30d": (30, None),
    "purchases_30d": (30, "purchase"),
}


def future_events(
    events: pd.DataFrame,
    user_ids: np.ndarray,
    label_s: np.ndarray,
    window_end_s: np.ndarray,
) -> dict[str, np.ndarray]:
    """Per window feature and row: how many counted events happened after the label."""
    seconds = epoch_seconds(events["event_timestamp"])
    users = events["user_id"].to_numpy(dtype=np.int64)
    kinds = events["event_type"].astype(str).to_numpy()
    found = {}
    for name, (days, kind) in WINDOW_FEATURES.items():
        keep = np.ones(len(users), dtype=bool) if kind is None else kinds == kind
        low = np.maximum(label_s, window_end_s - days * DAY_S)
        found[name] = count_between(users[keep], seconds[keep], user_ids, low, window_end_s)
    return found


def leakage_record(future: dict[str, np.ndarray]) -> dict[str, Any]:
    """Shares of rows whose values counted events from after their label's time."""
    rows = len(next(iter(future.values()))) if future else 0
    any_leak = np.zeros(rows, dtype=bool)
    per_feature = {}
    for name, counts in future.items():
        leaked = counts > 0
        any_leak |= leaked
        per_feature[name] = {
            "leaked_rows": int(leaked.sum()),
            "share": float(leaked.mean()) if rows else 0.0,
            "future_events_mean": float(counts[leaked].mean()) if leaked.any() else 0.0,
        }
    return {
        "rows": rows,
        "leaked_rows": int(any_leak.sum()),
        "share": float(any_leak.mean()) if rows else 0.0,
        "features": per_feature,
    }


def naive_point_in_time(
    users: pd.DataFrame, events: pd.DataFrame, labels: pd.DataFrame, encoder: LabelEncoder
) -> pd.DataFrame:
    """The naive training code's own feature definitions, computed as of each label's time.

    This is what the naive model meets in production, where nothing from after the
    request exists yet: the honest counterpart of its leaky training table.
    """
    import pandas as pd

    from infragap.naive.features_training import AGE_BINS

    rows = labels[["user_id", "label_timestamp", "label"]].reset_index(drop=True)
    profile = users.set_index("user_id").loc[rows["user_id"]].reset_index(drop=True)
    at = rows["label_timestamp"].dt.tz_convert(None)
    age = (at - pd.to_datetime(profile["birth_date"])).dt.days // 365
    table = rows.copy()
    table["age_bucket"] = pd.cut(age, bins=AGE_BINS, labels=False).astype("int64")
    table["location_code"] = encoder.transform(profile["location"])
    label_s = epoch_seconds(rows["label_timestamp"])
    seconds = epoch_seconds(events["event_timestamp"])
    event_users = events["user_id"].to_numpy(dtype=np.int64)
    kinds = events["event_type"].astype(str).to_numpy()
    user_ids = rows["user_id"].to_numpy(dtype=np.int64)
    for name, (days, kind) in WINDOW_FEATURES.items():
        keep = np.ones(len(kinds), dtype=bool) if kind is None else kinds == kind
        table[name] = count_between(
            event_users[keep], seconds[keep], user_ids, label_s - days * DAY_S, label_s
        )
    return table
