"""Write a Feast feature repository: feature_store.yaml, the definitions, the tables.

Layout of the folder it writes::

    feature_store.yaml     local provider, file offline store, SQLite (or Redis) online store
    features.py            a copy of definitions.py (with user_age's mode set)
    data/user_profile.parquet, data/user_activity.parquet
    data/registry.db       written by `feast apply`
    data/online_store.db   written by materialisation (SQLite online store only)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from infragap.errors import ConfigError
from infragap.proven.feast_repo import names
from infragap.proven.feast_repo.tuning import ODFV_MODES, SDK_REGISTRY_CACHE_TTL_S

if TYPE_CHECKING:
    import pandas as pd

    from infragap.workloads.ecommerce import EcommerceData

DEFINITIONS_SOURCE = Path(__file__).with_name("definitions.py")
ONLINE_STORES = ("sqlite", "redis")
# definitions.py's line that sets how user_age runs (see tuning.py).
_MODE_LINE = re.compile(r'^USER_AGE_MODE = "(\w+)"$', re.MULTILINE)


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
        f"registry:\n  path: data/registry.db\n  cache_ttl_seconds: {SDK_REGISTRY_CACHE_TTL_S}\n"
        f"{online}"
        "offline_store:\n  type: file\n"
        "entity_key_serialization_version: 3\n"
    )


def definitions_source(odfv_mode: str = "python") -> str:
    """definitions.py's text with user_age set to run in `odfv_mode`."""
    if odfv_mode not in ODFV_MODES:
        raise ConfigError(
            f"unknown on-demand view mode {odfv_mode!r}: choose one of {', '.join(ODFV_MODES)}"
        )
    text = DEFINITIONS_SOURCE.read_text(encoding="utf-8")
    text, count = _MODE_LINE.subn(f'USER_AGE_MODE = "{odfv_mode}"', text)
    if count != 1:
        raise ConfigError(
            f"{DEFINITIONS_SOURCE} must set USER_AGE_MODE on exactly one line "
            f'(found {count}): restore the line `USER_AGE_MODE = "python"`'
        )
    return text


def write_repository(
    folder: Path,
    data: EcommerceData,
    online_store: str = "sqlite",
    redis_address: str | None = None,
    odfv_mode: str = "python",
) -> FeatureRepo:
    """Run the batch pipeline over `data` and write the repository into `folder`."""
    from infragap.proven.feast_repo.tables import activity_table, profile_table

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    (folder / "feature_store.yaml").write_text(
        feature_store_yaml(online_store, redis_address), encoding="utf-8"
    )
    (folder / names.DEFINITIONS_FILE).write_text(definitions_source(odfv_mode), encoding="utf-8")
    profile = profile_table(data.users)
    activity = activity_table(data.users, data.events, data.start, data.end)
    profile.to_parquet(folder / "data" / names.PROFILE_FILE, index=False)
    activity.to_parquet(folder / "data" / names.ACTIVITY_FILE, index=False)
    earliest = min(profile["event_timestamp"].min(), activity["event_timestamp"].min())
    return FeatureRepo(folder, online_store, earliest)
