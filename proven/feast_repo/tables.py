"""The batch feature pipeline: raw e-commerce tables in, Feast's feature tables out.

Pure functions over DataFrames (pandas is imported inside them):

- `profile_table`: one row per user, stamped with the signup time. Locations are
  encoded with an append-only vocabulary (cities numbered in the order they first
  appear), so a new city never moves an existing code.
- `activity_table`: a snapshot of every user at every UTC midnight from the first one
  after signup to the data's end: events in the 7 and 30 days before the snapshot,
  purchases in 30 days, and the snapshot time itself (`as_of_ts`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from infragap.workloads.ecommerce import DAY_S, epoch_seconds

if TYPE_CHECKING:
    import pandas as pd

WINDOWS_DAYS = {"events_7d": 7, "events_30d": 30}
PURCHASE_WINDOW_DAYS = 30


def city_vocabulary(users: pd.DataFrame) -> dict[str, int]:
    """City -> code, numbered by first signup: existing codes survive new cities."""
    first = users.groupby("location")["signup_time"].min().sort_values(kind="stable")
    return {city: code for code, city in enumerate(first.index)}


def profile_table(users: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    birth = pd.to_datetime(users["birth_date"])
    if birth.dt.tz is None:
        birth = birth.dt.tz_localize("UTC")
    return pd.DataFrame(
        {
            "user_id": users["user_id"].astype("int64"),
            "location_code": users["location"].map(city_vocabulary(users)).astype("int64"),
            "birth_ts": epoch_seconds(birth),
            "signup_ts": epoch_seconds(users["signup_time"]),
            "event_timestamp": users["signup_time"],
        }
    )


def activity_table(
    users: pd.DataFrame, events: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """Daily snapshots at the midnights start, start + 1 day, ..., end (all UTC midnights).

    The snapshot at midnight d counts events in [d - window, d): nothing at or after d.
    """
    import pandas as pd

    days = int((end - start) / pd.Timedelta(days=1))
    start_s = int(start.timestamp())
    user_ids = users["user_id"].to_numpy(dtype=np.int64)
    row_of = pd.Series(np.arange(len(user_ids)), index=user_ids)
    seconds = epoch_seconds(events["event_timestamp"])
    inside = (seconds >= start_s) & (seconds < start_s + days * DAY_S)
    rows = row_of.reindex(events["user_id"].to_numpy()).to_numpy()
    inside &= ~np.isnan(rows)
    day = (seconds[inside] - start_s) // DAY_S
    user_row = rows[inside].astype(np.int64)
    purchase = (events["event_type"] == "purchase").to_numpy()[inside]

    def cumulative(mask: np.ndarray | None) -> np.ndarray:
        """[user, k] = events before midnight k (k = 0..days)."""
        counts = np.zeros((len(user_ids), days + 1), dtype=np.int64)
        np.add.at(counts, (user_row, day + 1), 1 if mask is None else mask.astype(np.int64))
        return np.cumsum(counts, axis=1)

    every = cumulative(None)
    bought = cumulative(purchase)
    k = np.arange(days + 1)

    def window(total: np.ndarray, width: int) -> np.ndarray:
        return total - total[:, np.maximum(k - width, 0)]

    columns = {name: window(every, width) for name, width in WINDOWS_DAYS.items()}
    columns["purchases_30d"] = window(bought, PURCHASE_WINDOW_DAYS)
    signup_s = epoch_seconds(users["signup_time"])
    first_k = np.clip(np.ceil((signup_s - start_s) / DAY_S), 0, None).astype(np.int64)
    keep = k[None, :] >= first_k[:, None]
    user_index, snapshot = np.nonzero(keep)
    as_of = start_s + snapshot.astype(np.int64) * DAY_S
    table = pd.DataFrame(
        {
            "user_id": user_ids[user_index],
            **{name: values[user_index, snapshot] for name, values in columns.items()},
            "as_of_ts": as_of,
            "event_timestamp": pd.to_datetime(as_of, unit="s", utc=True),
        }
    )
    return table.sort_values(["event_timestamp", "user_id"], ignore_index=True)
