"""Start the bundled tritonserver on a model repository, or connect to a running Triton.

`start_triton` runs the binary from nvidia-pytriton under a `Supervisor`, with HTTP, gRPC
and metrics bound to 127.0.0.1, and returns once the server and the model are ready.
`connect_triton` wraps a Triton that someone else runs (for example NVIDIA's image on a
GPU host with the repository from `libtorch_repository_path`); infragap never stops it.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import sys
import sysconfig
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests

from infragap.errors import ConfigError, ServerStartError
from infragap.ports import LOOPBACK, choose_port
from infragap.processes import Child, Supervisor, http_ok, wait_until
from infragap.proven.triton.backend import (
    TritonDistribution,
    find_distribution,
    prepare_backend_directory,
)
from infragap.workloads.model_sizes import INPUT_NAMES, OUTPUT_NAME

CHILD_NAME = "tritonserver"
EXIT_TIMEOUT_S = 3
DEFAULT_METRICS_PORT = 8002  # Triton's own default, used to derive an external metrics URL


@dataclass(frozen=True)
class TritonServer:
    """A ready Triton serving `model_name`; `child` is None when infragap did not start it."""

    http_url: str
    grpc_url: str | None
    metrics_url: str | None
    model_name: str
    child: Child | None = None

    @property
    def infer_url(self) -> str:
        """Where KServe v2 inference requests for the model go (POST JSON)."""
        return f"{self.http_url}/v2/models/{self.model_name}/infer"


def start_triton(
    supervisor: Supervisor,
    repository: Path,
    *,
    model_name: str | None = None,
    http_port: int | None = None,
    grpc_port: int | None = None,
    metrics_port: int | None = None,
    start_timeout_s: float = 180.0,
    log_verbose: bool = False,
    backend_dir: Path | None = None,
) -> TritonServer:
    """Start tritonserver on `repository` and wait until `model_name` is ready.

    `model_name` defaults to the repository's only model. Ports default to free ones;
    a busy requested port raises PortBusy naming its option (--triton-http-port, ...).
    A server that exits or is not ready in time raises ServerStartError with its log tail
    and the errors Triton logged.
    """
    model_name = model_name or single_model_name(repository)
    dist = find_distribution()
    check_stub_numpy()
    ports = {
        "http": choose_port(http_port, "--triton-http-port"),
        "grpc": choose_port(grpc_port, "--triton-grpc-port"),
        "metrics": choose_port(metrics_port, "--triton-metrics-port"),
    }
    argv = triton_argv(
        dist.server_binary,
        repository.resolve(),
        prepare_backend_directory(backend_dir, dist),
        ports,
        log_verbose=log_verbose,
    )
    child = supervisor.start(CHILD_NAME, argv, env=triton_env(os.environ, dist))
    server = TritonServer(
        http_url=f"http://{LOOPBACK}:{ports['http']}",
        grpc_url=f"{LOOPBACK}:{ports['grpc']}",
        metrics_url=f"http://{LOOPBACK}:{ports['metrics']}/metrics",
        model_name=model_name,
        child=child,
    )
    try:
        _wait_ready(server, child, start_timeout_s)
    except ServerStartError as exc:
        # The log tail is mostly Triton's option table; its error lines say what failed.
        errors = triton_log_errors(child.log_tail(limit=1 << 20))
        if not errors:
            raise
        raise ServerStartError(
            f"{exc}\n\nTriton logged these errors:\n" + "\n".join(errors)
        ) from None
    return server


def _wait_ready(server: TritonServer, child: Child, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    wait_until(
        http_ok(f"{server.http_url}/v2/models/{server.model_name}/ready"),
        child,
        timeout_s,
        f"tritonserver (model {server.model_name!r})",
    )
    wait_until(
        http_ok(f"{server.http_url}/v2/health/ready"),
        child,
        max(deadline - time.monotonic(), 1.0),
        "tritonserver",
    )
    # Triton starts its metrics service after HTTP: a scrape right after readiness could
    # find the port closed (seen on a loaded 2-core machine).
    if server.metrics_url:
        wait_until(
            http_ok(server.metrics_url),
            child,
            max(deadline - time.monotonic(), 1.0),
            "tritonserver's metrics",
        )


# Triton logs errors as `E<MMDD> <time> <pid> <file>:<line>] "<message>"`. On a host
# without a GPU it always logs the CUDA helper one, which explains nothing.
_ERROR_LINE = re.compile(r'^E\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] "?(.*?)"?$')
_NOISE = ("CudaDriverHelper has not been initialized",)


def triton_log_errors(log: str, limit: int = 5) -> list[str]:
    """The messages of Triton's error lines in `log`, known noise left out, last `limit`."""
    messages = []
    for line in log.splitlines():
        match = _ERROR_LINE.match(line)
        if match and not any(noise in match.group(1) for noise in _NOISE):
            messages.append(match.group(1).replace("\\n", "\n"))
    return messages[-limit:]


def triton_argv(
    binary: Path,
    repository: Path,
    backend_dir: Path,
    ports: Mapping[str, int],
    *,
    log_verbose: bool = False,
) -> list[str]:
    """The tritonserver command line: every endpoint on loopback, fail fast on bad models."""
    return [
        str(binary),
        f"--model-repository={repository}",
        f"--backend-directory={backend_dir}",
        f"--http-address={LOOPBACK}",
        f"--http-port={ports['http']}",
        f"--grpc-address={LOOPBACK}",
        f"--grpc-port={ports['grpc']}",
        f"--metrics-address={LOOPBACK}",
        f"--metrics-port={ports['metrics']}",
        # A model that fails to load must stop the server, so start-up fails with its log.
        "--exit-on-error=true",
        "--strict-readiness=true",
        # Triton waits this long for open (keep-alive) connections on SIGTERM; keep it well
        # under the Supervisor's grace so the server and its stubs exit on their own.
        f"--exit-timeout-secs={EXIT_TIMEOUT_S}",
        f"--log-verbose={1 if log_verbose else 0}",
    ]


