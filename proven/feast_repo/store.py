"""`feast apply`, materialisation and the in-process SDK on a written repository.

`apply_repository` runs the real `feast apply` CLI as a supervised subprocess; a
repository Feast rejects raises FeatureRepoError carrying Feast's error and naming the
definitions file. The rest uses `feast.FeatureStore` in this process.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infragap.errors import InfragapError, MissingDependency
from infragap.processes import Supervisor
from infragap.proven.feast_repo import names
from infragap.proven.feast_repo.repository import FeatureRepo

if TYPE_CHECKING:
    import pandas as pd
    from feast import FeatureStore

APPLY_TIMEOUT_S = 300.0
# Feast's file offline store materialises rows stamped in [start, end): a snapshot taken
# exactly at `end` would be left out, while get_historical_features at `end` includes
# it. Materialising "as of t" therefore runs to t plus this.
MATERIALIZE_END_SLACK_S = 1.0


class FeatureRepoError(InfragapError):
    """Feast rejected the feature repository; the message carries Feast's error."""


def feast_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for Feast processes: usage reporting off (there is no network)."""
    env = dict(os.environ if base is None else base)
    env["FEAST_USAGE"] = "False"
    return env


def require_feast() -> None:
    try:
        import feast  # noqa: F401
    except ImportError:
        raise MissingDependency("Feast (the features pair's proven side)", "features") from None


def feast_cli(repo: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "feast.cli", "--chdir", str(repo), *args]


_TRACEBACK_FILE = re.compile(r'File "([^"]+)", line (\d+)')


def explain_apply_failure(log: str, repo: FeatureRepo) -> str:
    """Pure: Feast's error (the log's last line) and where in the repository it points."""
    lines = [line.rstrip() for line in log.splitlines() if line.strip()]
    error = lines[-1].strip() if lines else "no output"
    where = str(repo.definitions)
    root = str(repo.path.resolve())
    for path, line in reversed(_TRACEBACK_FILE.findall(log)):
        if str(Path(path).resolve()).startswith(root):
            where = f"{path}, line {line}"
            break
    return (
        f"`feast apply` rejected the feature repository {repo.path}: {error} "
        f"(in {where}); fix the definitions and apply again"
    )


def apply_repository(
    supervisor: Supervisor, repo: FeatureRepo, timeout_s: float = APPLY_TIMEOUT_S
) -> float:
    """Run `feast apply` in the repository; return its wall time in seconds."""
    require_feast()
    started = time.perf_counter()
    child = supervisor.start("feast-apply", feast_cli(repo.path, "apply"), env=feast_env())
    try:
        code = child.popen.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise FeatureRepoError(
            f"`feast apply` did not finish in {timeout_s:.0f} s; its log "
            f"({child.log_path}) ends with:\n{child.log_tail()}"
        ) from None
    finally:
        supervisor.stop(child)
    if code != 0:
        raise FeatureRepoError(explain_apply_failure(child.log_tail(limit=20_000), repo))
    return time.perf_counter() - started


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Feast prints progress bars and notes; the harness has its own console."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def open_store(repo: FeatureRepo) -> FeatureStore:
    require_feast()
    os.environ["FEAST_USAGE"] = "False"
    from feast import FeatureStore

    return FeatureStore(repo_path=str(repo.path))


def materialize(store: FeatureStore, repo: FeatureRepo, as_of: pd.Timestamp) -> float:
    """Fill the online store with every view's latest row at or before `as_of`; seconds."""
    import pandas as pd

    started = time.perf_counter()
    end = as_of + pd.Timedelta(seconds=MATERIALIZE_END_SLACK_S)
    with _quiet():
        store.materialize(start_date=repo.earliest.to_pydatetime(), end_date=end.to_pydatetime())
    return time.perf_counter() - started


def entity_frame(
    user_ids: Sequence[int], times: pd.Series | Sequence[pd.Timestamp]
) -> pd.DataFrame:
    """The entity rows Feast's historical retrieval takes: id, time and request time."""
    import pandas as pd

    from infragap.workloads.ecommerce import epoch_seconds

    stamps = pd.Series(pd.to_datetime(list(times), utc=True))
    return pd.DataFrame(
        {
            names.ENTITY_KEY: list(user_ids),
            "event_timestamp": stamps,
            names.REQUEST_TIME: epoch_seconds(stamps),
        }
    )


def service_refs(store: FeatureStore) -> list[str]:
    """The feature service's features as "view:feature" references."""
    service = store.get_feature_service(names.FEATURE_SERVICE)
    return [
        f"{projection.name_to_use()}:{feature.name}"
        for projection in service.feature_view_projections
        for feature in projection.features
    ]


def historical_features(
    store: FeatureStore, entities: pd.DataFrame, with_as_of: bool = False
) -> pd.DataFrame:
    """Point-in-time correct features for `entities` (see entity_frame), in their order.

    Reads the model's feature service, as serving does; `with_as_of` adds the activity
    snapshot's time (`as_of_ts`) for auditing, through the service's references.
    """
    features: Any = store.get_feature_service(names.FEATURE_SERVICE)
    if with_as_of:
        features = [*service_refs(store), names.AS_OF_REF]
    rows = entities.reset_index(drop=True).copy()
    rows["_row"] = range(len(rows))
    with _quiet():
        found = store.get_historical_features(entity_df=rows, features=features).to_df()
    found = found.sort_values("_row").set_index("_row")
    if len(found) != len(rows):
        raise FeatureRepoError(
            f"historical retrieval returned {len(found)} rows for {len(rows)} entity rows: "
            "an entity row has no feature row at or before its time"
        )
    return found.reset_index(drop=True)


def typechecks(enabled: bool) -> contextlib.AbstractContextManager[Any]:
    """typeguard's checks on Feast's objects as installed, or suppressed (see tuning.py)."""
    if enabled:
        return contextlib.nullcontext()
    from typeguard import suppress_type_checks  # Feast depends on typeguard

    return suppress_type_checks()


def online_features(
    store: FeatureStore, user_ids: Sequence[int], request_ts: int, checks: bool = True
) -> dict[str, list[Any]]:
    """The feature service's values for `user_ids`, from the online store, columnar.

    As `feast serve` does: the feature service comes from the registry cache. `checks`
    False runs the lookup without typeguard's checks (tuning.FeastTuning.typechecks).
    """
    with typechecks(checks):
        service = store.get_feature_service(names.FEATURE_SERVICE, allow_cache=True)
        response = store.get_online_features(
            features=service,
            entity_rows=[
                {names.ENTITY_KEY: uid, names.REQUEST_TIME: request_ts} for uid in user_ids
            ],
        )
        return response.to_dict()
