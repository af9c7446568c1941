"""Seeded raw e-commerce events, one file per day, for the pipelines pair.

Both sides of the pair read the same daily files. A day's file depends only on (seed,
day, size), so any date range can be generated in any order and always reads the same.

The contract the pipeline steps rely on is small, so this generator can be swapped for
the shared e-commerce data set: one Parquet file per day at
`raw_dir/date=YYYY-MM-DD/events.parquet` with the columns of `RAW_COLUMNS`, event types
from `EVENT_TYPES` and categories from `CATEGORIES`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

RAW_COLUMNS = ("event_time", "user_id", "item_id", "category", "event_type", "price")
EVENT_TYPES = ("view", "cart", "purchase")
CATEGORIES = ("books", "electronics", "fashion", "garden", "grocery", "toys")
FIRST_DAY = date(2025, 1, 6)


@dataclass(frozen=True)
class PipelineDataSize:
    """How much raw data one day holds."""

    name: str
    users: int
    items: int
    sessions_per_day: int


PIPELINE_DATA_SIZES = {
    size.name: size
    for size in (
        PipelineDataSize("tiny", users=300, items=120, sessions_per_day=1_500),
        PipelineDataSize("small", users=2_000, items=600, sessions_per_day=12_000),
        PipelineDataSize("default", users=20_000, items=3_000, sessions_per_day=120_000),
    )
}


def days_from(first: date, count: int) -> list[date]:
    return [first + timedelta(days=i) for i in range(count)]


def raw_path(raw_dir: Path, day: date) -> Path:
    return raw_dir / f"date={day.isoformat()}" / "events.parquet"


def _catalogue(seed: int, size: PipelineDataSize) -> tuple[np.ndarray, ...]:
    """Users and items are the same every day; only the day's behaviour varies."""
    rng = np.random.default_rng([seed, 0])
    engagement = rng.normal(0.0, 1.0, size.users)
    taste = rng.integers(0, len(CATEGORIES), size.users)
    item_category = rng.integers(0, len(CATEGORIES), size.items)
    item_price = np.round(np.exp(rng.normal(3.2, 0.9, size.items)), 2)
    return engagement, taste, item_category, item_price


def generate_day(seed: int, day: date, size: PipelineDataSize) -> pd.DataFrame:
    """One day's raw events: sessions of views, sometimes a cart, sometimes a purchase.

    Purchases are likelier for engaged users, cheap items, items in the user's favourite
    category and sessions with many views, so a model has something real to learn.
    """
    import pandas as pd

    engagement, taste, item_category, item_price = _catalogue(seed, size)
    rng = np.random.default_rng([seed, day.toordinal()])
    n = size.sessions_per_day
    users = rng.zipf(1.4, n) % size.users
    items = rng.zipf(1.3, n) % size.items
    views = 1 + rng.poisson(np.exp(0.3 * engagement[users]) * 1.5)
    affinity = (taste[users] == item_category[items]).astype(float)
    logit = -1.2 + 0.8 * engagement[users] + 1.1 * affinity - 0.45 * np.log(item_price[items])
    logit += 0.25 * np.minimum(views, 6)
    carted = rng.random(n) < 1 / (1 + np.exp(-logit))
    bought = carted & (rng.random(n) < 1 / (1 + np.exp(-(logit + 0.5))))
    start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    session_start = rng.uniform(0, 80_000, n)

    # One row per view, then the carts and purchases of the sessions that had them.
    view_session = np.repeat(np.arange(n), views)
    first_view = np.cumsum(views) - views
    gaps = rng.exponential(20.0, view_session.size)
    gaps[first_view] = 0.0
    elapsed = np.cumsum(gaps)
    view_t = session_start[view_session] + elapsed - elapsed[first_view][view_session]
    cart_t = view_t[first_view + views - 1] + rng.exponential(20.0, n)
    buy_t = cart_t + rng.exponential(60.0, n)
    session = np.concatenate([view_session, np.flatnonzero(carted), np.flatnonzero(bought)])
    seconds = np.concatenate([view_t, cart_t[carted], buy_t[bought]])
    kind = np.concatenate(
        [
            np.zeros(view_session.size, dtype=np.int64),
            np.ones(int(carted.sum()), dtype=np.int64),
            np.full(int(bought.sum()), 2, dtype=np.int64),
        ]
    )
    item = items[session]
    frame = pd.DataFrame(
        {
            "event_time": pd.Timestamp(start)
            + pd.to_timedelta(np.minimum(seconds, 86_399.0), unit="s"),
            "user_id": users[session].astype(np.int64),
            "item_id": item.astype(np.int64),
            "category": np.asarray(CATEGORIES, dtype=object)[item_category[item]],
            "event_type": np.asarray(EVENT_TYPES, dtype=object)[kind],
            "price": item_price[item],
        }
    )
    return frame.sort_values("event_time", kind="stable").reset_index(drop=True)


def write_raw_events(
    raw_dir: Path, days: Iterable[date], seed: int, size: PipelineDataSize
) -> list[Path]:
    """Write each day's file (atomically, skipping files already there); return the paths."""
    return list(_write(raw_dir, days, seed, size))


def _write(
    raw_dir: Path, days: Iterable[date], seed: int, size: PipelineDataSize
) -> Iterator[Path]:
    for day in days:
        path = raw_path(raw_dir, day)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            try:
                generate_day(seed, day, size).to_parquet(tmp, index=False)
                os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
        yield path
