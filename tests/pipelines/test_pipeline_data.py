"""The seeded raw events: same seed, same day, same bytes of data."""

from datetime import date

import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

from infragap.workloads.pipeline_data import (  # noqa: E402
    CATEGORIES,
    EVENT_TYPES,
    PIPELINE_DATA_SIZES,
    RAW_COLUMNS,
    generate_day,
    raw_path,
    write_raw_events,
)

TINY = PIPELINE_DATA_SIZES["tiny"]
DAY = date(2025, 1, 6)


def test_a_day_is_deterministic_and_differs_from_the_next():
    first = generate_day(1, DAY, TINY)
    pd.testing.assert_frame_equal(first, generate_day(1, DAY, TINY))
    assert not first.equals(generate_day(1, date(2025, 1, 7), TINY))
    assert not first.equals(generate_day(2, DAY, TINY))


def test_events_follow_the_contract():
    events = generate_day(1, DAY, TINY)
    assert tuple(events.columns) == RAW_COLUMNS
    assert set(events["event_type"]) == set(EVENT_TYPES)
    assert set(events["category"]) <= set(CATEGORIES)
    assert (events["price"] > 0).all()
    times = events["event_time"]
    assert times.min() >= pd.Timestamp("2025-01-06", tz="UTC")
    assert times.max() < pd.Timestamp("2025-01-07", tz="UTC")
    assert times.is_monotonic_increasing
    buyers = events[events["event_type"] == "purchase"]
    assert 0 < len(buyers) < len(events) / 4


def test_write_is_idempotent_and_leaves_no_temporary_files(tmp_path):
    (path,) = write_raw_events(tmp_path, [DAY], 1, TINY)
    assert path == raw_path(tmp_path, DAY)
    stamp = path.stat().st_mtime_ns
    write_raw_events(tmp_path, [DAY], 1, TINY)
    assert path.stat().st_mtime_ns == stamp
    assert [p.name for p in path.parent.iterdir()] == ["events.parquet"]
