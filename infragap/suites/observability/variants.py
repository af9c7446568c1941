"""The observability pair's variants: the same hoisted Flask endpoint kept four ways, and
Triton with its own metrics.

- `bare`: no timing at all, the reference each way's overhead is measured against;
- `log`: the naive timing line, `logger.info(f"predict took {ms}ms ...")`, to a file;
- `otel`: an OpenTelemetry SDK histogram, exported for Prometheus;
- `prometheus-client`: a prometheus_client histogram;
- `triton`: Triton Inference Server, whose own /metrics Prometheus scrapes.

Every metrics variant is a scrape job of its own name, and its observations carry
`variant=<name>`. The metric variants keep their library's default bucket layout: what a
team gets without tuning (the fidelity step shows what tuning would change).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infragap.ports import LOOPBACK, choose_port
from infragap.processes import Supervisor, http_ok, wait_until
from infragap.registry import Registry
from infragap.suites.endpoint import Endpoint, process_tree

APP_MODULE = "infragap.proven.observability.instrumented_app"
START_TIMEOUT_S = 120.0
TIMING_LOG = "timing.log"
SLOWED = "slowed"


@dataclass
class ObservabilitySetup:
    """What every variant starts from; `jobs` collects each started variant's scrape
    address (host:port) and metrics path, by variant name."""

    supervisor: Supervisor
    work_dir: Path
    model_file: Path
    config: dict[str, Any]
    jobs: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def log_file(self) -> Path:
        return self.work_dir / TIMING_LOG


@dataclass(frozen=True)
class Variant:
    """How to start one variant; `metrics` is the app's --metrics, or "" for Triton."""

    metrics: str
    description: str
    answers_from: str  # "promql", "log" or "" (nothing to answer from)


VARIANTS: Registry[Variant] = Registry("observability variant")
VARIANTS.register("bare")(Variant("none", "no timing: the reference", ""))
VARIANTS.register("log")(Variant("log", "timing line to a log file (naive)", "log"))
VARIANTS.register("otel")(Variant("otel", "OpenTelemetry SDK histogram", "promql"))
VARIANTS.register("prometheus-client")(
    Variant("prometheus-client", "prometheus_client histogram", "promql")
)
VARIANTS.register("triton")(Variant("", "Triton's own metrics", "promql"))


def app_argv(
    setup: ObservabilitySetup, name: str, metrics: str, port: int, extra: Sequence[str] = ()
) -> list[str]:
    argv = [sys.executable, "-m", APP_MODULE, "--model", str(setup.model_file)]
    argv += ["--port", str(port), "--metrics", metrics, "--variant", name]
    if metrics == "log":
        argv += ["--log-file", str(setup.log_file)]
    return argv + list(extra)


def start_app(
    setup: ObservabilitySetup,
    name: str,
    metrics: str,
    port: int | None = None,
    extra: Sequence[str] = (),
) -> Endpoint:
    """The instrumented app as `name`, its /metrics registered as a scrape job."""
    port = port or choose_port(setup.config["ports"].get(name), f"--{name}-port")
    child = setup.supervisor.start(name, app_argv(setup, name, metrics, port, extra))
    url = f"http://{LOOPBACK}:{port}"
    wait_until(http_ok(f"{url}/health"), child, START_TIMEOUT_S, f"the {name} app")
    metrics_url = None
    if metrics in ("otel", "prometheus-client"):
        setup.jobs[name] = (f"{LOOPBACK}:{port}", "/metrics")
        metrics_url = f"{url}/metrics"
    return Endpoint(name, "flask", url, process_tree(child), metrics_url=metrics_url)


def start_triton(setup: ObservabilitySetup) -> Endpoint:
    """The bundled Triton with the serving suite's default options."""
    from infragap.suites.serving.variants import HEADLINE_TARGET, ServingSetup, start_local_triton

    serving = ServingSetup(setup.supervisor, setup.work_dir, setup.model_file, setup.config)
    endpoint, _child = start_local_triton(serving, "triton", HEADLINE_TARGET)
    assert endpoint.metrics_url is not None
    address = endpoint.metrics_url.removeprefix("http://").split("/", 1)[0]
    setup.jobs["triton"] = (address, "/metrics")
    return endpoint


def start_variant(setup: ObservabilitySetup, name: str) -> Endpoint:
    variant = VARIANTS.get(name)
    if not variant.metrics:
        return start_triton(setup)
    return start_app(setup, name, variant.metrics)


def slowed_argv_extra(delay_ms: float, share: float, seed: int) -> list[str]:
    """The seeded slow-down of the alerting check (instrumented_app's --added-delay-*)."""
    return [
        *("--added-delay-ms", f"{delay_ms:g}"),
        *("--added-delay-share", f"{share:g}"),
        *("--seed", str(seed)),
    ]
