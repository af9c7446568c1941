"""The serving suite's flow, written down as steps: prepare, tune Triton, start, check,
drive, stop, measure the ceiling. Each step takes the run's state and fills the results
section: "triton_tuning" (tuning.py), "equivalence" (equivalence.py), "isolation" ({name:
Isolation}, isolation.py), "variants" ({name: {"levels": [ServingLevel, ...]}}) and
"ceiling" (a Ceiling: in-process throughput of the same model at Triton's mean batch
size); records.py types them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from infragap.processes import Child
from infragap.suites.base import BenchContext
from infragap.suites.endpoint import Endpoint
from infragap.suites.levels import LevelDriver, LevelProbe, UnitRate, drive_levels, load_plan
from infragap.suites.serving import equivalence, isolation, measure, tuning
from infragap.suites.serving.records import ServingLevel, TritonTrial
from infragap.suites.serving.variants import (
    HEADLINE_TARGET,
    VARIANTS,
    ServingSetup,
    start_local_triton,
)
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


def tune_triton(run: ServingRun) -> None:
    """Choose Triton's queue delay, instances and threads by a short search (tuning.py)."""
    setup = run.setup
    assert setup is not None

    def start(options: dict[str, int], work_dir: Path, name: str) -> tuple[Endpoint, Child]:
        trial = dataclasses.replace(
            setup,
            work_dir=work_dir,
            config={**run.config, "triton": {**run.config["triton"], **options}},
        )
        return start_local_triton(trial, name, HEADLINE_TARGET)

    tune(run.ctx, run.section, run.config, start, run.say)


TritonStarter = Callable[[dict[str, int], Path, str], "tuple[Endpoint, Child]"]


def tune(
    ctx: BenchContext,
    section: dict[str, Any],
    cfg: dict[str, Any],
    start: TritonStarter,
    say: Callable[[str], None],
) -> None:
    """The tuning search for any model: `start(options, work_dir, name)` starts a Triton
    with those knobs. The chosen knobs replace cfg["triton"]'s."""
    plan = load_plan(cfg, ctx.work_dir / "requests.json", cfg["seed"])
    if not cfg["triton_tuning"]["enabled"] or "triton" not in cfg["variants"] or not plan.users:
        return
    if cfg["triton_url"]:
        say("Triton tuning skipped: --triton-url names a server infragap does not configure")
        return
    users = max(plan.users)
    spec = dataclasses.replace(
        plan.closed(users),
        warmup_s=min(plan.warmup_s, tuning.TRIAL_WARMUP_S),
        duration_s=min(plan.duration_s, tuning.TRIAL_DURATION_S),
        steady=None,
    )
    scratch: dict[str, Any] = {}  # the trials' level warnings stay here: trials are not results
    driver = LevelDriver(ctx, scratch, plan, say, lambda e: [TritonBatching(e)])

    def measure(options: dict[str, int]) -> TritonTrial:
        shown = " ".join(f"{k}={v}" for k, v in options.items())
        work_dir = ctx.work_dir / f"tuning-{len(scratch.get('trials', []))}"
        endpoint, child = start(options, work_dir, f"triton ({shown})")
        try:
            level = cast(ServingLevel, driver.run(endpoint, spec))
        finally:
            ctx.supervisor.stop(child)
        trial = tuning.trial_record(options, level)
        scratch.setdefault("trials", []).append(trial)
        return trial

    start_knobs = {knob: cfg["triton"][knob] for knob in tuning.SEARCH_SPACE}
    fixed = cfg["triton_tuning"]["fixed"]
    chosen, trials = tuning.search(start_knobs, fixed, measure, plan.slo)
    cfg["triton"] = section["config"]["triton"] = {**cfg["triton"], **chosen}
    section["triton_tuning"] = tuning.tuning_record(start_knobs, fixed, chosen, trials, spec)
    ctx.results.save()
    say("Triton tuned: " + ", ".join(f"{k}={v}" for k, v in chosen.items()))


def start_variants(run: ServingRun) -> None:
    assert run.setup is not None
    for name in run.config["variants"]:
        with run.ctx.console.status(f"starting {name}"):
            run.endpoints[name] = VARIANTS.get(name)(run.setup)
        run.say(f"{name} ready at {run.endpoints[name].url}")


def check_equivalence(run: ServingRun) -> None:
    sample = run.requests[:EQUIVALENCE_REQUESTS]
    checked = equivalence.check_and_record(
        run.section, run.ctx.results.save, run.endpoints, run.model, sample, TOLERANCE_ABS
    )
    run.say(f"equivalence: {checked} variants agree on {len(sample)} requests")


def check_isolation(run: ServingRun) -> None:
    """One bad request among valid ones, on every variant (isolation.py)."""
    good = run.requests[1 : 1 + isolation.GOOD_PER_ROUND]
    n_items = model_size(run.config["model_size"]).n_items
    run.section["isolation"] = {
        name: isolation.check_isolation(endpoint, good, n_items)
        for name, endpoint in run.endpoints.items()
    }
    run.ctx.results.save()
    for name, record in run.section["isolation"].items():
        run.say(
            f"{name}: one bad request failed {record['good_failed']} of "
            f"{record['good_requests']} valid requests sent with it"
        )


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
    ("tune Triton", tune_triton),
    ("start the variants", start_variants),
    ("check equivalence", check_equivalence),
    ("send a bad request among good ones", check_isolation),
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
