"""The serving suite's flow, written down as steps: prepare, start, check, drive, stop,
measure the ceiling. Each step takes the run's state and fills the results section.

Adds to the section: "equivalence" (see equivalence.py), "variants" ({name: {"levels":
[ServingLevel, ...]}}) and "ceiling" (a Ceiling: in-process throughput of the same model
at Triton's mean batch size); the records are typed in records.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from infragap.suites.base import BenchContext
from infragap.suites.endpoint import Endpoint
from infragap.suites.levels import LevelProbe, UnitRate, drive_levels, load_plan
from infragap.suites.serving import equivalence, measure
from infragap.suites.serving.variants import VARIANTS, ServingSetup
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
    from infragap.loadtests.targets.ranking import write_requests_file

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
    cfg = run.config
    plan = load_plan(cfg, run.ctx.work_dir / "requests.json", cfg["seed"])

    def probes(endpoint: Endpoint) -> list[LevelProbe]:
        return [UnitRate("rows_per_s", cfg["rows_per_request"]), TritonBatching(endpoint)]

    drive_levels(run.ctx, run.section, list(run.endpoints.values()), plan, run.say, probes)


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


if TYPE_CHECKING:
    from infragap.loadtests.latency_log import LevelLoad


class TritonBatching(LevelProbe):
    """Triton's batching and queue/compute split over a level, from its metrics endpoint;
    `triton: None` for a variant without one."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.start: dict[str, float] | None = None

    def _counters(self) -> dict[str, float] | None:
        if not self.endpoint.metrics_url:
            return None
        from infragap.proven.triton.metrics import scrape, triton_model_counters

        scraped = scrape(self.endpoint.metrics_url)
        return triton_model_counters(scraped, self.endpoint.target_option)

    def before(self) -> None:
        self.start = self._counters()

    def after(self, load: LevelLoad) -> dict[str, Any]:
        end = self._counters()
        if self.start is None or end is None:
            return {"triton": None}
        from infragap.proven.triton.metrics import counter_deltas

        return {"triton": asdict(counter_deltas(self.start, end))}

    def note(self, fields: dict[str, Any]) -> str:
        batch = (fields.get("triton") or {}).get("mean_batch_size")
        return f", mean batch {batch:.1f}" if batch else ""
