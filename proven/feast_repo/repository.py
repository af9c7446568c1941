"""Write a Feast feature repository: feature_store.yaml, the definitions, the tables.

Layout of the folder it writes::

    feature_store.yaml     local provider, file offline store, SQLite (or Redis) online store
    features.py            a copy of definitions.py
    data/user_profile.parquet, data/user_activity.parquet
    data/registry.db       written by `feast apply`
    data/online_store.db   written by materialisation (SQLite online store only)
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from infragap.errors import ConfigError
from infragap.proven.feast_repo import names

if TYPE_CHECKING:
    import pandas as pd

    from infragap.workloads.ecommerce import EcommerceData

DEFINITIONS_SOURCE = Path(__file__).with_name("definitions.py")
ONLINE_STORES = ("sqlite", "redis")


@dataclass(frozen=True)
class FeatureRepo:
    """A written repository: its folder and what materialisation must cover."""

    path: Path
    online_store: str
    earliest: pd.Timestamp  # the oldest feature row's timestamp

    @property
    def data(self) -> Path:
        return self.path / "data"

    @property
    def definitions(self) -> Path:
        return self.path / names.DEFINITIONS_FILE

    @property
    def config_file(self) -> Path:
        return self.path / "feature_store.yaml"


def feature_store_yaml(online_store: str = "sqlite", redis_address: str | None = None) -> str:
    """The repository's configuration; relative paths are under the repository."""
    if online_store == "sqlite":
        online = "online_store:\n  type: sqlite\n  path: data/online_store.db\n"
    elif online_store == "redis":
        if not redis_address:
            raise ConfigError("the Redis online store needs the server's host:port")
        online = f'online_store:\n  type: redis\n  connection_string: "{redis_address}"\n'
    else:
        raise ConfigError(
            f"unknown online store {online_store!r}: choose one of {', '.join(ONLINE_STORES)}"
        )
    return (
        f"project: {names.PROJECT}\n"
        "provider: local\n"
        "registry: data/registry.db\n"
        f"{online}"
        "offline_store:\n  type: file\n"
        "entity_key_serialization_version: 3\n"
    )


def write_repository(
    folder: Path,
    data: EcommerceData,
    online_store: str = "sqlite",
    redis_address: str | None = None,
) -> FeatureRepo:
    """Run the batch pipeline over `data` and write the repository into `folder`."""
    from infragap.proven.feast_repo.tables import activity_table, profile_table

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    (folder / "feature_store.yaml").write_text(
        feature_store_yaml(online_store, redis_address), encoding="utf-8"
    )
    shutil.copyfile(DEFINITIONS_SOURCE, folder / names.DEFINITIONS_FILE)
    profile = profile_table(data.users)
    activity = activity_table(data.users, data.events, data.start, data.end)
    profile.to_parquet(folder / "data" / names.PROFILE_FILE, index=False)
    activity.to_parquet(folder / "data" / names.ACTIVITY_FILE, index=False)
    earliest = min(profile["event_timestamp"].min(), activity["event_timestamp"].min())
    return FeatureRepo(folder, online_store, earliest)
