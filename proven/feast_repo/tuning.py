"""How the proven side runs Feast's online path, and where each setting comes from.

Feast's "Online Server Performance Tuning" guide (docs.feast.dev, how-to-guides/
online-server-performance-tuning) recommends, as far as Feast 0.47 has the knob:

- on-demand views in `mode="python"`: 3-10x faster online than `mode="pandas"`. Not
  `singleton=True`: Feast 0.47 then hands the view only each input's first value, which
  is wrong for a request of several users. Not `write_to_online_store=True`: the age
  bucket depends on the request's time, so it cannot be computed at materialisation.
- `feast serve --registry_ttl_sec 300` (0.47's default, 5, re-reads the registry every
  5 s in the server) and `--keep-alive-timeout 30` (0.47's default is 5 s).
- the SDK's registry cache (`cache_ttl_seconds`, Feast's default 600 s, written into
  feature_store.yaml); 0.47 has no background refresh (`cache_mode: thread`).

One setting comes from typeguard, not Feast: Feast 0.47 rebuilds its feature view
objects from the registry's protobufs on every online request, and their constructors
are wrapped in typeguard's `@typechecked`, which checks every argument each time (a
single-user SDK lookup on the default data, python-mode user_age, measured here: 6.8 ms
with the checks, 2.7 ms under suppress_type_checks, 1.7 ms under -O). typeguard makes
the decorator a no-op under `python -O` (PYTHONOPTIMIZE), and `suppress_type_checks()`
skips the checks inside a running process. `typechecks=False` runs `feast serve` with
PYTHONOPTIMIZE=1 and the harness's SDK lookups under suppress_type_checks(). Feast 0.48
caches those objects (feast-dev/feast#5175); it pins pydantic 2.10.6 where Airflow 3.3
needs 2.11 or later, so infragap stays on 0.47.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from infragap.errors import ConfigError

ODFV_MODES = ("python", "pandas")
SERVE_REGISTRY_TTL_S = 300
SERVE_KEEP_ALIVE_S = 30
SDK_REGISTRY_CACHE_TTL_S = 600


@dataclass(frozen=True)
class FeastTuning:
    """The online path's settings (module docstring: why each has its value)."""

    odfv_mode: str = "python"
    typechecks: bool = False
    workers: int = 1
    serve_registry_ttl_s: int = SERVE_REGISTRY_TTL_S
    serve_keep_alive_s: int = SERVE_KEEP_ALIVE_S
    sdk_registry_cache_ttl_s: int = SDK_REGISTRY_CACHE_TTL_S

    def __post_init__(self) -> None:
        if self.odfv_mode not in ODFV_MODES:
            raise ConfigError(
                f"unknown on-demand view mode {self.odfv_mode!r}: "
                f"choose one of {', '.join(ODFV_MODES)}"
            )
        if self.workers < 1:
            raise ConfigError("--feast-workers must be at least 1")

    def record(self) -> dict[str, Any]:
        """The settings as the results file keeps them (FeastTuning(**record) rebuilds)."""
        return asdict(self)
