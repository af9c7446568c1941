"""The two HTTP endpoints of the features pair: how each starts and how to ask it.

Variant names are used everywhere (CLI, results, report): `naive` (the Flask endpoint
recomputing from the raw files) and `feast` (`feast serve`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from infragap.errors import EquivalenceError
from infragap.loadtests.targets.features import (
    FEAST_TARGET,
    NAIVE_TARGET,
    PATHS,
    feast_body,
    naive_body,
)
from infragap.ports import LOOPBACK, choose_port
from infragap.processes import Supervisor, http_ok, wait_until
from infragap.suites.endpoint import Endpoint

if TYPE_CHECKING:
    import pandas as pd

    from infragap.proven.feast_repo.repository import FeatureRepo
    from infragap.proven.feast_repo.tuning import FeastTuning

NAIVE = "naive"
FEAST = "feast"
FLASK_START_TIMEOUT_S = 60.0
HTTP_TIMEOUT_S = 60.0
BATCH = 50


def start_naive(
    supervisor: Supervisor, raw_folder: Path, as_of: pd.Timestamp, port: int | None
) -> Endpoint:
    port = choose_port(port, "--naive-features-port")
    argv = [sys.executable, "-m", "infragap.naive.features_serving", "--data", str(raw_folder)]
    argv += ["--port", str(port), "--now", as_of.isoformat()]
    child = supervisor.start("naive-features", argv)
    url = f"http://{LOOPBACK}:{port}"
    wait_until(http_ok(f"{url}/health"), child, FLASK_START_TIMEOUT_S, "the naive feature app")
    return Endpoint(NAIVE, NAIVE_TARGET, url, child.process_tree)


def start_feast(
    supervisor: Supervisor, repo: FeatureRepo, port: int | None, tuning: FeastTuning
) -> Endpoint:
    from infragap.proven.feast_repo import names
    from infragap.proven.feast_repo.server import start_feature_server

    server = start_feature_server(supervisor, repo, port=port, tuning=tuning)
    return Endpoint(
        FEAST, FEAST_TARGET, server.url, server.child.process_tree, names.FEATURE_SERVICE
    )


def _post(session: requests.Session, endpoint: Endpoint, body: dict[str, Any]) -> Any:
    response = session.post(
        f"{endpoint.url}{PATHS[endpoint.target]}", json=body, timeout=HTTP_TIMEOUT_S
    )
    if response.status_code != 200:
        raise EquivalenceError(
            f"{endpoint.name} answered HTTP {response.status_code} to a valid request: "
            f"{response.text[:300]}"
        )
    return response.json()


def feast_columns(body: dict[str, Any]) -> dict[str, list[Any]]:
    """Pure: Feast's /get-online-features answer as {feature name: values}."""
    names = body["metadata"]["feature_names"]
    return {
        name: list(result.get("values") or [])
        for name, result in zip(names, body["results"], strict=True)
    }


def ask(
    endpoint: Endpoint, user_ids: Sequence[int], request_ts: int, batch: int = BATCH
) -> pd.DataFrame:
    """The endpoint's features for `user_ids` (batched requests), one row per id, in order."""
    import pandas as pd

    frames = []
    with requests.Session() as session:
        for i in range(0, len(user_ids), batch):
            ids = [int(u) for u in user_ids[i : i + batch]]
            if endpoint.target == NAIVE_TARGET:
                rows = _post(session, endpoint, naive_body(ids))["rows"]
                frames.append(pd.DataFrame(rows))
            else:
                body = feast_body(ids, request_ts, endpoint.target_option)
                frames.append(pd.DataFrame(feast_columns(_post(session, endpoint, body))))
    return pd.concat(frames, ignore_index=True)