def triton_env(base: Mapping[str, str], dist: TritonDistribution) -> dict[str, str]:
    """The server's environment, which its Python-backend stubs inherit.

    The stub links libpython3.X.so: this interpreter's LIBDIR goes first on
    LD_LIBRARY_PATH, or the stub may load the system libpython and fail (with
    `'_thread.RLock' object has no attribute '_recursion_count'`); the wheel's vendored
    libraries come next.

    The stub's embedded interpreter ignores PYTHONPATH (nvidia-pytriton 0.7.0, checked):
    it finds its environment by looking up `python3` on PATH and reading that
    interpreter's pyvenv.cfg. So this interpreter's bin folder goes first on PATH;
    without it the model fails to load with `No module named 'numpy'`. The site-packages
    also go on PYTHONPATH, for stub builds that do honour it.
    """
    env = dict(base)
    libdir = sysconfig.get_config_var("LIBDIR")
    env["LD_LIBRARY_PATH"] = _join_paths(
        [libdir] if libdir else [], [str(dist.libs_dir)], env.get("LD_LIBRARY_PATH")
    )
    env["PATH"] = _join_paths([str(Path(sys.executable).parent)], [], env.get("PATH"))
    paths = sysconfig.get_paths()
    env["PYTHONPATH"] = _join_paths(
        _split(env.get("PYTHONPATH")), [paths["purelib"], paths["platlib"]], None
    )
    return env


def check_stub_numpy(version: str | None = None) -> None:
    """Refuse numpy 2 in this environment, which the stub would import.

    nvidia-pytriton's stubs read numpy arrays through the numpy 1.x layout: with numpy 2
    every answer fails with `output tensor shape does not match size of output` (seen
    with 0.7.0 on CPU and GPU instances), so fail before starting instead.
    """
    version = version or importlib.metadata.version("numpy")
    if int(version.split(".")[0]) >= 2:
        raise ConfigError(
            f"numpy {version} is installed in this environment, and Triton's Python-backend "
            "stub can only read numpy 1.x arrays (every inference would fail): run "
            "`pip install 'numpy<2'`, or serve from an environment that has it"
        )


def _split(paths: str | None) -> list[str]:
    return paths.split(os.pathsep) if paths else []


def _join_paths(first: list[str], then: list[str], existing: str | None) -> str:
    parts: list[str] = []
    for part in [*first, *then, *_split(existing)]:
        if part and part not in parts:
            parts.append(part)
    return os.pathsep.join(parts)


def single_model_name(repository: Path) -> str:
    """The name of the one model in `repository` (a folder holding config.pbtxt)."""
    names = sorted(p.parent.name for p in repository.glob("*/config.pbtxt"))
    if len(names) != 1:
        found = ", ".join(names) or "none"
        raise ConfigError(
            f"model repository {repository} holds {len(names)} models ({found}): "
            "pass model_name, or write it with write_model_repository"
        )
    return names[0]


def connect_triton(
    url: str,
    model_name: str,
    timeout_s: float = 30.0,
    *,
    grpc_url: str | None = None,
    metrics_url: str | None = None,
) -> TritonServer:
    """A TritonServer for an already running Triton at `url` (http://host:port).

    Waits up to `timeout_s` for the server and `model_name` to be ready. The metrics URL
    defaults to Triton's default metrics port on the same host
    (`http://host:8002/metrics`); pass `metrics_url` when it was moved, or an empty
    string when the server has metrics off. `grpc_url` is only recorded.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--triton-url {url!r} is not an http(s)://host:port URL")
    http_url = url.rstrip("/")
    if metrics_url is None:
        metrics_url = f"{parts.scheme}://{parts.hostname}:{DEFAULT_METRICS_PORT}/metrics"
    probes = {
        "server": http_ok(f"{http_url}/v2/health/ready"),
        f"model {model_name!r}": http_ok(f"{http_url}/v2/models/{model_name}/ready"),
    }
    deadline = time.monotonic() + timeout_s
    for what, probe in probes.items():
        while not probe():
            if time.monotonic() >= deadline:
                raise ServerStartError(
                    f"Triton at {http_url}: {what} not ready after {timeout_s:.0f} s: check "
                    f"--triton-url, that the server runs and that it loaded {model_name!r} "
                    f"(GET {http_url}/v2/repository/index lists what it has)"
                )
            time.sleep(0.5)
    _check_model_inputs(http_url, model_name)
    return TritonServer(
        http_url=http_url,
        grpc_url=grpc_url,
        metrics_url=metrics_url or None,
        model_name=model_name,
    )


def _check_model_inputs(http_url: str, model_name: str) -> None:
    meta = requests.get(f"{http_url}/v2/models/{model_name}", timeout=10).json()
    inputs = {i["name"] for i in meta.get("inputs", [])}
    outputs = {o["name"] for o in meta.get("outputs", [])}
    if not set(INPUT_NAMES) <= inputs or OUTPUT_NAME not in outputs:
        raise ConfigError(
            f"model {model_name!r} at {http_url} takes {sorted(inputs)} and gives "
            f"{sorted(outputs)}, not the ranking model's {list(INPUT_NAMES)} -> {OUTPUT_NAME!r}: "
            "serve the repository written by write_model_repository (its _libtorch sibling "
            "for NVIDIA's image)"
        )
