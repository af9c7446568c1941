"""A real Prometheus server, started under a Supervisor with a generated configuration.

Debian's `prometheus` package listens on 0.0.0.0:9090 and keeps its data in
/var/lib/prometheus; here every start gets its own folder in the work dir (the
configuration and a fresh TSDB) and listens on 127.0.0.1 only. The process is one of the
Supervisor's children, so it stops with them however the run ends.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infragap.errors import ConfigError
from infragap.ports import LOOPBACK, choose_port
from infragap.processes import Child, Supervisor, http_ok, wait_until
from infragap.proven.prometheus.query import check_duration

PACKAGE = "prometheus"  # Debian's package; it ships both prometheus and promtool
MIN_VERSION = (2, 30, 0)
TESTED_VERSION = "2.42"  # Debian 12's
PORT_OPTION = "--prometheus-port"
START_TIMEOUT_S = 60.0
VERSION_TIMEOUT_S = 10.0
DEFAULT_INTERVAL = "1s"


_ADDRESS = re.compile(r"^(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$")


def _is_address(address: str) -> bool:
    match = _ADDRESS.match(address)
    return match is not None and 0 < int(match.group(1)) < 65536


@dataclass(frozen=True)
class ScrapeTarget:
    """One endpoint to scrape: its job name (a label on every series), host:port and path."""

    job: str
    address: str
    metrics_path: str = "/metrics"

    def __post_init__(self) -> None:
        if not self.job.strip():
            raise ConfigError("a scrape target needs a job name: pass a non-empty name")
        if not _is_address(self.address):
            raise ConfigError(
                f"scrape target {self.address!r} of job {self.job!r} is not host:port "
                "(for example 127.0.0.1:8000)"
            )
        if not self.metrics_path.startswith("/"):
            raise ConfigError(
                f"the metrics path {self.metrics_path!r} of job {self.job!r} must start with '/'"
            )


@dataclass(frozen=True)
class PrometheusServer:
    """A ready Prometheus: its base URL, its process, and the folder with config and data."""

    url: str
    child: Child
    run_dir: Path

    @property
    def config_path(self) -> Path:
        return self.run_dir / "prometheus.yml"


def require_tool(name: str) -> str:
    """The path of `prometheus` or `promtool`, or a ConfigError that says how to install it."""
    binary = shutil.which(name)
    if binary is None:
        raise ConfigError(
            f"{name} is not installed: install Debian's package "
            f"(`sudo apt-get install {PACKAGE}`), which ships prometheus and promtool"
        )
    return binary


_VERSION = re.compile(r"\bversion (\d+)\.(\d+)\.(\d+)")


def parse_version(text: str, tool: str = "prometheus") -> tuple[int, int, int]:
    """(major, minor, patch) from `prometheus --version` output
    ('prometheus, version 2.42.0+ds (branch: ...)')."""
    match = _VERSION.search(text)
    if match is None:
        first_line = text.strip().splitlines()[0] if text.strip() else "(nothing)"
        raise ConfigError(
            f"cannot read the version of {tool} from `{tool} --version`, which printed "
            f"{first_line!r}: check that it is Prometheus (`sudo apt-get install {PACKAGE}`)"
        )
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def check_version(version: tuple[int, int, int], tool: str = "prometheus") -> None:
    """Refuse a Prometheus older than MIN_VERSION, saying why and how to upgrade."""
    if version < MIN_VERSION:
        found = ".".join(map(str, version))
        wanted = ".".join(map(str, MIN_VERSION[:2]))
        raise ConfigError(
            f"{tool} {found} is too old: infragap needs {wanted} or newer, the oldest release "
            f"whose configuration, rule files and HTTP API it accepts (it is tested with "
            f"{TESTED_VERSION}, Debian 12's). Upgrade the `{PACKAGE}` package, or put a newer "
            f"{tool} first on PATH"
        )


def tool_version(binary: str, tool: str = "prometheus") -> tuple[int, int, int]:
    """Run `binary --version` and parse it."""
    try:
        done = subprocess.run(
            [binary, "--version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"`{binary} --version` failed ({exc}): reinstall `{PACKAGE}`") from exc
    return parse_version(done.stdout + done.stderr, tool)


def prometheus_config(
    targets: Sequence[ScrapeTarget],
    rule_files: Sequence[Path] = (),
    interval: str = DEFAULT_INTERVAL,
) -> dict[str, Any]:
    """The prometheus.yml contents: one scrape job per target, rules evaluated as often
    as targets are scraped. A scrape may take the whole interval (scrape_timeout)."""
    check_duration(interval, "the scrape interval")
    jobs = [target.job for target in targets]
    duplicates = sorted({job for job in jobs if jobs.count(job) > 1})
    if duplicates:
        raise ConfigError(
            f"scrape job names must be unique; repeated: {', '.join(duplicates)}: "
            "give each target its own job name"
        )
    return {
        "global": {
            "scrape_interval": interval,
            "scrape_timeout": interval,
            "evaluation_interval": interval,
        },
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [
            {
                "job_name": target.job,
                "metrics_path": target.metrics_path,
                "static_configs": [{"targets": [target.address]}],
            }
            for target in targets
        ],
    }


def yaml_text(value: Any) -> str:
    """Block-style YAML for dicts, lists and scalars. Every string is written as a JSON
    string, which YAML reads back unchanged, so no quoting rule can be missed."""
    return "\n".join(_yaml_lines(value, 0)) + "\n"


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _yaml_lines(value: Any, depth: int) -> Iterator[str]:
    pad = "  " * depth
    if isinstance(value, dict) and value:
        for key, item in value.items():
            name = key if _PLAIN_KEY.match(str(key)) else json.dumps(str(key))
            if _is_block(item):
                yield f"{pad}{name}:"
                yield from _yaml_lines(item, depth + 1)
            else:
                yield f"{pad}{name}: {_scalar(item)}"
    elif isinstance(value, list) and value:
        for item in value:
            if _is_block(item):
                first, *rest = _yaml_lines(item, depth + 1)
                yield f"{pad}- {first.lstrip()}"
                yield from rest
            else:
                yield f"{pad}- {_scalar(item)}"
    else:
        yield f"{pad}{_scalar(value)}"


def _is_block(value: Any) -> bool:
    return isinstance(value, dict | list) and bool(value)


def _scalar(value: Any) -> str:
    if isinstance(value, dict | list):  # empty ones
        return "{}" if isinstance(value, dict) else "[]"
    if isinstance(value, float) and math.isfinite(value):
        return _float(value)
    if isinstance(value, str | bool | int) or value is None:
        return json.dumps(value)
    raise TypeError(f"cannot write {type(value)!r} {value!r} as YAML")


def _float(value: float) -> str:
    """A float YAML 1.1 readers (PyYAML) read back as one: its float pattern needs a
    '.', so JSON's 1e-05 or 1e+20 would come back as strings."""
    text = repr(value)
    if "e" in text and "." not in text.split("e")[0]:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return text


