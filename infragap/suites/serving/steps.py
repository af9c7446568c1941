"""The serving suite's flow, written down as steps: prepare, start, check, drive, stop,
measure the ceiling. Each step takes the run's state and fills the results section.

Adds to the section: "equivalence" (see equivalence.py), "variants" ({name: {"levels":
[...]}} with records from measure.level_record) and "ceiling" (in-process throughput of
the same model at Triton's mean batch size).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from infragap.suites.base import BenchContext
from infragap.suites.levels import level_warnings
from infragap.suites.serving import equivalence, measure
from infragap.suites.serving.variants import VARIANTS, Endpoint, ServingSetup
from infragap.workloads.model_sizes import model_size
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
            run.section["warnings"].extend(level_warnings(name, level))
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
