"""What the runner hands to the Locust process: a few environment variables.

The Locust process imports this module (never the runner), so it stays free of psutil,
subprocesses and anything else the harness needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from infragap.errors import LoadError
from infragap.loadtests.target import load_targets

ENV_TARGET = "INFRAGAP_LOAD_TARGET"
ENV_REQUESTS = "INFRAGAP_LOAD_REQUESTS"
ENV_LATENCY_LOG = "INFRAGAP_LOAD_LATENCY_LOG"
ENV_OPTION = "INFRAGAP_LOAD_TARGET_OPTION"
ENV_USERS = "INFRAGAP_LOAD_USERS"
ENV_TIMEOUT = "INFRAGAP_LOAD_REQUEST_TIMEOUT_S"


@dataclass(frozen=True)
class LocustSettings:
    """Everything the locustfile needs besides Locust's own command-line options.

    `target_option` is what the target needs to know of the endpoint (Triton's model
    name, Feast's feature service); empty when it needs nothing.
    """

    target: str
    requests_file: Path
    latency_log: Path
    target_option: str
    users: int
    request_timeout_s: float

    def to_env(self) -> dict[str, str]:
        return {
            ENV_TARGET: self.target,
            ENV_REQUESTS: str(self.requests_file),
            ENV_LATENCY_LOG: str(self.latency_log),
            ENV_OPTION: self.target_option,
            ENV_USERS: str(self.users),
            ENV_TIMEOUT: repr(self.request_timeout_s),
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> LocustSettings:
        target = environ.get(ENV_TARGET, "")
        known = load_targets()
        if target not in known:
            raise LoadError(
                f"{ENV_TARGET}={target!r} names no load target: use one of "
                f"{', '.join(known.names())} (run_level sets it)"
            )
        try:
            return cls(
                target=target,
                requests_file=Path(environ[ENV_REQUESTS]),
                latency_log=Path(environ[ENV_LATENCY_LOG]),
                target_option=environ[ENV_OPTION],
                users=int(environ[ENV_USERS]),
                request_timeout_s=float(environ[ENV_TIMEOUT]),
            )
        except (KeyError, ValueError) as exc:
            raise LoadError(
                f"the locustfile is missing its settings ({exc}): start it through "
                "infragap.loadtests.runner.run_level, which sets the INFRAGAP_LOAD_* variables"
            ) from exc
