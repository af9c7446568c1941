"""What the scaling pair measures on this machine, per serving variant: how long one
replica takes from process start to ready, and the highest rate one replica sustains
under the SLO with the CPU and memory it used there. Everything downstream (manifests,
the capacity model) starts from these figures.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from typing import Any

from infragap.suites.serving.steps import ServingRun, TritonBatching
from infragap.suites.serving.variants import VARIANTS

MIB = 1024 * 1024


class ScalingRun(ServingRun):
    """The serving suite's run state, speaking as the scaling suite."""

    def say(self, text: str) -> None:
        self.ctx.console.print(f"[bold]scaling[/] {text}")


def measure_startup(run: ServingRun) -> None:
    """Start each variant `startup_repeats` times from nothing (a fresh model repository
    for Triton, a fresh interpreter for Flask) and time process start to ready."""
    assert run.setup is not None
    repeats = run.config["startup_repeats"]
    startup = run.section.setdefault("startup", {})
    for name in run.config["variants"]:
        times = []
        for attempt in range(repeats):
            setup = dataclasses.replace(
                run.setup, work_dir=run.ctx.work_dir / f"startup-{name}-{attempt}", shared={}
            )
            with run.ctx.console.status(f"starting {name} ({attempt + 1} of {repeats})"):
                began = time.perf_counter()
                VARIANTS.get(name)(setup)
                times.append(time.perf_counter() - began)
            run.ctx.supervisor.stop_all()
        startup[name] = {
            "samples_s": [round(t, 3) for t in times],
            "median_s": round(statistics.median(times), 3),
            "what": "process start to ready (health endpoint answers, model loaded)",
        }
        run.ctx.results.save()
        run.say(f"{name}: ready {startup[name]['median_s']:.1f} s after its process started")


def per_replica(variant: dict[str, Any], warmup_s: float) -> dict[str, Any] | None:
    """Pure: the SLO capacity of one replica and its CPU (cores) and peak RSS (MiB) at
    the rate that met the SLO; None when no rate met it. The cores are the CPU seconds
    the server's process tree used over the level divided by the loaded time (warm-up and
    window): the level's wall time also holds Locust's start and stop, when it idles."""
    capacity = variant.get("capacity") or {}
    index = capacity.get("capacity_trial")
    if index is None or capacity.get("capacity_rps") is None:
        return None
    trial = capacity["trials"][index]
    server = trial.get("server") or {}
    loaded_s = warmup_s + (trial.get("window_s") or 0.0)
    return {
        "capacity_rps": capacity["capacity_rps"],
        "offered_rps": capacity["capacity_offered_rps"],
        "slo": capacity["slo"]["text"],
        "cpu_cores": round(server["cpu_s"] / loaded_s, 3) if loaded_s and server else None,
        "rss_mib": round(server.get("peak_rss_bytes", 0) / MIB, 1) or None,
    }


def drive_capacity(run: ServingRun) -> None:
    """The SLO capacity search for each variant, one replica each (the load engine's)."""
    from infragap.suites.endpoint import Endpoint
    from infragap.suites.levels import LevelProbe, drive_levels, load_plan

    plan = load_plan(run.config, run.ctx.work_dir / "requests.json", run.config["seed"])

    def probes(endpoint: Endpoint) -> list[LevelProbe]:
        return [TritonBatching(endpoint)]

    drive_levels(run.ctx, run.section, list(run.endpoints.values()), plan, run.say, probes)
    replicas = {
        name: per_replica(variant, run.config["warmup_s"])
        for name, variant in run.section.get("variants", {}).items()
    }
    run.section["per_replica"] = replicas
    run.ctx.results.save()
    for name, figures in replicas.items():
        if figures is None:
            run.say(f"{name}: no rate met {run.config['slo']}")
        else:
            run.say(
                f"{name}: one replica sustains {figures['capacity_rps']:.0f} req/s under "
                f"{figures['slo']} ({figures['cpu_cores']} cores, {figures['rss_mib']} MiB)"
            )
