"""`feast serve` (the HTTP feature server) and redis-server, started under a Supervisor.

Both bind to 127.0.0.1 on a free port (or the one asked for) and are stopped with the
rest of the Supervisor's children. `feast serve` runs gunicorn with uvicorn workers,
set up as tuning.FeastTuning says; its Prometheus option (`--metrics`) is left off, as
it binds port 8000 on every interface.
"""

from __future__ import annotations

import shutil
import socket
from dataclasses import dataclass

from infragap.errors import ConfigError, MissingDependency
from infragap.ports import LOOPBACK, choose_port
from infragap.processes import Child, Supervisor, http_ok, wait_until
from infragap.proven.feast_repo.repository import FeatureRepo
from infragap.proven.feast_repo.store import feast_cli, feast_env, require_feast
from infragap.proven.feast_repo.tuning import FeastTuning

SERVE_START_TIMEOUT_S = 120.0
REDIS_START_TIMEOUT_S = 20.0
REDIS_PACKAGE = "redis-server"


@dataclass(frozen=True)
class FeatureServer:
    url: str
    child: Child

    @property
    def online_url(self) -> str:
        return f"{self.url}/get-online-features"


def serve_argv(repo: FeatureRepo, port: int, tuning: FeastTuning) -> list[str]:
    return feast_cli(
        repo.path,
        "serve",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--workers",
        str(tuning.workers),
        "--registry_ttl_sec",
        str(tuning.serve_registry_ttl_s),
        "--keep-alive-timeout",
        str(tuning.serve_keep_alive_s),
        "--no-access-log",
    )


def serve_env(tuning: FeastTuning) -> dict[str, str]:
    """feast_env(), plus PYTHONOPTIMIZE=1 when typeguard's checks are off (see tuning)."""
    env = feast_env()
    if tuning.typechecks:
        env.pop("PYTHONOPTIMIZE", None)
    else:
        env["PYTHONOPTIMIZE"] = "1"
    return env


def start_feature_server(
    supervisor: Supervisor,
    repo: FeatureRepo,
    port: int | None = None,
    tuning: FeastTuning | None = None,
    timeout_s: float = SERVE_START_TIMEOUT_S,
) -> FeatureServer:
    """Start `feast serve` on the applied repository; return once /health answers 200."""
    require_feast()
    tuning = tuning or FeastTuning()
    port = choose_port(port, "--feast-port")
    argv = serve_argv(repo, port, tuning)
    child = supervisor.start("feast-serve", argv, env=serve_env(tuning))
    url = f"http://{LOOPBACK}:{port}"
    wait_until(http_ok(f"{url}/health"), child, timeout_s, "the Feast feature server")
    return FeatureServer(url, child)


@dataclass(frozen=True)
class RedisServer:
    address: str  # host:port, as Feast's connection_string takes it
    child: Child


def redis_ping(host: str, port: int, timeout_s: float = 1.0) -> bool:
    """A readiness probe that needs no client library: PING answers +PONG."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def check_redis_available() -> str:
    """The redis-server binary's path; a clear error when it or the client is missing."""
    binary = shutil.which(REDIS_PACKAGE)
    if binary is None:
        raise ConfigError(
            f"--online-store redis needs redis-server, which is not installed: install "
            f"Debian's package (`sudo apt-get install {REDIS_PACKAGE}`) or use "
            "--online-store sqlite"
        )
    try:
        import redis  # noqa: F401
    except ImportError:
        raise MissingDependency(
            "the Redis client that Feast's Redis online store uses (`redis`)", "redis"
        ) from None
    return binary


def start_redis(supervisor: Supervisor, work_dir: str, port: int | None = None) -> RedisServer:
    """A throwaway redis-server on loopback: no persistence, protected mode on."""
    binary = check_redis_available()
    port = choose_port(port, "--redis-port")
    argv = [binary, "--bind", LOOPBACK, "--port", str(port), "--protected-mode", "yes"]
    argv += ["--save", "", "--appendonly", "no", "--dir", work_dir]
    child = supervisor.start("redis-server", argv)
    wait_until(lambda: redis_ping(LOOPBACK, port), child, REDIS_START_TIMEOUT_S, "redis-server")
    return RedisServer(f"{LOOPBACK}:{port}", child)
