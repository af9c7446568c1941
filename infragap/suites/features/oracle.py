"""An independent point-in-time join, to check Feast's historical retrieval against.

`pd.merge_asof` over the feature table, backward in time, per entity, within the
view's TTL: for each entity row, the latest feature row at or before its time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def asof_join(
    entities: pd.DataFrame,
    table: pd.DataFrame,
    columns: Sequence[str],
    ttl: pd.Timedelta | None,
    key: str = "user_id",
    time: str = "event_timestamp",
) -> pd.DataFrame:
    """`columns` of `table` for every row of `entities` (same order); NaN when none."""
    import pandas as pd

    left = entities[[key, time]].reset_index(drop=True).copy()
    left["_row"] = range(len(left))
    left[time] = pd.to_datetime(left[time], utc=True)
    right = table[[key, time, *columns]].copy()
    right[time] = pd.to_datetime(right[time], utc=True)
    joined = pd.merge_asof(
        left.sort_values(time),
        right.sort_values(time),
        on=time,
        by=key,
        direction="backward",
        allow_exact_matches=True,
        tolerance=ttl,
    )
    return joined.sort_values("_row").reset_index(drop=True)[[key, *columns]]
