"""Extract: read the day's raw events, keep the valid events of that day, write a partition."""

from __future__ import annotations

import sys

import pandas as pd
from pipeline_io import Output, StepArgs, StepError, main, parquet_writer, read_parquet

RAW_COLUMNS = ("event_time", "user_id", "item_id", "category", "event_type", "price")
EVENT_TYPES = ("view", "cart", "purchase")


def extract(args: StepArgs) -> list[Output]:
    assert args.raw_dir is not None
    path = args.raw_dir / f"date={args.day}" / "events.parquet"
    fix = f"re-export the raw events for {args.day}, then run the pipeline for that day again"
    events = read_parquet(path, "raw events file", fix, RAW_COLUMNS)
    times = pd.to_datetime(events["event_time"], utc=True)
    start = pd.Timestamp(args.day, tz="UTC")
    valid = (
        (times >= start)
        & (times < start + pd.Timedelta(days=1))
        & events["event_type"].isin(EVENT_TYPES)
        & (events["price"] > 0)
    )
    events = events.loc[valid, list(RAW_COLUMNS)].drop_duplicates().reset_index(drop=True)
    if events.empty:
        raise StepError(f"raw events file {path} holds no valid events for {args.day}: {fix}")
    return [(args.partition("extracted", "events.parquet"), parquet_writer(events))]


if __name__ == "__main__":
    sys.exit(main("extract", extract, needs_raw=True))
