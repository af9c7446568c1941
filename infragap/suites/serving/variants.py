"""The serving pair's variants: how each one starts and where it answers.

Variant names are used everywhere (CLI, results, report): `naive-reload`,
`naive-hoisted`, `naive-batched`, `triton`, `triton-json`.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infragap.ports import LOOPBACK, choose_port
from infragap.processes import Child, Supervisor, http_ok, wait_until
from infragap.registry import Registry
from infragap.suites.endpoint import Endpoint, process_tree

FLASK_START_TIMEOUT_S = 120.0


@dataclass
class ServingSetup:
    """What every variant starts from."""

    supervisor: Supervisor
    work_dir: Path
    model_file: Path
    config: dict[str, Any]
    shared: dict[str, Endpoint] = field(default_factory=dict)
    """Servers that several variants use, started once."""


VariantStarter = Callable[[ServingSetup], Endpoint]
VARIANTS: Registry[VariantStarter] = Registry("serving variant")


def start_flask(
    supervisor: Supervisor,
    ports: Mapping[str, int | None],
    variant: str,
    module: str,
    args: Sequence[str],
    target: str = "flask",
) -> Endpoint:
    """One of infragap's naive Flask apps (`python -m module args --port P`) on a free
    loopback port, or --<variant>-port; ready once /health answers."""
    port = choose_port(ports.get(variant), f"--{variant}-port")
    child = supervisor.start(variant, [sys.executable, "-m", module, *args, "--port", str(port)])
    url = f"http://{LOOPBACK}:{port}"
    wait_until(http_ok(f"{url}/health"), child, FLASK_START_TIMEOUT_S, f"the {variant} Flask app")
    return Endpoint(variant, target, url, process_tree(child))


def _start_flask(
    setup: ServingSetup, variant: str, module: str, extra: Sequence[str] = ()
) -> Endpoint:
    args = ["--model", str(setup.model_file), *extra]
    return start_flask(setup.supervisor, setup.config["ports"], variant, module, args)


@VARIANTS.register("naive-reload")
def start_naive_reload(setup: ServingSetup) -> Endpoint:
    """Flask, model loaded from disk inside every request."""
    return _start_flask(setup, "naive-reload", "infragap.naive.serving_app")


@VARIANTS.register("naive-hoisted")
def start_naive_hoisted(setup: ServingSetup) -> Endpoint:
    """Flask, model loaded once at start-up (the quick fix)."""
    return _start_flask(setup, "naive-hoisted", "infragap.naive.serving_app", ["--hoisted"])


@VARIANTS.register("naive-batched")
def start_naive_batched(setup: ServingSetup) -> Endpoint:
    """Flask with a hand-written micro-batching queue (64 rows or 2 ms, its defaults)."""
    return _start_flask(setup, "naive-batched", "infragap.naive.batched_serving_app")


# Binary tensors are what Triton's own clients send by default (tritonclient's
# InferInput.set_data_from_numpy, perf_analyzer), so the headline drives Triton that way;
# `triton-json` drives the same server with JSON tensors, as a hand-written client would.
HEADLINE_TARGET = "kserve-binary"


def start_local_triton(setup: ServingSetup, name: str, target: str) -> tuple[Endpoint, Child]:
    """A bundled Triton serving the model with `setup.config["triton"]`'s options."""
    from infragap.proven.triton.repository import write_model_repository
    from infragap.proven.triton.server import start_triton
    from infragap.workloads.model_sizes import model_size

    cfg = setup.config
    repository = write_model_repository(
        setup.work_dir / "model_repository",
        setup.model_file,
        model_size(cfg["model_size"]),
        **cfg["triton"],
        device=cfg["device"],
    )
    server = start_triton(setup.supervisor, repository, http_port=cfg["ports"].get("triton"))
    assert server.child is not None
    endpoint = Endpoint(
        name,
        target,
        server.http_url,
        process_tree(server.child),
        server.model_name,
        server.metrics_url,
    )
    return endpoint, server.child


def _triton(setup: ServingSetup, name: str, target: str) -> Endpoint:
    """Triton over `target`; both Triton variants share one server (--triton-url's, or one
    infragap starts), so they differ in the protocol alone."""
    if "triton" not in setup.shared:
        if setup.config["triton_url"]:
            from infragap.proven.triton.server import connect_triton

            server = connect_triton(setup.config["triton_url"], "ranker", timeout_s=60.0)
            setup.shared["triton"] = Endpoint(
                name, target, server.http_url, list, server.model_name, server.metrics_url
            )
        else:
            setup.shared["triton"], _child = start_local_triton(setup, name, target)
    return dataclasses.replace(setup.shared["triton"], name=name, target=target)


@VARIANTS.register("triton")
def start_triton_variant(setup: ServingSetup) -> Endpoint:
    """Triton Inference Server with dynamic batching, binary tensors over HTTP (local
    binary, or --triton-url)."""
    return _triton(setup, "triton", HEADLINE_TARGET)


@VARIANTS.register("triton-json")
def start_triton_json(setup: ServingSetup) -> Endpoint:
    """The same Triton, its tensors sent as JSON."""
    return _triton(setup, "triton-json", "kserve")
