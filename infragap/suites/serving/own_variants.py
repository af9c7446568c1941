"""The variants that serve a model infragap did not make (--model, --naive-url,
--before-after): how each starts and where it answers.

`naive-reload` and `naive-hoisted` are infragap's naive Flask app on that model;
`your-endpoint` is the team's running service; `before-app` and `after-app` are a
repository's own app before and after `migrate apply --rule flask-to-triton`, started
from its own entry point; `triton` is the bundled Triton on the model (or --triton-url).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from infragap.ports import LOOPBACK, choose_port
from infragap.processes import Child, Supervisor, wait_until
from infragap.registry import Registry
from infragap.suites.endpoint import Endpoint, process_tree
from infragap.suites.serving.variants import start_flask
from infragap.workloads.own_model.signature import Signature

if TYPE_CHECKING:
    from infragap.proven.triton.server import TritonServer

APP_START_TIMEOUT_S = 120.0
TRITON_MODEL = "model"


@dataclass
class OwnSetup:
    supervisor: Supervisor
    work_dir: Path
    model_file: Path
    signature_file: Path
    signature: Signature
    config: dict[str, Any]
    shared: dict[str, Endpoint] = field(default_factory=dict)


OwnStarter = Callable[[OwnSetup], Endpoint]
OWN_VARIANTS: Registry[OwnStarter] = Registry("variant for your own model")


def _naive_app(setup: OwnSetup, name: str, extra: Sequence[str]) -> Endpoint:
    args = ["--model", str(setup.model_file), "--signature", str(setup.signature_file), *extra]
    ports = setup.config["ports"]
    return start_flask(
        setup.supervisor, ports, name, "infragap.naive.own_model_app", args, "tensor-flask"
    )


@OWN_VARIANTS.register("naive-reload")
def start_naive_reload(setup: OwnSetup) -> Endpoint:
    """infragap's naive Flask app, the model loaded inside every request."""
    return _naive_app(setup, "naive-reload", [])


@OWN_VARIANTS.register("naive-hoisted")
def start_naive_hoisted(setup: OwnSetup) -> Endpoint:
    """infragap's naive Flask app, the model loaded once at start-up."""
    return _naive_app(setup, "naive-hoisted", ["--hoisted"])


@OWN_VARIANTS.register("your-endpoint")
def start_your_endpoint(setup: OwnSetup) -> Endpoint:
    """The team's own running service at --naive-url: nothing is started."""
    parts = urlsplit(setup.config["own_model"]["naive_url"])
    base = f"{parts.scheme}://{parts.netloc}"
    return Endpoint("your-endpoint", "tensor-template", base, list, parts.path or "/")


@OWN_VARIANTS.register("triton")
def start_triton_variant(setup: OwnSetup) -> Endpoint:
    """Triton on the model: the bundled server on a repository infragap writes (or the
    repository a migration generated), or the running one at --triton-url."""
    from infragap.proven.triton.server import connect_triton, start_triton

    cfg = setup.config
    if cfg["triton_url"]:
        server = connect_triton(cfg["triton_url"], cfg["triton_model"], timeout_s=60.0)
        return Endpoint(
            "triton",
            "tensor-kserve-binary",
            server.http_url,
            list,
            server.model_name,
            server.metrics_url,
        )
    migration = cfg.get("before_after")
    if migration:  # the repository the migration generated, served as it is
        server = start_triton(
            setup.supervisor,
            Path(migration["triton_repository"]),
            model_name=migration["triton_model"],
            http_port=cfg["ports"].get("triton"),
        )
        return _triton_endpoint("triton", server)
    endpoint, _child = start_own_triton(setup, {}, setup.work_dir, "triton")
    return endpoint


def start_own_triton(
    setup: OwnSetup, options: Mapping[str, int], work_dir: Path, name: str
) -> tuple[Endpoint, Child]:
    """The bundled Triton on a repository written for the model, with cfg["triton"]'s
    knobs overridden by `options` (the tuning search's trials)."""
    from infragap.proven.triton.server import start_triton
    from infragap.proven.triton.tensor_repository import write_tensor_repository

    cfg = setup.config
    repository = write_tensor_repository(
        work_dir / "model_repository",
        setup.model_file,
        setup.signature,
        model_name=TRITON_MODEL,
        **{**cfg["triton"], **options},
        device=cfg["device"],
    )
    server = start_triton(
        setup.supervisor, repository, model_name=TRITON_MODEL, http_port=cfg["ports"].get("triton")
    )
    assert server.child is not None
    return _triton_endpoint(name, server), server.child


def _triton_endpoint(name: str, server: TritonServer) -> Endpoint:
    assert server.child is not None
    return Endpoint(
        name,
        "tensor-kserve-binary",
        server.http_url,
        process_tree(server.child),
        server.model_name,
        server.metrics_url,
    )


def start_app(
    setup: OwnSetup, name: str, folder: Path, extra_env: Mapping[str, str] | None = None
) -> Endpoint:
    """A repository's own app, from its own entry point (--app-command, run in `folder`
    with --app-python), on a free loopback port it is told through {port} and $PORT."""
    cfg = setup.config["before_after"]
    port = choose_port(setup.config["ports"].get(name), f"--{name}-port")
    argv = [part.format(python=cfg["python"], port=port) for part in cfg["command"]]
    env = {**os.environ, "PORT": str(port), **(extra_env or {})}
    child = setup.supervisor.start(name, argv, cwd=folder, env=env)
    wait_until(_listening(port), child, APP_START_TIMEOUT_S, f"the {name} app ({' '.join(argv)})")
    return Endpoint(
        name, "tensor-template", f"http://{LOOPBACK}:{port}", process_tree(child), cfg["route"]
    )


def _listening(port: int) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            with socket.create_connection((LOOPBACK, port), timeout=1.0):
                return True
        except OSError:
            return False

    return probe


@OWN_VARIANTS.register("before-app")
def start_before_app(setup: OwnSetup) -> Endpoint:
    """The repository's app as it was before the migration (its HEAD commit)."""
    return start_app(setup, "before-app", Path(setup.config["before_after"]["before_tree"]))


@OWN_VARIANTS.register("after-app")
def start_after_app(setup: OwnSetup) -> Endpoint:
    """The migrated app (the working tree), calling the Triton the `triton` variant runs."""
    triton = setup.shared.get("triton")
    if triton is None:
        from infragap.errors import ConfigError

        raise ConfigError("after-app calls Triton: list triton before after-app in --variants")
    address = urlsplit(triton.url).netloc
    env = {"TRITON_URL": address, "TRITON_MODEL": triton.target_option}
    return start_app(setup, "after-app", Path(setup.config["before_after"]["repository"]), env)
