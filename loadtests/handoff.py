"""What the runner hands to the Locust process: the request file and a few environment variables.

The Locust process imports this module (never the runner), so it stays free of psutil,
subprocesses and anything else the harness needs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from infragap.errors import LoadError
from infragap.workloads.ranking_requests import RankingRequest

REQUESTS_FILE_VERSION = 1

TARGETS = ("flask", "kserve", "naive-features", "feast-features")

ENV_TARGET = "INFRAGAP_LOAD_TARGET"
ENV_REQUESTS = "INFRAGAP_LOAD_REQUESTS"
ENV_LATENCY_LOG = "INFRAGAP_LOAD_LATENCY_LOG"
ENV_MODEL = "INFRAGAP_LOAD_MODEL"
ENV_USERS = "INFRAGAP_LOAD_USERS"
ENV_TIMEOUT = "INFRAGAP_LOAD_REQUEST_TIMEOUT_S"


def write_requests_file(requests: list[RankingRequest], path: Path) -> None:
    """Save the seeded request stream for the Locust process (plain fields, not a wire format)."""
    if not requests:
        raise LoadError("the request list is empty: generate at least one request")
    payload = {"version": REQUESTS_FILE_VERSION, "requests": [asdict(r) for r in requests]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload), encoding="utf-8")


def read_requests_file(path: Path) -> list[RankingRequest]:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LoadError(
            f"cannot read the request file {path}: {exc}; write it with write_requests_file"
        ) from exc
    if payload.get("version") != REQUESTS_FILE_VERSION or not payload.get("requests"):
        raise LoadError(
            f"{path} is not a version-{REQUESTS_FILE_VERSION} request file with requests in it: "
            "write it again with write_requests_file"
        )
    return [RankingRequest(**fields) for fields in payload["requests"]]


@dataclass(frozen=True)
class LocustSettings:
    """Everything the locustfile needs besides Locust's own command-line options."""

    target: str
    requests_file: Path
    latency_log: Path
    model_name: str
    users: int
    request_timeout_s: float

    def to_env(self) -> dict[str, str]:
        return {
            ENV_TARGET: self.target,
            ENV_REQUESTS: str(self.requests_file),
            ENV_LATENCY_LOG: str(self.latency_log),
            ENV_MODEL: self.model_name,
            ENV_USERS: str(self.users),
            ENV_TIMEOUT: repr(self.request_timeout_s),
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> LocustSettings:
        target = environ.get(ENV_TARGET, "")
        if target not in TARGETS:
            raise LoadError(
                f"{ENV_TARGET}={target!r} names no load target: use one of {', '.join(TARGETS)} "
                "(run_level sets it)"
            )
        try:
            return cls(
                target=target,
                requests_file=Path(environ[ENV_REQUESTS]),
                latency_log=Path(environ[ENV_LATENCY_LOG]),
                model_name=environ[ENV_MODEL],
                users=int(environ[ENV_USERS]),
                request_timeout_s=float(environ[ENV_TIMEOUT]),
            )
        except (KeyError, ValueError) as exc:
            raise LoadError(
                f"the locustfile is missing its settings ({exc}): start it through "
                "infragap.loadtests.runner.run_level, which sets the INFRAGAP_LOAD_* variables"
            ) from exc
