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
ENV_ARRIVAL = "INFRAGAP_LOAD_ARRIVAL"
ENV_RATE = "INFRAGAP_LOAD_RATE"
ENV_SEED = "INFRAGAP_LOAD_SEED"
ENV_STOP_FILE = "INFRAGAP_LOAD_STOP_FILE"
ENV_WORKERS = "INFRAGAP_LOAD_WORKERS"
CLOSED = "closed"


@dataclass(frozen=True)
class LocustSettings:
    """Everything the locustfile needs besides Locust's own command-line options.

    `target_option` is what the target needs to know of the endpoint (Triton's model
    name, Feast's feature service); empty when it needs nothing. `arrival` is "closed"
    (each of `users` sends again as soon as it has its answer) or an open-loop schedule
    ("constant" / "poisson" at `rate_per_s`, seeded, `users` connections). The run
    stops early once `stop_file` exists (the runner writes it when the level settled).
    With `workers` above 1, Locust runs as a master and that many workers, which split
    the users and the schedule between them and send their latencies to the master.
    """

    target: str
    requests_file: Path
    latency_log: Path
    target_option: str
    users: int
    request_timeout_s: float
    arrival: str = CLOSED
    rate_per_s: float = 0.0
    seed: int = 0
    stop_file: Path | None = None
    workers: int = 1

    @property
    def open_loop(self) -> bool:
        return self.arrival != CLOSED

    def to_env(self) -> dict[str, str]:
        return {
            ENV_TARGET: self.target,
            ENV_REQUESTS: str(self.requests_file),
            ENV_LATENCY_LOG: str(self.latency_log),
            ENV_OPTION: self.target_option,
            ENV_USERS: str(self.users),
            ENV_TIMEOUT: repr(self.request_timeout_s),
            ENV_ARRIVAL: self.arrival,
            ENV_RATE: repr(self.rate_per_s),
            ENV_SEED: str(self.seed),
            ENV_STOP_FILE: str(self.stop_file or ""),
            ENV_WORKERS: str(self.workers),
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
                arrival=environ.get(ENV_ARRIVAL, CLOSED),
                rate_per_s=float(environ.get(ENV_RATE, "0")),
                seed=int(environ.get(ENV_SEED, "0")),
                stop_file=Path(environ[ENV_STOP_FILE]) if environ.get(ENV_STOP_FILE) else None,
                workers=int(environ.get(ENV_WORKERS, "1")),
            )
        except (KeyError, ValueError) as exc:
            raise LoadError(
                f"the locustfile is missing its settings ({exc}): start it through "
                "infragap.loadtests.runner.run_level, which sets the INFRAGAP_LOAD_* variables"
            ) from exc
