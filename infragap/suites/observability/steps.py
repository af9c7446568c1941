"""The observability suite's flow, written down as steps. Each fills the results
section: "artifacts" (rule file, dashboards, console page), "observation_cost",
"equivalence", "variants" (levels with their "answers"), "fidelity" and "alerting";
records.py types them.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from infragap.suites.base import BenchContext
from infragap.suites.endpoint import Endpoint
from infragap.suites.levels import LevelDriver, LevelProbe, drive_levels, load_plan
from infragap.suites.observability import alerting
from infragap.suites.observability.answers_probe import OperatorAnswers
from infragap.suites.observability.variants import (
    SLOWED,
    VARIANTS,
    ObservabilitySetup,
    slowed_argv_extra,
    start_app,
    start_variant,
)
from infragap.workloads.model_sizes import model_size
from infragap.workloads.ranking_requests import RankingRequest, generate_requests

REQUEST_STREAM_LENGTH = 4096
EQUIVALENCE_REQUESTS = 32
TOLERANCE_ABS = 1e-4
SLOWED_USERS = 4
SLOWED_EXTRA_S = 6.0  # beyond the alert's window and hold: scrapes and rule evaluations
SLO_LAYOUT_LOW_MS = 0.25  # the finest bound: below it, a Flask handler's time is noise


@dataclass
class ObservabilityRun:
    """State handed from step to step."""

    ctx: BenchContext
    section: dict[str, Any]
    config: dict[str, Any]
    model: Any = None
    setup: ObservabilitySetup | None = None
    requests: list[RankingRequest] = field(default_factory=list)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    prometheus_url: str = ""
    started_at: float = 0.0

    def say(self, text: str) -> None:
        self.ctx.console.print(f"[bold]observability[/] {text}")

    @property
    def artifacts(self) -> dict[str, Any]:
        return self.section.setdefault("artifacts", {})

    def histograms(self) -> dict[str, str]:
        """Each scraped histogram job and its base name as Prometheus stores it."""
        from infragap.proven.observability.names import PROMETHEUS_HISTOGRAM

        jobs = {
            name: PROMETHEUS_HISTOGRAM[VARIANTS.get(name).metrics]
            for name in self.config["variants"]
            if VARIANTS.get(name).metrics in PROMETHEUS_HISTOGRAM
        }
        return {**jobs, SLOWED: PROMETHEUS_HISTOGRAM["prometheus-client"]}


def check_prometheus(run: ObservabilityRun) -> None:
    """Prometheus and promtool present and recent enough, the alert rules accepted by
    promtool, the Grafana dashboards written: all before any server starts."""
    from infragap.proven.prometheus.dashboard import DashboardMetrics, grafana_dashboard
    from infragap.proven.prometheus.rules import write_rule_file
    from infragap.proven.prometheus.server import check_version, require_tool, tool_version

    version = tool_version(require_tool("prometheus"))
    check_version(version)
    out = run.ctx.work_dir
    out.mkdir(parents=True, exist_ok=True)
    alerts = alerting.slo_alerts(run.histograms(), run.config["alert_slo_ms"])
    rule_file = write_rule_file(out / "alert-rules.yml", alerts)
    dashboards = {}
    for job, histogram in run.histograms().items():
        if job == SLOWED:
            continue
        path = out / f"grafana-{job}.json"
        path.write_text(json.dumps(grafana_dashboard(DashboardMetrics(histogram)), indent=1))
        dashboards[job] = str(path)
    from infragap.proven.observability.names import PROMETHEUS_HISTOGRAM
    from infragap.proven.prometheus.console import write_console

    console = write_console(out / "consoles", DashboardMetrics(PROMETHEUS_HISTOGRAM["otel"]))
    run.artifacts.update(
        prometheus_version=".".join(map(str, version)),
        alert_rules=str(rule_file),
        grafana_dashboards=dashboards,
        console_template=str(console),
    )
    run.ctx.results.save()
    run.say(f"Prometheus {run.artifacts['prometheus_version']}; alert rules pass promtool")


def prepare_inputs(run: ObservabilityRun) -> None:
    import torch

    from infragap.loadtests.targets.ranking import write_requests_file
    from infragap.workloads.recsys import ensure_model_file

    size = model_size(run.config["model_size"])
    path = ensure_model_file(size, run.config["seed"], run.config["cache_dir"])
    run.model = torch.jit.load(str(path))
    run.setup = ObservabilitySetup(run.ctx.supervisor, run.ctx.work_dir, path, run.config)
    run.requests = generate_requests(size, run.config["seed"], REQUEST_STREAM_LENGTH, 1)
    write_requests_file(run.requests, run.ctx.work_dir / "requests.json")


def measure_observation_cost(run: ObservabilityRun) -> None:
    """ns per observation, each way, in this process before any server runs (quiet CPU)."""
    from infragap.suites.observability.observation_cost import measure_observation_costs

    observations, repeats = (5000, 3) if run.config["quick"] else (20000, 5)
    with run.ctx.console.status("timing one observation, each way"):
        costs = measure_observation_costs(run.ctx.work_dir, observations, repeats)
    run.section["observation_cost"] = costs
    run.ctx.results.save()
    shown = ", ".join(f"{way} {row['ns_per_observation']:,.0f} ns" for way, row in costs.items())
    run.say(f"one observation: {shown}")


def start_variants(run: ObservabilityRun) -> None:
    assert run.setup is not None
    for name in run.config["variants"]:
        with run.ctx.console.status(f"starting {name}"):
            run.endpoints[name] = start_variant(run.setup, name)
        run.say(f"{name} ready at {run.endpoints[name].url}")


def start_prometheus(run: ObservabilityRun) -> None:
    """The real Prometheus, scraping every metrics variant (and the slowed app, on a port
    chosen now, before it runs) each second, with the alert rules loaded."""
    from infragap.ports import LOOPBACK, free_port
    from infragap.proven.prometheus.server import ScrapeTarget
    from infragap.proven.prometheus.server import start_prometheus as start_server

    assert run.setup is not None
    slowed_port = free_port()
    run.config["ports"][SLOWED] = slowed_port
    jobs = {**run.setup.jobs, SLOWED: (f"{LOOPBACK}:{slowed_port}", "/metrics")}
    targets = [ScrapeTarget(job, address, path) for job, (address, path) in jobs.items()]
    with run.ctx.console.status("starting Prometheus"):
        server = start_server(
            run.ctx.supervisor,
            run.ctx.work_dir,
            targets,
            rule_files=[run.artifacts["alert_rules"]],
            port=run.config["ports"].get("prometheus"),
            consoles=Path(run.artifacts["console_template"]).parent,
        )
    run.prometheus_url = server.url
    run.started_at = time.time()
    run.artifacts["prometheus_config"] = str(server.config_path)
    run.say(f"Prometheus at {server.url} scrapes {', '.join(jobs)} every second")


def check_equivalence(run: ObservabilityRun) -> None:
    from infragap.suites.serving import equivalence

    sample = run.requests[:EQUIVALENCE_REQUESTS]
    checked = equivalence.check_and_record(
        run.section, run.ctx.results.save, run.endpoints, run.model, sample, TOLERANCE_ABS
    )
    run.say(f"equivalence: {checked} variants agree on {len(sample)} requests")


def _probes(run: ObservabilityRun) -> Callable[[Endpoint], list[LevelProbe]]:
    from infragap.proven.prometheus.query import PrometheusClient

    assert run.setup is not None
    client = PrometheusClient(run.prometheus_url)
    log_file = run.setup.log_file

    def probes(endpoint: Endpoint) -> list[LevelProbe]:
        variant = VARIANTS.get(endpoint.name) if endpoint.name in VARIANTS else None
        if variant is None:
            return []
        return [OperatorAnswers(endpoint, variant.answers_from, client, variant.metrics, log_file)]

    return probes


def drive_load(run: ObservabilityRun) -> None:
    """Every variant at the same levels, interleaved (a slow drift of this machine must
    not read as one way's overhead), the operator's questions asked after each."""
    plan = load_plan(run.config, run.ctx.work_dir / "requests.json", run.config["seed"])
    endpoints = list(run.endpoints.values())
    drive_levels(run.ctx, run.section, endpoints, plan, run.say, _probes(run), interleave=True)
    run.section["order"] = "interleaved: each level runs every variant in turn, first one rotating"


def top_level_durations(run: ObservabilityRun) -> tuple[list[float], str]:
    """The durations a histogram saw at the top level: the handler's own times from the
    timing log when the log variant ran (exact to 0.1 ms), else the load engine's."""
    from infragap.naive.timing_log_answers import in_window, parse_timing_log

    variants = run.section.get("variants", {})
    log_levels = variants.get("log", {}).get("levels", [])
    if log_levels and run.setup is not None and run.setup.log_file.exists():
        top = log_levels[-1]
        answers = top.get("answers") or {}
        log = parse_timing_log(run.setup.log_file.read_text(encoding="utf-8", errors="replace"))
        end = datetime.fromtimestamp(answers["window_end_s"]) if "window_end_s" in answers else None
        if end is not None:
            window = in_window(log.records, end, answers["window_s"])
            if window:
                return [
                    r.ms for r in window
                ], f"handler times in the timing log, log at {top['users']} users"
    for name in ("otel", "prometheus-client", *variants):
        levels = variants.get(name, {}).get("levels", [])
        if levels and levels[-1].get("latencies_ms"):
            top = levels[-1]
            return list(
                top["latencies_ms"]
            ), f"load engine latencies, {name} at {top['users']} users"
    return [], "no level ran"


def measure_fidelity(run: ObservabilityRun) -> None:
    """How far each bucket layout puts p50 and p99 from the exact figure, on the same
    durations: each library's default, and the layout fitted to the SLO."""
    from infragap.suites.observability import buckets

    durations, source = top_level_durations(run)
    if not durations:
        return
    layouts = {**buckets.DEFAULT_LAYOUTS, "slo": run_slo_layout(run, max(durations))}
    record = buckets.fidelity(durations, layouts)
    record["source"] = source
    record["slo_ms"] = run.config["alert_slo_ms"]
    run.section["fidelity"] = record
    run.ctx.results.save()
    shown = ", ".join(
        f"{name} {fmt_error(layout['answers']['p99']['rel_error'])}"
        for name, layout in record["layouts"].items()
    )
    run.say(f"p99 error by bucket layout ({source}): {shown}")


def run_slo_layout(run: ObservabilityRun, high_ms: float) -> tuple[float, ...]:
    from infragap.suites.observability.buckets import slo_layout

    return slo_layout(run.config["alert_slo_ms"], SLO_LAYOUT_LOW_MS, high_ms)


def fmt_error(rel: float | None) -> str:
    return "n/a" if rel is None else f"{rel:+.0%}"


def fetch_console(run: ObservabilityRun) -> None:
    """The console page as the real Prometheus renders it now, kept beside the results."""
    from infragap.proven.prometheus.console import console_url

    url = console_url(run.prometheus_url)
    response = requests.get(url, timeout=30)
    page = run.ctx.work_dir / "console.html"
    page.write_bytes(response.content)
    run.artifacts["console"] = {
        "url_path": url.removeprefix(run.prometheus_url),
        "status": response.status_code,
        "bytes": len(response.content),
        "saved": str(page),
    }
    run.ctx.results.save()
    run.say(f"console page: HTTP {response.status_code}, {len(response.content):,} bytes")


def check_alerting(run: ObservabilityRun) -> None:
    """Start the slowed app, drive it, and read when each job's alert fired."""
    from infragap.proven.prometheus.query import PrometheusClient

    assert run.setup is not None
    slo_ms = run.config["alert_slo_ms"]
    delay_ms = slo_ms * alerting.SLOWED_FACTOR
    extra = slowed_argv_extra(delay_ms, alerting.SLOWED_SHARE, run.config["seed"])
    # The SLO layout: with prometheus_client's default (seconds) buckets read as ms,
    # every request over 10 ms is +Inf and the p99 can never pass a 100 ms SLO.
    layout = run_slo_layout(run, delay_ms * 2)
    extra += ["--buckets", ",".join(f"{bound:g}" for bound in layout)]
    with run.ctx.console.status("starting the slowed app"):
        endpoint = start_app(
            run.setup, SLOWED, "prometheus-client", run.config["ports"][SLOWED], extra
        )
    plan = load_plan(run.config, run.ctx.work_dir / "requests.json", run.config["seed"])
    spec = dataclasses.replace(
        plan.closed(SLOWED_USERS),
        warmup_s=0.0,
        duration_s=alerting.ALERT_WINDOW_S + alerting.ALERT_FOR_S + SLOWED_EXTRA_S,
        steady=None,
    )
    scratch: dict[str, Any] = {}
    slowed_from = time.time()
    level = LevelDriver(run.ctx, scratch, plan, run.say).run(endpoint, spec)
    client = PrometheusClient(run.prometheus_url)
    client.wait_for_scrapes(SLOWED, 2, 30.0)
    until = time.time()
    fired = alerting.alert_outcome(
        client, run.histograms(), SLOWED, slowed_from, run.started_at, until
    )
    run.section["alerting"] = {
        "slo_ms": slo_ms,
        "window": alerting.ALERT_WINDOW,
        "for": alerting.ALERT_FOR,
        "slowed": {
            "delay_ms": delay_ms,
            "share": alerting.SLOWED_SHARE,
            "users": SLOWED_USERS,
            "p99_ms": level["latency_ms"]["p99"],
            "requests": level["requests"],
        },
        "jobs": fired,
        "naive": alerting.NAIVE_SIDE,
    }
    run.ctx.results.save()
    when = fired[SLOWED]["first_firing_s_after_start"]
    outcome = "never fired" if when is None else f"fired {when:.1f} s after the slow-down began"
    run.say(f"slowed app (p99 {level['latency_ms']['p99']} ms): its SLO alert {outcome}")


def stop_all(run: ObservabilityRun) -> None:
    run.ctx.supervisor.stop_all()


STEPS: list[tuple[str, Callable[[ObservabilityRun], None]]] = [
    ("check Prometheus, write rules and dashboards", check_prometheus),
    ("prepare the model and requests", prepare_inputs),
    ("time one observation, each way", measure_observation_cost),
    ("start the variants", start_variants),
    ("start Prometheus", start_prometheus),
    ("check equivalence", check_equivalence),
    ("drive load and ask the questions", drive_load),
    ("read the console page", fetch_console),
    ("measure each bucket layout's error", measure_fidelity),
    ("see the SLO alert fire", check_alerting),
    ("stop everything", stop_all),
]
