"""The serving pair's variants: how each one starts and where it answers.

Variant names are used everywhere (CLI, results, report): `naive-reload`,
`naive-hoisted`, `triton`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infragap.ports import LOOPBACK, choose_port
from infragap.processes import Supervisor, http_ok, wait_until
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


VariantStarter = Callable[[ServingSetup], Endpoint]
VARIANTS: Registry[VariantStarter] = Registry("serving variant")


def _start_flask(setup: ServingSetup, variant: str, hoisted: bool) -> Endpoint:
    port = choose_port(setup.config["ports"].get(variant), f"--{variant}-port")
    argv = [sys.executable, "-m", "infragap.naive.serving_app"]
    argv += ["--model", str(setup.model_file), "--port", str(port)]
    if hoisted:
        argv.append("--hoisted")
    child = setup.supervisor.start(variant, argv)
    url = f"http://{LOOPBACK}:{port}"
    wait_until(http_ok(f"{url}/health"), child, FLASK_START_TIMEOUT_S, f"the {variant} Flask app")
    return Endpoint(variant, "flask", url, process_tree(child))


@VARIANTS.register("naive-reload")
def start_naive_reload(setup: ServingSetup) -> Endpoint:
    """Flask, model loaded from disk inside every request."""
    return _start_flask(setup, "naive-reload", hoisted=False)


@VARIANTS.register("naive-hoisted")
def start_naive_hoisted(setup: ServingSetup) -> Endpoint:
    """Flask, model loaded once at start-up (the quick fix)."""
    return _start_flask(setup, "naive-hoisted", hoisted=True)


@VARIANTS.register("triton")
def start_triton_variant(setup: ServingSetup) -> Endpoint:
    """Triton Inference Server with dynamic batching (local binary, or --triton-url)."""
    from infragap.proven.triton.repository import write_model_repository
    from infragap.proven.triton.server import connect_triton, start_triton
    from infragap.workloads.model_sizes import model_size

    cfg = setup.config
    triton_cfg = dict(cfg["triton"])
    repository = write_model_repository(
        setup.work_dir / "model_repository",
        setup.model_file,
        model_size(cfg["model_size"]),
        **triton_cfg,
        device=cfg["device"],
    )
    if cfg["triton_url"]:
        server = connect_triton(cfg["triton_url"], "ranker", timeout_s=60.0)
        return Endpoint(
            "triton", "kserve", server.http_url, list, server.model_name, server.metrics_url
        )
    server = start_triton(setup.supervisor, repository, http_port=cfg["ports"].get("triton"))
    assert server.child is not None
    return Endpoint(
        "triton",
        "kserve",
        server.http_url,
        process_tree(server.child),
        server.model_name,
        server.metrics_url,
    )