def prometheus_argv(
    binary: str, config_path: Path, data_dir: Path, port: int, consoles: Path | None = None
) -> list[str]:
    """The command line: loopback only, our configuration and storage, never Debian's.
    `consoles` is one folder holding console templates (*.html) and their libraries
    (*.lib), as `console.write_console` writes them; it serves both flags."""
    argv = [
        binary,
        f"--config.file={config_path}",
        f"--storage.tsdb.path={data_dir}",
        f"--web.listen-address={LOOPBACK}:{port}",
        # Debian's default keeps 15 days; a run's data is thrown away with its folder.
        "--storage.tsdb.retention.time=1d",
        "--log.level=warn",
    ]
    if consoles is not None:
        argv += [f"--web.console.templates={consoles}", f"--web.console.libraries={consoles}"]
    return argv


def start_prometheus(
    supervisor: Supervisor,
    work_dir: Path,
    targets: Sequence[ScrapeTarget],
    *,
    rule_files: Sequence[Path] = (),
    port: int | None = None,
    interval: str = DEFAULT_INTERVAL,
    timeout_s: float = START_TIMEOUT_S,
    consoles: Path | None = None,
) -> PrometheusServer:
    """Start Prometheus scraping `targets` every `interval`; return once /-/ready answers.
    With `consoles` (a folder of console templates and libraries), it serves them at
    /consoles/<file>.

    Missing or too old: ConfigError saying how to install or upgrade it. A busy `port`:
    PortBusy naming --prometheus-port. A server that exits or is not ready in time:
    ServerStartError with its log tail (a bad rule file shows up there).
    """
    binary = require_tool("prometheus")
    check_version(tool_version(binary))
    missing = [str(path) for path in rule_files if not Path(path).is_file()]
    if missing:
        raise ConfigError(f"rule files not found: {', '.join(missing)}")
    if consoles is not None and not Path(consoles).is_dir():
        raise ConfigError(
            f"console folder {consoles} does not exist: write the page into it first "
            "(proven.prometheus.console.write_console)"
        )
    config = prometheus_config(targets, [Path(p).resolve() for p in rule_files], interval)
    port = choose_port(port, PORT_OPTION)
    work_dir.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="prometheus-", dir=work_dir))
    config_path = run_dir / "prometheus.yml"
    config_path.write_text(yaml_text(config))
    folder = None if consoles is None else Path(consoles).resolve()
    argv = prometheus_argv(binary, config_path, run_dir / "data", port, folder)
    child = supervisor.start(f"prometheus-{port}", argv)
    url = f"http://{LOOPBACK}:{port}"
    wait_until(http_ok(f"{url}/-/ready"), child, timeout_s, "Prometheus")
    return PrometheusServer(url, child, run_dir)
