"""The serving suite: naive Flask endpoints vs Triton, driven by Locust, step by step.

Adds to its results section: "equivalence" (see equivalence.py), "variants"
({name: {"levels": [...]}} with records from measure.level_record) and "ceiling"
(in-process throughput of the same model at Triton's mean batch size).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from infragap.errors import ConfigError
from infragap.suites.base import SUITES, BenchContext
from infragap.suites.serving import equivalence, measure
from infragap.suites.serving.variants import VARIANTS, Endpoint, ServingSetup
from infragap.workloads.model_sizes import MODEL_SIZES, default_cache_dir, model_size
from infragap.workloads.ranking_requests import RankingRequest, generate_requests

REQUEST_STREAM_LENGTH = 4096
EQUIVALENCE_REQUESTS = 64
TOLERANCE_ABS = 1e-4


@dataclass
class ServingRun:
    """State handed from step to step."""

    ctx: BenchContext
    section: dict[str, Any]
    config: dict[str, Any]
    model: Any = None
    setup: ServingSetup | None = None
    requests: list[RankingRequest] = field(default_factory=list)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)

    def say(self, text: str) -> None:
        self.ctx.console.print(f"[bold]serving[/] {text}")


def prepare_model(run: ServingRun) -> None:
    import torch

    from infragap.workloads.recsys import ensure_model_file

    size = model_size(run.config["model_size"])
    run.say(f"model {size.name}: {size.weight_bytes() / 1e6:.0f} MB of weights")
    path = ensure_model_file(size, run.config["seed"], run.config["cache_dir"])
    run.model = torch.jit.load(str(path))
    run.setup = ServingSetup(run.ctx.supervisor, run.ctx.work_dir, path, run.config)


def prepare_requests(run: ServingRun) -> None:
    from infragap.loadtests.runner import write_requests_file

    size = model_size(run.config["model_size"])
    run.requests = generate_requests(
        size, run.config["seed"], REQUEST_STREAM_LENGTH, run.config["rows_per_request"]
    )
    write_requests_file(run.requests, run.ctx.work_dir / "requests.json")


def start_variants(run: ServingRun) -> None:
    assert run.setup is not None
    for name in run.config["variants"]:
        with run.ctx.console.status(f"starting {name}"):
            run.endpoints[name] = VARIANTS.get(name)(run.setup)
        run.say(f"{name} ready at {run.endpoints[name].url}")


def check_equivalence(run: ServingRun) -> None:
    sample = run.requests[:EQUIVALENCE_REQUESTS]
    reference = equivalence.reference_scores(run.model, sample)
    comparisons = {
        name: equivalence.check_endpoint(endpoint, sample, reference, TOLERANCE_ABS)
        for name, endpoint in run.endpoints.items()
    }
    run.section["equivalence"] = equivalence.equivalence_record(comparisons, TOLERANCE_ABS)
    run.ctx.results.save()
    equivalence.raise_on_mismatch(comparisons, TOLERANCE_ABS)
    run.say(f"equivalence: {len(comparisons)} variants agree on {len(sample)} requests")


def drive_load(run: ServingRun) -> None:
    from infragap.loadtests.runner import run_level
    from infragap.loadtests.server_usage import UsageMonitor

    cfg = run.config
    variants = run.section.setdefault("variants", {})
    for name, endpoint in run.endpoints.items():
        levels = variants.setdefault(name, {"levels": []})["levels"]
        for users in cfg["users"]:
            with run.ctx.console.status(
                f"{name}: {users} users, {cfg['warmup_s']:g}+{cfg['duration_s']:g} s"
            ):
                before = _triton_counters(endpoint)
                monitor = UsageMonitor(endpoint.processes)
                monitor.start()
                try:
                    load = run_level(
                        run.ctx.supervisor,
                        target=endpoint.protocol,
                        host=endpoint.url,
                        users=users,
                        warmup_s=cfg["warmup_s"],
                        duration_s=cfg["duration_s"],
                        requests_file=run.ctx.work_dir / "requests.json",
                        work_dir=run.ctx.work_dir / f"load-{name}-{users}",
                        model_name=endpoint.model_name,
                    )
                finally:
                    server = monitor.stop()
                triton = _triton_level(endpoint, before)
            level = measure.level_record(load, server, triton, cfg["rows_per_request"])
            levels.append(level)
            run.section["warnings"].extend(measure.level_warnings(name, level))
            run.ctx.results.save()
            run.say(_level_line(name, level))


def measure_ceiling(run: ServingRun) -> None:
    triton_levels = run.section.get("variants", {}).get("triton", {}).get("levels", [])
    top = triton_levels[-1] if triton_levels else None
    batch = (top or {}).get("triton") or {}
    rows = round(batch.get("mean_batch_size") or run.config["rows_per_request"])
    size = model_size(run.config["model_size"])
    with run.ctx.console.status(f"in-process ceiling at batch {rows}"):
        ceiling = measure.in_process_ceiling(
            run.model,
            rows,
            size.dense_dim,
            1.0 if run.config["quick"] else 5.0,
            run.config["device"],
        )
    ceiling["requests_per_s"] = ceiling["rows_per_s"] / run.config["rows_per_request"]
    ceiling["at_users"] = top["users"] if top else None
    run.section["ceiling"] = ceiling
    run.ctx.results.save()
    run.say(f"in-process ceiling at batch {rows}: {ceiling['requests_per_s']:.0f} req/s")


def stop_variants(run: ServingRun) -> None:
    run.ctx.supervisor.stop_all()


STEPS: list[tuple[str, Callable[[ServingRun], None]]] = [
    ("prepare the model", prepare_model),
    ("generate the request stream", prepare_requests),
    ("start the variants", start_variants),
    ("check equivalence", check_equivalence),
    ("drive load", drive_load),
    ("stop the variants", stop_variants),
    ("measure the in-process ceiling", measure_ceiling),
]


def _triton_counters(endpoint: Endpoint) -> dict[str, float] | None:
    if not endpoint.metrics_url:
        return None
    from infragap.proven.triton.metrics import scrape, triton_model_counters

    return triton_model_counters(scrape(endpoint.metrics_url), endpoint.model_name)


def _triton_level(endpoint: Endpoint, before: dict[str, float] | None) -> dict | None:
    after = _triton_counters(endpoint)
    if before is None or after is None:
        return None
    from infragap.proven.triton.metrics import counter_deltas

    return asdict(counter_deltas(before, after))


def _level_line(name: str, level: dict[str, Any]) -> str:
    lat = level["latency_ms"]
    p99 = f"{lat['p99']:.1f} ms" if lat["p99"] is not None else "n/a"
    batch = (level["triton"] or {}).get("mean_batch_size")
    extra = f", mean batch {batch:.1f}" if batch else ""
    return (
        f"{name} @ {level['users']} users: {level['throughput_rps']:.1f} req/s, p99 {p99}, "
        f"{level['failures']} failures{extra}"
    )


def _parse_users(text: str) -> list[int]:
    try:
        users = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"--users {text!r}: give user counts like 1,8,32") from None
    if not users or any(u < 1 for u in users):
        raise ConfigError(f"--users {text!r}: give positive user counts like 1,8,32")
    return users


class ServingSuite:
    name = "serving"
    description = "Flask reloading the model per request vs Triton with dynamic batching"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("serving suite")
        group.add_argument(
            "--model-size",
            choices=sorted(MODEL_SIZES),
            help="model size (default: 'default', or 'small' with --quick)",
        )
        group.add_argument("--rows", type=int, default=1, help="rows scored per request")
        group.add_argument(
            "--variants",
            default=",".join(VARIANTS.names()),
            help="comma-separated serving variants to run",
        )
        group.add_argument(
            "--triton-url",
            help="use this running Triton (http://host:port) "
            "instead of starting the bundled server",
        )
        group.add_argument("--triton-http-port", type=int, help="port for the local Triton")
        group.add_argument(
            "--triton-queue-delay-us",
            type=int,
            help="dynamic batching: longest wait to fill a batch",
        )
        group.add_argument("--triton-instances", type=int, help="model instances in Triton")
        group.add_argument("--triton-threads", type=int, help="torch threads per instance")
        group.add_argument("--naive-reload-port", type=int)
        group.add_argument("--naive-hoisted-port", type=int)

    def config(self, args: argparse.Namespace) -> dict[str, Any]:
        variants = [v.strip() for v in args.variants.split(",") if v.strip()]
        for name in variants:
            VARIANTS.get(name)
        if args.rows < 1:
            raise ConfigError("--rows must be at least 1")
        quick = bool(args.quick)
        return {
            "quick": quick,
            "seed": args.seed,
            "model_size": args.model_size or ("small" if quick else "default"),
            "rows_per_request": args.rows,
            "variants": variants,
            "users": _parse_users(args.users) if args.users else ([1, 8] if quick else [1, 8, 32]),
            "duration_s": args.duration or (5.0 if quick else 30.0),
            "warmup_s": args.warmup if args.warmup is not None else (2.0 if quick else 5.0),
            "device": _device(),
            "triton_url": args.triton_url,
            "triton": _triton_options(args),
            "ports": {
                "triton": args.triton_http_port,
                "naive-reload": args.naive_reload_port,
                "naive-hoisted": args.naive_hoisted_port,
            },
            "cache_dir": str(args.cache_dir or default_cache_dir()),
        }

    def run(self, ctx: BenchContext, section: dict[str, Any]) -> None:
        section.setdefault("warnings", [])
        config = dict(section["config"])
        config["cache_dir"] = Path(config["cache_dir"])
        run = ServingRun(ctx, section, config)
        for _title, step in STEPS:
            step(run)

    def summary_rows(self, section: dict[str, Any]) -> list[list[str]]:
        rows = [["variant", "users", "req/s", "p50 ms", "p99 ms", "failures", "batch"]]
        for name, variant in section.get("variants", {}).items():
            for level in variant["levels"]:
                lat = level["latency_ms"]
                batch = (level["triton"] or {}).get("mean_batch_size")
                rows.append(
                    [
                        name,
                        str(level["users"]),
                        f"{level['throughput_rps']:.1f}",
                        _ms(lat["p50"]),
                        _ms(lat["p99"]),
                        str(level["failures"]),
                        f"{batch:.1f}" if batch else "",
                    ]
                )
        return rows


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _triton_options(args: argparse.Namespace) -> dict[str, Any]:
    from dataclasses import asdict, replace

    from infragap.proven.triton.repository import ServingOptions

    chosen = {
        "queue_delay_us": args.triton_queue_delay_us,
        "instances": args.triton_instances,
        "torch_threads": args.triton_threads,
    }
    options = asdict(
        replace(ServingOptions(), **{k: v for k, v in chosen.items() if v is not None})
    )
    options.pop("device")  # recorded once, at the top of the config
    return options


def _device() -> str:
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


SUITES.register("serving")(ServingSuite())
