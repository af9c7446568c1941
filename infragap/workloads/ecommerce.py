"""A seeded synthetic e-commerce data set: users, items, timestamped events and labels.

Both sides of the features pair start from these raw tables. Nothing is downloaded;
the same (size, seed) always gives the same tables.

- users: user_id, birth_date (a date), location (a city), signup_time (UTC).
- items: item_id, category, price.
- events: user_id, item_id, event_type ("view" or "purchase"), event_timestamp (UTC),
  sorted by time, over `days` days ending at `end` (a UTC midnight).
- labels: user_id, label_timestamp, label: 1 when the user purchased within the 7 days
  after label_timestamp. Every label time lies at least 30 days after the data starts,
  7 days before its end, and a day after the user signed up.

Users keep a personal activity rate and purchase propensity (both depend on age and
city), and their activity rises and falls in cycles of a few weeks, so recent activity
predicts the next week's purchases. A "new market" city opens in the data's last week:
its users sign up then, so they have no labels (a model trained on the labels never saw
the city).

`tiny` is for tests, `small` for --quick, `default` has about a million events, so that
recomputing features from the raw events costs what it costs in real life.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from infragap.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

DAY_S = 86_400
LABEL_HORIZON_DAYS = 7
FEATURE_LOOKBACK_DAYS = 30
END = "2024-06-01"  # a UTC midnight: the data set's "now"
CITIES = (
    "Amsterdam",
    "Barcelona",
    "Berlin",
    "Dublin",
    "Hamburg",
    "Lyon",
    "Madrid",
    "Milan",
    "Munich",
    "Paris",
    "Rome",
    "Vienna",
)
CITY_WEIGHTS = (10, 8, 14, 5, 6, 5, 9, 7, 6, 12, 9, 5)
# Sorted between Hamburg and Lyon on purpose: a label encoder refitted on data that
# includes it shifts the codes of every city after it.
NEW_MARKET = "Lisbon"
NEW_MARKET_SHARE = 0.02
CATEGORIES = ("books", "electronics", "fashion", "garden", "grocery", "home", "sports", "toys")

RAW_USERS = "users.csv"
RAW_ITEMS = "items.csv"
RAW_EVENTS = "events.parquet"
RAW_LABELS = "labels.parquet"


@dataclass(frozen=True)
class DataSize:
    """How big the data set is; `events_per_user_day` is the mean activity rate."""

    name: str
    n_users: int
    n_items: int
    days: int
    events_per_user_day: float
    labels_per_user: int

    def expected_events(self) -> int:
        return round(self.n_users * self.days * self.events_per_user_day * 0.8)


DATA_SIZES = {
    size.name: size
    for size in (
        DataSize("tiny", 400, 300, 60, 0.8, 2),
        DataSize("small", 3_000, 2_000, 90, 0.8, 2),
        DataSize("default", 12_000, 20_000, 120, 1.15, 2),
    )
}


def data_size(name: str) -> DataSize:
    try:
        return DATA_SIZES[name]
    except KeyError:
        raise ConfigError(
            f"unknown data size {name!r}: choose one of {', '.join(DATA_SIZES)}"
        ) from None


@dataclass
class EcommerceData:
    """The raw tables and the time span they cover (`end` is the data set's "now")."""

    users: pd.DataFrame
    items: pd.DataFrame
    events: pd.DataFrame
    labels: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp

    def summary(self) -> dict[str, object]:
        return {
            "users": len(self.users),
            "items": len(self.items),
            "events": len(self.events),
            "purchases": int((self.events["event_type"] == "purchase").sum()),
            "labels": len(self.labels),
            "positive_rate": float(self.labels["label"].mean()) if len(self.labels) else None,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }


def generate(size: DataSize, seed: int) -> EcommerceData:
    """The data set for (size, seed): deterministic, vectorised, a few seconds at default."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    end = pd.Timestamp(END, tz="UTC")
    start = end - pd.Timedelta(days=size.days)
    users, rate, propensity = _users(rng, size, start, end)
    items = _items(rng, size)
    events = _events(rng, size, users, rate, propensity, start)
    labels = _labels(rng, size, users, events, start, end)
    return EcommerceData(users, items, events, labels, start, end)


def _users(
    rng: np.random.Generator, size: DataSize, start: pd.Timestamp, end: pd.Timestamp
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    import pandas as pd

    n = size.n_users
    weights = np.array(CITY_WEIGHTS, dtype=float)
    city_index = rng.choice(len(CITIES), size=n, p=weights / weights.sum())
    location = np.array(CITIES, dtype=object)[city_index]
    new_market = rng.random(n) < NEW_MARKET_SHARE
    location[new_market] = NEW_MARKET
    # Most users signed up before the data starts; some during it (never in the last
    # week, which belongs to the new market's launch).
    signup_s = np.where(
        rng.random(n) < 0.65,
        rng.uniform(-365, 0, n) * DAY_S,
        rng.uniform(0, size.days - LABEL_HORIZON_DAYS - 1, n) * DAY_S,
    )
    launch = rng.uniform(size.days - LABEL_HORIZON_DAYS, size.days - 0.5, n) * DAY_S
    signup_s = np.where(new_market, launch, signup_s)
    signup = start + pd.to_timedelta(np.round(signup_s), unit="s")
    age_at_end = rng.integers(16, 76, n)
    birth_offset_days = np.round(age_at_end * 365.25 + rng.uniform(0, 365, n))
    birth = (end.tz_localize(None) - pd.to_timedelta(birth_offset_days, unit="D")).normalize()
    users = pd.DataFrame(
        {
            "user_id": np.arange(1, n + 1, dtype=np.int64),
            "birth_date": birth,
            "location": location.astype(str),
            "signup_time": signup,
        }
    )
    # Younger users browse more, older users buy a larger share of what they view;
    # city_index gives each city its own habits.
    city_factor = 0.7 + 0.6 * ((city_index * 7919) % 11) / 10
    rate = size.events_per_user_day * rng.lognormal(-0.3, 0.8, n) * (1.3 - age_at_end / 100)
    propensity = np.clip(rng.beta(2.0, 40.0, n) * (0.6 + age_at_end / 60) * city_factor, 0, 0.5)
    return users, rate, propensity


def _items(rng: np.random.Generator, size: DataSize) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        {
            "item_id": np.arange(1, size.n_items + 1, dtype=np.int64),
            "category": np.array(CATEGORIES)[rng.integers(0, len(CATEGORIES), size.n_items)],
            "price": np.round(rng.lognormal(3.0, 0.9, size.n_items), 2),
        }
    )


def _events(
    rng: np.random.Generator,
    size: DataSize,
    users: pd.DataFrame,
    rate: np.ndarray,
    propensity: np.ndarray,
    start: pd.Timestamp,
) -> pd.DataFrame:
    import pandas as pd

    n, days = size.n_users, size.days
    day = np.arange(days)
    # Activity cycles of 2-9 weeks; a quarter of the users churn at some point.
    period = rng.uniform(14, 63, n)[:, None]
    phase = rng.uniform(0, 2 * np.pi, n)[:, None]
    cycle = 0.15 + 1.7 * (np.sin(2 * np.pi * day[None, :] / period + phase) + 1) / 2
    churn_day = np.where(rng.random(n) < 0.25, rng.uniform(0, days, n), np.inf)[:, None]
    signup_day = ((users["signup_time"] - start).dt.total_seconds().to_numpy() / DAY_S)[:, None]
    alive = (day[None, :] + 1 > signup_day) & (day[None, :] < churn_day)
    counts = rng.poisson(rate[:, None] * cycle * alive)
    user_index, event_day = np.nonzero(counts)
    repeats = counts[user_index, event_day]
    user_index = np.repeat(user_index, repeats)
    event_day = np.repeat(event_day, repeats)
    seconds = event_day * DAY_S + rng.integers(0, DAY_S, len(event_day))
    # An event on the signup day cannot come before the signup itself.
    seconds = np.maximum(seconds, np.ceil(signup_day[user_index, 0] * DAY_S)).astype(np.int64)
    purchase = rng.random(len(seconds)) < propensity[user_index]
    items = (rng.zipf(1.3, len(seconds)) - 1) % size.n_items + 1
    order = np.argsort(seconds, kind="stable")
    events = pd.DataFrame(
        {
            "user_id": users["user_id"].to_numpy()[user_index[order]],
            "item_id": items[order].astype(np.int64),
            "event_type": pd.Categorical(
                np.where(purchase[order], "purchase", "view"), categories=["view", "purchase"]
            ),
            "event_timestamp": start + pd.to_timedelta(seconds[order], unit="s"),
        }
    )
    return events


def _labels(
    rng: np.random.Generator,
    size: DataSize,
    users: pd.DataFrame,
    events: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> pd.DataFrame:
    import pandas as pd

    first = start + pd.Timedelta(days=FEATURE_LOOKBACK_DAYS)
    last = end - pd.Timedelta(days=LABEL_HORIZON_DAYS)
    earliest = np.maximum(
        epoch_seconds(users["signup_time"]) + DAY_S, int(first.timestamp())
    )  # a day after signup, and late enough for a 30-day look-back
    latest = int(last.timestamp())
    eligible = earliest < latest
    user_ids = np.repeat(users["user_id"].to_numpy()[eligible], size.labels_per_user)
    low = np.repeat(earliest[eligible], size.labels_per_user)
    label_s = (low + rng.random(len(low)) * (latest - low)).astype(np.int64)
    purchases = events[events["event_type"] == "purchase"]
    future = count_between(
        purchases["user_id"].to_numpy(),
        epoch_seconds(purchases["event_timestamp"]),
        user_ids,
        label_s,
        label_s + LABEL_HORIZON_DAYS * DAY_S,
    )
    labels = pd.DataFrame(
        {
            "user_id": user_ids,
            "label_timestamp": pd.to_datetime(label_s, unit="s", utc=True),
            "label": (future > 0).astype(np.int64),
        }
    )
    return labels.sort_values(["label_timestamp", "user_id"], ignore_index=True)


def epoch_seconds(stamps: pd.Series) -> np.ndarray:
    """Tz-aware timestamps (of any resolution) as whole epoch seconds, floored."""
    import pandas as pd

    delta = stamps.dt.tz_convert("UTC") - pd.Timestamp(0, tz="UTC")
    return (delta // pd.Timedelta(seconds=1)).to_numpy(dtype=np.int64)


def count_between(
    event_users: np.ndarray,
    event_seconds: np.ndarray,
    users: np.ndarray,
    low_exclusive: np.ndarray,
    high_inclusive: np.ndarray,
) -> np.ndarray:
    """For each (user, low, high) row, how many events of that user fall in (low, high].

    Pure and vectorised: events are sorted by (user, time) once, then every row is two
    binary searches. Rows where high <= low count zero.
    """
    width = np.int64(1) << np.int64(40)  # epoch seconds fit in 40 bits until year 36812
    keys = np.sort(event_users.astype(np.int64) * width + event_seconds.astype(np.int64))
    base = users.astype(np.int64) * width
    low = np.searchsorted(keys, base + low_exclusive.astype(np.int64), side="right")
    high = np.searchsorted(keys, base + high_inclusive.astype(np.int64), side="right")
    return np.maximum(high - low, 0)


@dataclass(frozen=True)
class RawFiles:
    """Where the raw tables were written, in the formats teams usually receive them."""

    folder: Path

    @property
    def users(self) -> Path:
        return self.folder / RAW_USERS

    @property
    def items(self) -> Path:
        return self.folder / RAW_ITEMS

    @property
    def events(self) -> Path:
        return self.folder / RAW_EVENTS

    @property
    def labels(self) -> Path:
        return self.folder / RAW_LABELS


def write_raw(data: EcommerceData, folder: Path) -> RawFiles:
    """Users and items as CSV exports, events and labels as parquet (UTC timestamps)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = RawFiles(folder)
    users = data.users.copy()
    users["birth_date"] = users["birth_date"].dt.strftime("%Y-%m-%d")
    users["signup_time"] = users["signup_time"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    users.to_csv(files.users, index=False)
    data.items.to_csv(files.items, index=False)
    data.events.to_parquet(files.events, index=False)
    data.labels.to_parquet(files.labels, index=False)
    return files
