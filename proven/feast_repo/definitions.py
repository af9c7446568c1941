"""Feature definitions for the purchase model (a Feast repository file).

infragap copies this file into the repository it writes, as features.py, next to
feature_store.yaml and a data/ folder with the feature tables; `feast apply` reads it
from there. The names match infragap.proven.feast_repo.names.

- user_profile: location_code (from an append-only city vocabulary the pipeline
  keeps, so codes never move), birth and signup times; valid from signup on.
- user_activity: daily snapshots, taken at each UTC midnight, of the user's events in
  the 7 and 30 days before the snapshot (and purchases in 30 days). A point-in-time
  join picks the latest snapshot at or before the row's time, so no value ever counts
  an event from after it.
- user_age: an on-demand view computing the age bucket at request time, from the birth
  time and the request's `request_ts` (epoch seconds): age changes with the clock,
  so it cannot be precomputed. It runs in Python mode (USER_AGE_MODE); the pandas
  version is kept to measure the difference.
- purchase_model: the feature service the model reads, for training
  (get_historical_features) and serving (get_online_features, `feast serve`) alike.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from feast import Entity, FeatureService, FeatureView, Field, FileSource, RequestSource
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Int64
from feast.value_type import ValueType

DATA = Path(__file__).resolve().parent / "data"

user = Entity(
    name="user",
    join_keys=["user_id"],
    value_type=ValueType.INT64,
    description="A shop customer",
)

user_profile = FeatureView(
    name="user_profile",
    entities=[user],
    ttl=timedelta(0),  # a profile row stays valid until a newer one replaces it
    schema=[
        Field(name="location_code", dtype=Int64),
        Field(name="birth_ts", dtype=Int64),
        Field(name="signup_ts", dtype=Int64),
    ],
    source=FileSource(
        name="user_profile_source",
        path=str(DATA / "user_profile.parquet"),
        timestamp_field="event_timestamp",
    ),
    online=True,
)

user_activity = FeatureView(
    name="user_activity",
    entities=[user],
    # Snapshots are daily: one older than two days means the pipeline stopped.
    ttl=timedelta(days=2),
    schema=[
        Field(name="events_7d", dtype=Int64),
        Field(name="events_30d", dtype=Int64),
        Field(name="purchases_30d", dtype=Int64),
        Field(name="as_of_ts", dtype=Int64),
    ],
    source=FileSource(
        name="user_activity_source",
        path=str(DATA / "user_activity.parquet"),
        timestamp_field="event_timestamp",
    ),
    online=True,
)

request_time = RequestSource(
    name="request_time",
    schema=[Field(name="request_ts", dtype=Int64)],
)


# How user_age runs. "python" (dicts of lists) is what Feast's tuning guide recommends for
# online serving: no DataFrame is built per request. "pandas" is kept to measure that.
# infragap's repository writer sets this line in the copy it writes (see repository.py).
USER_AGE_MODE = "python"

if USER_AGE_MODE == "python":

    @on_demand_feature_view(
        sources=[user_profile, request_time],
        schema=[Field(name="age_bucket", dtype=Int64)],
        mode="python",
        name="user_age",
    )
    def user_age_python(inputs: dict[str, list[Any]]) -> dict[str, list[Any]]:
        """Age in whole years (of 365.25 days) at request time, bucketed as [0, 18) -> 0,
        [18, 25) -> 1, ..., [65, ...) -> 6; None when the user is unknown."""
        import math

        seconds_per_year = 31_557_600
        edges = (18, 25, 35, 45, 55, 65)
        buckets: list[int | None] = []
        for birth, now in zip(inputs["birth_ts"], inputs["request_ts"], strict=True):
            # Unknown, as the pandas version has it: None, or NaN in a float column.
            if birth is None or (isinstance(birth, float) and math.isnan(birth)):
                buckets.append(None)
                continue
            age = (now - birth) // seconds_per_year
            buckets.append(sum(1 for edge in edges if age >= edge))
        return {"age_bucket": buckets}

    user_age = user_age_python

else:

    @on_demand_feature_view(
        sources=[user_profile, request_time],
        schema=[Field(name="age_bucket", dtype=Int64)],
        mode="pandas",
        name="user_age",
    )
    def user_age_pandas(inputs: pd.DataFrame) -> pd.DataFrame:
        """The same as user_age_python, on DataFrames."""
        seconds_per_year = 31_557_600
        birth = pd.to_numeric(inputs["birth_ts"], errors="coerce")
        age = (pd.to_numeric(inputs["request_ts"]) - birth) // seconds_per_year
        bucket = sum((age >= edge).astype("int64") for edge in (18, 25, 35, 45, 55, 65))
        out = pd.DataFrame(index=inputs.index)
        out["age_bucket"] = pd.Series(bucket, index=inputs.index).astype("Int64").mask(birth.isna())
        return out

    user_age = user_age_pandas


purchase_model = FeatureService(
    name="purchase_model",
    features=[
        user_age,
        # birth_ts rides along: Feast 0.47's historical retrieval computes user_age only
        # from features it was asked for (online retrieval fetches them by itself).
        user_profile[["location_code", "birth_ts"]],
        user_activity[["events_7d", "events_30d", "purchases_30d"]],
    ],
    description="What the purchase-within-7-days model reads",
)
